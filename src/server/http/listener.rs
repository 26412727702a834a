//! The server loop: accepts TCP connections and serves HTTP/1.1 on them with bounds that
//! `axum::serve` has no settings for, so held connections cannot starve everyone else.
//!
//! - **A cap on concurrent connections** (`MAX_CONNECTIONS`, kept under the file-descriptor
//!   limit): at the cap the loop stops accepting, and new clients wait in the kernel's backlog
//!   instead of every accept failing with "too many open files".
//! - **A header-read timeout** (`HEADER_READ_TIMEOUT_SECS`): a request head must be complete
//!   this long after the connection starts waiting for it — once accepted, and again after each
//!   answer, so it also closes idle keep-alive connections (hyper's timer starts there).
//! - **An idle timeout** (`IDLE_TIMEOUT_SECS`): a connection on which no byte moves either way
//!   for this long is asked to close (an answer in progress still finishes), and dropped after a
//!   second such period: a stalled body or an answer nobody reads.
//!
//! Every accepted socket sends without Nagle's delay (`TCP_NODELAY`): hyper writes a response's
//! head and a streamed body (every `ServeDir` file) in two writes, and on a kept-alive
//! connection the second waited for the client's delayed ACK (static files fell to ~50/s).

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
    time::Instant,
};
use tower::ServiceExt;

/// The connection bounds, from the configuration (see the module's doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `MAX_CONNECTIONS`: connections served at once; lowered to fit the file-descriptor limit
    /// (less a reserve) when that limit cannot be raised.
    pub max_connections: usize,
    /// `HEADER_READ_TIMEOUT_SECS`: how long a request head may take to arrive, after the accept
    /// and after each answer (which also ends idle keep-alive connections).
    pub header_read_timeout: Duration,
    /// `IDLE_TIMEOUT_SECS`: a connection on which no byte moves for this long is asked to close,
    /// and dropped after a second such period.
    pub idle_timeout: Duration,
}

/// File descriptors kept free of connections: the store's files and sockets, the log, the
/// metrics listener, what a blocking task opens.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting, lets every connection finish its answer in progress and returns when all are
/// closed. Handlers see the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let cap = fit_under_descriptor_limit(limits.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    let (stop, stopping) = watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let trimmer = tokio::spawn(give_back_memory(slots.clone(), cap));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or memory, or the peer gave up before the accept:
                    // pause rather than spin; the connections in progress are unaffected.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        send_at_once(&stream);
        let connection = serve_connection(
            stream,
            peer,
            router.clone(),
            http.clone(),
            limits.idle_timeout,
            stopping.clone(),
        );
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    trimmer.abort();
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back means all connections done.
    let _ = slots.acquire_many(cap as u32).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    idle_timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = Activity::default();
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let connection = http.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let deadline = activity.last() + idle_timeout;
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    // Timeouts, resets, malformed heads: the client's doing, not ours.
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if !closing => {
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.last() + idle_timeout > Instant::now() {
                    continue;
                }
                if closing {
                    tracing::debug!(%peer, "connection dropped: idle after being asked to close");
                    return;
                }
                connection.as_mut().graceful_shutdown();
                closing = true;
                activity.touch();
            }
        }
    }
}

/// Connections that must have closed since the busiest moment before freed memory is handed back.
const TRIM_AFTER_CLOSED: usize = 256;

/// Seconds after a wave's first trim during which the trim runs again, once a second: what the
/// last connections of a wave hold (and what tokio and hyper free after them) is freed later
/// than the count says, the more so on a loaded machine. Measured with both cores busy: one trim
/// left 15 MiB of the wave's 45 behind; the follow-ups return it. Ten of them were once not
/// enough while the whole test suite and a wasm build shared the two cores (38 MiB still held
/// 45 s later); half a minute of trims costs an idle server nothing it would notice.
const TRIM_FOLLOW_UPS: u32 = 30;

/// Hands memory back to the system after a wave of connections closed. Their buffers are freed
/// to the allocator's per-thread caches and arenas, which keep them: measured here with glibc,
/// 3,000 held connections took the debug server from 26 to 67 MiB, and it stayed at 62 MiB after
/// they closed. [`trim_free_memory`] returns the free pages of every arena; it runs once a wave
/// has ended (the count fell by at least [`TRIM_AFTER_CLOSED`] and stopped falling) and for
/// [`TRIM_FOLLOW_UPS`] seconds after, never per connection.
async fn give_back_memory(slots: Arc<Semaphore>, cap: usize) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let (mut busiest, mut before, mut follow_ups) = (0, 0, 0);
    loop {
        tick.tick().await;
        let open = cap - slots.available_permits();
        busiest = busiest.max(open);
        if busiest - open >= TRIM_AFTER_CLOSED && open >= before {
            busiest = open;
            follow_ups = TRIM_FOLLOW_UPS;
            trim_free_memory();
        } else if follow_ups > 0 {
            follow_ups -= 1;
            trim_free_memory();
        }
        before = open;
    }
}

/// Both allocators a server process has: jemalloc, the binary's own (src/main.rs, feature
/// `jemalloc`), and glibc's, which C code in the process (SQLite) and an app that embeds this
/// listener with the system allocator use.
fn trim_free_memory() {
    #[cfg(feature = "jemalloc")]
    // SAFETY: a "purge" mallctl reads and writes nothing (null pointers, zero length); it only
    // returns unused pages to the system. Arena 4096 is `MALLCTL_ARENAS_ALL`: every arena.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it takes the allocator's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn send_at_once(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        // The connection still works, only slower; nothing for the client to act on.
        tracing::warn!(%error, "could not set TCP_NODELAY on an accepted connection");
    }
}

/// When bytes last moved on a connection.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            last_ms: Arc::default(),
        }
    }
}

impl Activity {
    fn touch(&self) {
        let elapsed = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(elapsed, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A socket that notes every read and write that moved bytes in its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `wanted`, or fewer if the process may not open that many descriptors: first the soft limit
/// is raised as far as the hard limit allows (as Go and nginx do), then what still does not fit
/// is cut, with a warning, so the cap is reached before "too many open files" is.
fn fit_under_descriptor_limit(wanted: usize) -> usize {
    let needed = wanted as u64 + RESERVED_DESCRIPTORS;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return wanted;
        }
        if limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: needed.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    let fits = limit.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    if (wanted as u64) > fits {
        tracing::warn!(
            wanted,
            fits,
            "MAX_CONNECTIONS is above what the file-descriptor limit allows; using {fits}"
        );
        return fits as usize;
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_switched_off() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        send_at_once(&stream);
        assert!(stream.nodelay().unwrap());
    }

    #[test]
    fn the_cap_fits_under_the_descriptor_limit() {
        let cap = fit_under_descriptor_limit(usize::MAX / 2);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as above.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert!(cap as u64 + RESERVED_DESCRIPTORS <= limit.rlim_cur);
        assert_eq!(fit_under_descriptor_limit(10), 10);
    }
}
