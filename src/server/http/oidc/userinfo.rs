//! `GET|POST /oauth/userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for a
//! valid access token — any of ours, the same check as the protected API's — and the user's own
//! claims (`USERS_FILE`) that the token's grant released by scope (Core §5.4).

use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::server::http::{error::ApiError, extract::Authenticated, state::IdpState};

/// The claims for the bearer token's user: the provider's own, then those the session's scope
/// releases.
pub async fn userinfo(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Value>, ApiError> {
    // The granted scope is the session's (the access token does not carry it); the first-party
    // app's session has none, so it sees the provider's claims only.
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
