//! Demo controls: switches that make the failure modes of token refresh happen on demand, for
//! the caller's own session only. Mounted unless `DEMO_CONTROLS=off`.

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    api::demo::{DemoFaults, MAX_DEMO_FAILING_REFRESHES, MAX_DEMO_LATENCY_MS},
    server::{
        error::ApiError,
        extract::{ApiJson, Authenticated},
        handlers::auth::revoke,
        state::AppState,
    },
};

/// `POST /api/demo/expire-access`: every access token of this session issued so far is refused
/// from now on; the refresh credential still works.
pub async fn expire_access(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    state.families.expire_access(&auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/demo/revoke-session`: the session's refresh family is revoked, as an
/// administrator or a reuse detection would.
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    revoke(&state, &auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/demo/faults`: added latency and failing refreshes for this session.
pub async fn set_faults(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(faults): ApiJson<DemoFaults>,
) -> Result<Json<DemoFaults>, ApiError> {
    if faults.latency_ms > MAX_DEMO_LATENCY_MS {
        return Err(ApiError::Validation(format!(
            "latency_ms must be at most {MAX_DEMO_LATENCY_MS}"
        )));
    }
    if faults.failing_refreshes > MAX_DEMO_FAILING_REFRESHES {
        return Err(ApiError::Validation(format!(
            "failing_refreshes must be at most {MAX_DEMO_FAILING_REFRESHES}"
        )));
    }
    state.faults.set(&auth.session_id, faults.clone());
    Ok(Json(faults))
}
