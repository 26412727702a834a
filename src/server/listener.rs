//! The TCP listener the binary serves on, with `TCP_NODELAY` on every accepted socket.
//!
//! hyper writes a response's head and a streamed body (every `ServeDir` file) in two `writev`s.
//! With Nagle's algorithm on, the second small write waits for the ACK of the first, and on a
//! kept-alive connection the client delays that ACK by up to 40 ms: static files fell to
//! ~50 requests/s over one connection. Sending at once costs nothing for whole-buffer answers.

use std::{io, net::SocketAddr};

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// The listener [`bind`] returns. Named (not `impl Listener`) so that axum can see the peer
/// address through it: the per-client sign-in limit reads `ConnectInfo<SocketAddr>`.
pub type NoDelayListener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// Binds `addr`; each connection it accepts sends without Nagle's delay.
pub async fn bind(addr: SocketAddr) -> io::Result<NoDelayListener> {
    Ok(TcpListener::bind(addr)
        .await?
        .tap_io(no_delay as fn(&mut TcpStream)))
}

fn no_delay(stream: &mut TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        // The connection still works, only slower; nothing for the client to act on.
        tracing::warn!(%error, "could not set TCP_NODELAY on an accepted connection");
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_switched_off() {
        let mut listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await;
        assert!(stream.nodelay().unwrap());
    }
}
