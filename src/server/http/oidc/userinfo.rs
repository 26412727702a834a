//! `GET|POST /oauth/userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for a
//! valid access token — any of ours, the same check as the protected API's — and the user's own
//! claims (`USERS_FILE`) that the token's grant released by scope (Core §5.4). The token comes
//! in the `Authorization` header (RFC 6750 §2.1) or, with POST, in a form body's `access_token`
//! (§2.2, which Core §5.3.1 allows) — never both at once.

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{header, HeaderMap, Method},
    Json,
};
use serde_json::{json, Value};

use crate::server::http::{
    error::ApiError,
    extract::{access_token, Authenticated, Presentation, Scheme},
    state::IdpState,
};

/// The claims for the token's user: the provider's own, then those the session's scope
/// releases.
pub async fn userinfo(
    State(state): State<IdpState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let in_body = form_token(&headers, &body);
    let (scheme, token) = match (access_token(&headers), in_body) {
        (Ok(_), Some(_)) => return Err(ApiError::BadField("one access token, in one place")),
        (Ok((scheme, token)), None) => (scheme, token.to_owned()),
        (Err(ApiError::MissingToken), Some(token)) => (Scheme::Bearer, token),
        (Err(error), _) => return Err(error),
    };
    let presented = Presentation {
        scheme,
        headers: &headers,
        method: method.as_str(),
        path: uri.path(),
    };
    let auth = Authenticated::from_access_token(&state, &token, &presented).await?;
    // The granted scope is the session's; the first-party app's session has none, so it sees
    // the provider's claims only.
    let scope = state
        .families
        .live_family(&auth.session_id)
        .await?
        .map(|(family, _)| family.scope)
        .ok_or(ApiError::InvalidToken)?;
    let mut claims = json!({
        "sub": auth.user.id,
        "preferred_username": auth.user.username,
        "name": auth.user.username,
        "roles": auth.user.roles,
    });
    // A `name` of the user's own, when `profile` releases it, replaces the username; the
    // others cannot collide (the file may not set `sub`, `preferred_username` or `roles`).
    if let Value::Object(claims) = &mut claims {
        claims.extend(state.users.claims(&auth.user.id, &scope));
    }
    Ok(Json(claims))
}

/// RFC 6750 §2.2: `access_token` in an `application/x-www-form-urlencoded` body.
fn form_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !form || body.is_empty() {
        return None;
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(name, _)| name == "access_token")
        .map(|(_, token)| token)
}
