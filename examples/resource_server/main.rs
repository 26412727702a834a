//! A resource server elsewhere: it trusts Tokenflight's access tokens by the JWKS alone.
//!
//! ```sh
//! ISSUER=http://127.0.0.1:3000 LISTEN=127.0.0.1:4000 \
//!   cargo run --example resource_server --features ssr
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4000/hello
//! ```
//! `tests/resource_server.rs` runs its verifier against the real identity provider through a
//! key rotation.

mod dpop;
mod verifier;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    routing::get,
    Router,
};
use verifier::{JwksVerifier, Request};

/// How often the JWKS is fetched again: the provider's `Cache-Control: max-age`.
const RELOAD_EVERY: Duration = Duration::from_secs(300);

#[tokio::main]
async fn main() {
    let issuer = std::env::var("ISSUER").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:4000".to_owned());
    let verifier = Arc::new(
        JwksVerifier::discover(&issuer)
            .await
            .expect("the issuer's discovery document and JWKS are reachable"),
    );
    let reloader = verifier.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let _ = reloader.reload().await; // keep the keys held until the next try
        }
    });
    let app = Router::new()
        .route("/hello", get(hello))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("the address is free");
    println!("resource server on http://{listen}/hello");
    axum::serve(listener, app).await.expect("serves");
}

/// `GET /hello` with a Tokenflight access token: `Bearer`, or `DPoP` with a proof of its key.
async fn hello(
    State(verifier): State<Arc<JwksVerifier>>,
    headers: HeaderMap,
) -> Result<String, StatusCode> {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let authorization = text(header::AUTHORIZATION).ok_or(StatusCode::UNAUTHORIZED)?;
    let host = text(header::HOST).unwrap_or("127.0.0.1:4000");
    let url = format!("http://{host}/hello");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let request = Request {
        authorization,
        proof: text(header::HeaderName::from_static("dpop")),
        method: "GET",
        url: &url,
        now,
    };
    let claims = verifier
        .verify_request(&request)
        .await
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(format!("hello, {}", claims.sub))
}
