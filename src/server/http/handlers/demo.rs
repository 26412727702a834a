//! Demo controls: switches that make the failure modes of token refresh happen on demand, for
//! the caller's own session only. Mounted unless `DEMO_CONTROLS=off`.

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    api::demo::{paths, DemoFaults, MAX_DEMO_FAILING_REFRESHES, MAX_DEMO_LATENCY_MS},
    server::http::{
        error::ApiError,
        extract::{ApiJson, Authenticated},
        handlers::auth::revoke,
        openapi::schemas,
        state::IdpState,
    },
};

/// `POST /api/demo/expire-access`: every access token of this session issued so far is refused
/// from now on; the refresh credential still works.
#[utoipa::path(
    post, path = paths::EXPIRE_ACCESS, tag = "demo", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every access token of this session issued so far is refused from now on"),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn expire_access(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    state.families.expire_access(&auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/demo/revoke-session`: the session's refresh family is revoked, as an
/// administrator or a reuse detection would.
#[utoipa::path(
    post, path = paths::REVOKE_SESSION, tag = "demo", security(("bearer" = [])),
    responses(
        (status = 204, description = "This session is revoked"),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn revoke_session(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    revoke(&state, &auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/demo/faults`: added latency and failing refreshes for this session.
#[utoipa::path(
    post, path = paths::FAULTS, tag = "demo", request_body = DemoFaults, security(("bearer" = [])),
    responses(
        (status = 200, description = "The faults now set for this session", body = DemoFaults),
        (status = 400, description = "`invalid_json`: the body is not JSON", body = schemas::ApiErrorBody),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 413, description = "`payload_too_large`", body = schemas::ApiErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = schemas::ApiErrorBody),
        (status = 422, description = "`validation_failed`: not an object of this shape, or a value above its maximum", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn set_faults(
    State(state): State<IdpState>,
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
