//! The demo's "Slow API" switch, as a layer around the protected API ([`add_demo_latency`]).
//! The other switches reach the refresh decision through the core's seam
//! ([`crate::server::core::faults`]).

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};

use crate::server::http::{extract::bearer_token, state::IdpState};

/// The "Slow API" switch, as a layer around the protected API: a request whose Bearer token
/// names a session with added latency waits that long first. The token is only read here (its
/// signature checked through the verified-token cache); the handler's own extractor decides
/// whether it is accepted.
pub async fn add_demo_latency(
    State(state): State<IdpState>,
    request: Request,
    next: Next,
) -> Response {
    let session = bearer_token(request.headers())
        .ok()
        .and_then(|token| state.tokens.verify(token).ok())
        .map(|claims| claims.sid.clone());
    if let Some(session) = session {
        let latency = state.faults.latency(&session);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
    next.run(request).await
}
