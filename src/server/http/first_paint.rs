//! Who is signed in, looked up before a page renders, so the server's HTML already shows the
//! right user (and protected pages can redirect with a real 302).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;

use crate::api::auth::TokenResponse;
use crate::server::http::{
    extract::Authenticated, handlers::auth::current_caller, state::IdpState,
};

/// Put in the request's extensions for page renders: read by the app for the first paint, and by
/// server functions called during the render (`server::http::caller`).
#[derive(Clone, Debug)]
pub struct SignedInUser(pub Option<Authenticated>);

/// Put beside [`SignedInUser`] for a signed-in page render: an access token for the session,
/// which the app hands to its auth client in the page, so a page load needs no refresh call.
#[derive(Clone, Debug)]
pub struct PageToken(pub TokenResponse);

/// Loads the session for page requests only (the API authenticates by token, static files need
/// nothing, and neither should pay for a session lookup), and keeps pages out of shared caches.
pub async fn load_signed_in_user(
    State(state): State<IdpState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/pkg/") {
        return next.run(request).await;
    }
    let (caller, token) = current_caller(&state, &session).await.unzip();
    let signed_in = token.is_some();
    request.extensions_mut().insert(SignedInUser(caller));
    if let Some(token) = token {
        request.extensions_mut().insert(PageToken(token));
    }
    let mut response = next.run(request).await;
    // Pages may show who is signed in: no shared cache may keep them. A signed-in page carries
    // an access token: no cache at all may keep it, the browser's included.
    let headers = response.headers_mut();
    if signed_in {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    } else {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("private, no-cache"));
    }
    response
}
