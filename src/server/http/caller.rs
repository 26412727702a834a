//! "Who is calling?" for server functions, in one place.
//!
//! Over HTTP only the `Authorization: Bearer` token counts — never a cookie — so a server function
//! cannot be driven cross-site the way a cookie-authenticated endpoint could. During the server
//! render, a server function runs in-process for the page request, and the page's session (the
//! user the first paint shows) is the caller.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue},
};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;

use crate::api::auth::ApiErrorBody;
use crate::server::{
    http::{error::ApiError, extract::Authenticated, first_paint::SignedInUser, page::PageRender},
    IdpState,
};

/// The caller of this server function, or the error to return: 401 (with the RFC 6750
/// challenge) without a valid Bearer token, `invalid_token` when it is expired or revoked.
pub async fn caller() -> Result<Authenticated, ApiErrorBody> {
    let state = expect_context::<IdpState>();
    let Some(mut parts) = use_context::<Parts>() else {
        return Err(refuse(ApiError::MissingToken));
    };
    if rendering_a_page() {
        // In-process, for the page request: its session decides.
        let signed_in = parts.extensions.get::<SignedInUser>().cloned();
        return signed_in
            .and_then(|signed_in| signed_in.0)
            .ok_or_else(|| refuse(ApiError::MissingToken));
    }
    Authenticated::from_request_parts(&mut parts, &state)
        .await
        .map_err(refuse)
}

/// [`caller`], who must also have `role` (403 `insufficient_scope` otherwise).
pub async fn caller_with_role(role: &'static str) -> Result<Authenticated, ApiErrorBody> {
    let caller = caller().await?;
    caller.require_role(role).map_err(refuse)?;
    Ok(caller)
}

/// Whether this runs in-process for a page render (see [`PageRender`]).
fn rendering_a_page() -> bool {
    use_context::<PageRender>().is_some()
}

/// `error` as a server function's answer: over HTTP its status, challenge and `no-store` go on
/// the response; during a render the page's own status is left alone.
pub fn refuse(error: ApiError) -> ApiErrorBody {
    if !rendering_a_page() {
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(error.status());
            if let Some(challenge) = error
                .challenge()
                .and_then(|challenge| HeaderValue::from_str(&challenge).ok())
            {
                response.insert_header(header::WWW_AUTHENTICATE, challenge);
            }
            response.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    ApiErrorBody {
        error: error.code().to_owned(),
        message: error.to_string(),
    }
}
