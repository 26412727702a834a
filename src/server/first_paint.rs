//! Who is signed in, looked up before a page renders, so the server's HTML already shows the
//! right user (and protected pages can redirect with a real 302).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;

use super::{handlers::auth::current_user, state::AppState};
use crate::api::auth::User;

/// Put in the request's extensions for page renders; read by the auth context during SSR.
#[derive(Clone, Debug)]
pub struct SignedInUser(pub Option<User>);

/// Loads the session for page requests only (the API authenticates by token, static files need
/// nothing, and neither should pay for a session lookup), and keeps pages out of shared caches.
pub async fn load_signed_in_user(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/pkg/") {
        return next.run(request).await;
    }
    let user = current_user(&state, &session).await;
    request.extensions_mut().insert(SignedInUser(user));
    let mut response = next.run(request).await;
    // Pages may show who is signed in: no shared cache may keep them.
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    response
}
