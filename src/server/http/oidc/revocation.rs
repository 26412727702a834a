//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662). Revoking either
//! token of a family ends the family — its refresh token and every access token, here at once
//! and on other instances at their next revocation poll — and introspection reads the same
//! state, so a token is `active: false` the moment it was revoked, signed out or reused.
//! A machine client's access token (`client_credentials`) has no family: revoking it cuts off
//! its `sid` alone, and it is active while unexpired, unrevoked and its client registered.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::server::http::oidc::{error::OAuthError, token::authenticated_form};
use crate::server::{
    core::{
        clients::{is_machine_session, CLIENT_CREDENTIALS},
        store::FamilyRecord,
    },
    http::state::IdpState,
};

/// A token as either kind names its family.
enum Named {
    Refresh(String),
    Access { session_id: String, claims: Value },
}

/// `POST /oauth/revoke`: ends the family of the token if it was issued to the calling client;
/// 200 whatever the token was (RFC 7009 §2.2), so the answer reveals nothing about it.
pub async fn revoke(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let (form, client) = authenticated_form(&state, &headers, body)?;
    let token = form
        .get("token")
        .ok_or(OAuthError::InvalidRequest("token is required"))?;
    // A machine token's client is its `sub`; any other token's is its family's.
    let (session_id, machine_client) = match name(&state, token) {
        Some(Named::Access { session_id, claims }) if is_machine_session(&session_id) => {
            (session_id, claims["sub"].as_str().map(str::to_owned))
        }
        Some(Named::Refresh(session_id) | Named::Access { session_id, .. }) => (session_id, None),
        // §2.2: an invalid or unknown token is answered 200 all the same.
        None => return Ok(StatusCode::OK.into_response()),
    };
    // §2.1: only the client the token was issued to may revoke it; for anyone else the
    // answer is the same 200, and nothing happens.
    let issued_to_caller = match machine_client {
        Some(owner) => owner == client.client_id,
        None => state
            .families
            .live_family(&session_id)
            .await?
            .is_some_and(|(family, _)| family.client_id == client.client_id),
    };
    if issued_to_caller {
        tracing::info!(%session_id, client = %client.client_id, "token revoked by its client");
        state.families.revoke(&session_id).await?;
    }
    Ok(StatusCode::OK.into_response())
}

/// `POST /oauth/introspect`: whether a token is active right now, and whose; only a
/// confidential client may ask, and it hears `active: true` only for its own tokens — or for
/// any client's when it is registered as a `resource_server`.
pub async fn introspect(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    // RFC 7662 §2.1: the caller must authenticate; here, as a confidential client (by either
    // secret method, the one it is registered for).
    let (form, client) = authenticated_form(&state, &headers, body)?;
    if !client.is_confidential() {
        return Err(OAuthError::InvalidClient);
    }
    let token = form
        .get("token")
        .ok_or(OAuthError::InvalidRequest("token is required"))?;
    let answer = match name(&state, token) {
        Some(Named::Refresh(_)) => match state.families.current_family_of(token).await? {
            Some((session_id, family, ends_ms)) => {
                let mut answer = active(&family, &session_id, "refresh_token");
                answer["exp"] = json!(ends_ms / 1000);
                answer
            }
            None => inactive(),
        },
        Some(Named::Access { session_id, claims }) if is_machine_session(&session_id) => {
            machine(&state, &session_id, &claims)
        }
        Some(Named::Access { session_id, claims }) => {
            let live = state
                .families
                .check_access(&session_id, claims["ver"].as_u64().unwrap_or_default())
                .is_ok();
            match state.families.live_family(&session_id).await? {
                Some((family, _)) if live && claims["sub"] == family.user_id.as_str() => {
                    let mut answer = active(&family, &session_id, "access_token");
                    for claim in ["exp", "iat"] {
                        answer[claim] = claims[claim].clone();
                    }
                    // The token's own grant (RFC 9068 §2.2), narrower than its family's after
                    // a narrowing refresh; tokens of the previous format have none.
                    for claim in ["scope", "jti", "cnf"] {
                        if !claims[claim].is_null() {
                            answer[claim] = claims[claim].clone();
                        }
                    }
                    answer["iss"] = claims["iss"].clone();
                    answer["aud"] = claims["aud"].clone();
                    answer
                }
                _ => inactive(),
            }
        }
        None => inactive(),
    };
    // RFC 7662 §4: the answer's `client_id` is the token's client (the machine token's too).
    let token_client = answer["client_id"].as_str().unwrap_or_default();
    let answer = if client.may_introspect(token_client) {
        answer
    } else {
        inactive()
    };
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Which family a token names: a refresh credential by its MAC, an access token by its
/// signature and expiry. `None` for anything else.
fn name(state: &IdpState, token: &str) -> Option<Named> {
    if let Some(session_id) = state.families.session_of(token) {
        return Some(Named::Refresh(session_id));
    }
    // This API's tokens and those for a registered resource server (RFC 8707), no others.
    let claims = state.tokens.verify_any_audience(token).ok()?;
    state.oidc.clients.audience_for(Some(&claims.aud))?;
    Some(Named::Access {
        session_id: claims.sid.clone(),
        claims: serde_json::to_value(&claims).ok()?,
    })
}

/// A `client_credentials` token: active while its `sid` is not revoked and its client (`sub`)
/// is still registered for the grant — a client removed from `OAUTH_CLIENTS_FILE` loses its
/// tokens at the next start.
fn machine(state: &IdpState, session_id: &str, claims: &Value) -> Value {
    let client_id = claims["sub"].as_str().unwrap_or_default();
    let registered = state
        .oidc
        .clients
        .find(client_id)
        .is_some_and(|client| client.may_use(CLIENT_CREDENTIALS));
    let live = state
        .families
        .check_access(session_id, claims["ver"].as_u64().unwrap_or_default())
        .is_ok();
    if !(registered && live) {
        return inactive();
    }
    let mut answer = json!({
        "active": true,
        "sub": client_id,
        "client_id": client_id,
        "token_type": "access_token",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "iss": claims["iss"],
        "aud": claims["aud"],
    });
    // RFC 9449 §6.2: the key a bound token is for.
    if !claims["cnf"].is_null() {
        answer["cnf"] = claims["cnf"].clone();
    }
    answer
}

fn active(family: &FamilyRecord, session_id: &str, token_type: &str) -> Value {
    let mut answer = json!({
        "active": true,
        "sub": family.user_id,
        "client_id": family.client_id,
        "scope": family.scope,
        "sid": session_id,
        "token_type": token_type,
    });
    if let Some(jkt) = &family.dpop_jkt {
        answer["cnf"] = json!({ "jkt": jkt });
    }
    answer
}

fn inactive() -> Value {
    json!({ "active": false })
}
