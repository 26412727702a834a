//! `GET|POST /oauth/userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for a
//! valid access token — any of ours, the same check as the protected API's.

use axum::Json;
use serde_json::{json, Value};

use crate::server::http::extract::Authenticated;

pub async fn userinfo(auth: Authenticated) -> Json<Value> {
    Json(json!({
        "sub": auth.user.id,
        "preferred_username": auth.user.username,
        "name": auth.user.username,
        "roles": auth.user.roles,
    }))
}
