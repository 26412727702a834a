//! `GET /oauth/logout` (OpenID Connect RP-Initiated Logout 1.0): ends the session an
//! `id_token_hint` names, and this browser's own session of the same user, then returns to a
//! `post_logout_redirect_uri` registered for the client — or shows a page, never an
//! unregistered redirect.
//!
//! A hint is required to end anything: a bare link cannot sign a visitor out (logout CSRF). And
//! it must be one of our ID tokens — signed by us, `typ: JWT` as we mint them (an access token
//! is `at+jwt`), `aud` a registered client — of a session that still exists or could have
//! existed within the absolute session lifetime: RP-Initiated Logout 1.0 §2 lets the OP decline
//! a hint that names no current or recent session, and here a stale or foreign one is
//! *refused* — the same page as no hint, nothing ended, no redirect.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
};
use jsonwebtoken::decode_header;
use tower_sessions::Session;

use crate::server::core::store::StoreError;
use crate::server::http::oidc::id_token::{verify_hint, IdClaims};
use crate::server::http::{handlers::auth::current_caller, state::IdpState};

/// `GET /oauth/logout`: with a valid `id_token_hint`, ends that session and this browser's
/// session of the same user, then returns to a registered `post_logout_redirect_uri`.
pub async fn end_session(
    State(state): State<IdpState>,
    session: Session,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let hint = match params.get("id_token_hint") {
        Some(hint) => match acceptable_hint(&state, hint).await {
            Ok(hint) => hint,
            Err(_) => return page(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment."),
        },
        None => None,
    };
    let client_id = params
        .get("client_id")
        .cloned()
        .or_else(|| hint.as_ref().map(|hint| hint.aud.clone()));
    // Checked before anything is ended: a bad address is refused as a whole.
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let allowed = client_id
                .as_deref()
                .and_then(|id| state.oidc.clients.find(id))
                .is_some_and(|client| client.allows_post_logout_redirect(uri));
            if !allowed {
                return page(
                    StatusCode::BAD_REQUEST,
                    "The address to return to is not registered for this application.",
                );
            }
            Some(uri.clone())
        }
    };
    let Some(hint) = hint else {
        return page(
            StatusCode::BAD_REQUEST,
            "Nothing was signed out: the request named no session of ours (id_token_hint).",
        );
    };
    if client_id.as_deref() != Some(hint.aud.as_str()) {
        return page(
            StatusCode::BAD_REQUEST,
            "The request names two applications.",
        );
    }
    if state.families.revoke(&hint.sid).await.is_err() {
        return page(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.");
    }
    if let Some((caller, _)) = current_caller(&state, &session).await {
        if caller.user.id == hint.sub && state.families.revoke(&caller.session_id).await.is_ok() {
            let _ = session.flush().await;
        }
    }
    tracing::info!(session_id = %hint.sid, "signed out by the relying party");
    match redirect {
        Some(uri) => {
            let mut target = uri;
            if let Some(value) = params.get("state") {
                let query = serde_urlencoded::to_string([("state", value)]).unwrap_or_default();
                target.push(if target.contains('?') { '&' } else { '?' });
                target.push_str(&query);
            }
            Redirect::to(&target).into_response()
        }
        None => page(StatusCode::OK, "You are signed out."),
    }
}

/// The hint's claims if it is an ID token of ours for a registered client, of a session that is
/// live or ended no longer ago than a session can last (RP-Initiated Logout 1.0 §2: "the OP
/// SHOULD treat the logout request as suspect, and MAY decline to act upon it" otherwise).
async fn acceptable_hint(state: &IdpState, hint: &str) -> Result<Option<IdClaims>, StoreError> {
    // OIDC Core §2 with RFC 8725 §3.11: ours are minted `typ: JWT`; an access token
    // (`at+jwt`) or any other JWT of ours is no ID token.
    let is_id_token = decode_header(hint).is_ok_and(|header| header.typ.as_deref() == Some("JWT"));
    let Some(claims) = verify_hint(state, hint).filter(|_| is_id_token) else {
        return Ok(None);
    };
    if state.oidc.clients.find(&claims.aud).is_none() {
        return Ok(None);
    }
    let acceptable = match state.families.live_family(&claims.sid).await? {
        Some((family, _)) => family.user_id == claims.sub && family.client_id == claims.aud,
        // An ID token is issued no earlier than its session started, so past `iat` + the
        // absolute lifetime its session has certainly ended: the hint names no recent session.
        None => {
            state.clock.now_secs()
                < claims
                    .iat
                    .saturating_add(state.config.session_absolute_timeout.as_secs())
        }
    };
    Ok(acceptable.then_some(claims))
}

fn page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sign-out</title>\
         <h1>Sign-out</h1><p>{message}</p></html>"
    );
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
