//! `GET/DELETE /api/sessions`: a user sees their sessions and ends them ("sign out other
//! devices"). Only ever the caller's own: another user's session is a 404, as one that never
//! existed, so its id cannot even be confirmed.

use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::StatusCode,
    Json,
};

use crate::{
    api::{
        resources::scopes,
        sessions::{paths, ReuseEndedSession, SessionInfo},
    },
    server::{
        core::families::{EndedByReuse, LiveSession},
        http::{error::ApiError, extract::Authenticated, openapi::schemas, state::IdpState},
    },
};

/// `GET /api/sessions`: the caller's live sessions, oldest first.
#[utoipa::path(
    get, path = paths::SESSIONS, tag = "sessions", security(("bearer" = ["sessions"])),
    responses(
        (status = 200, description = "The caller's live sessions, oldest first", body = Vec<SessionInfo>),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `sessions` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn list(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    auth.require_scope(scopes::SESSIONS)?;
    Ok(Json(sessions_of(&state, &auth).await?))
}

/// `DELETE /api/sessions/{id}`: 204, or 404 when `id` is not a live session of the caller's.
/// Ending the caller's own session signs it out like a logout (its tokens stop working).
#[utoipa::path(
    delete, path = paths::SESSION, tag = "sessions", params(("id" = String, Path, description = "A session id from `GET /api/sessions`")),
    security(("bearer" = ["sessions"])),
    responses(
        (status = 204, description = "The session is ended: its tokens stop working"),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `sessions` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 404, description = "`not_found`: no live session of the caller's has this id", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn end_one(
    State(state): State<IdpState>,
    auth: Authenticated,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    auth.require_scope(scopes::SESSIONS)?;
    // An id that is not even UTF-8 names no session.
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    end_session(&state, &auth, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/sessions`: ends every session of the caller's but the current one. 204.
#[utoipa::path(
    delete, path = paths::SESSIONS, tag = "sessions", security(("bearer" = ["sessions"])),
    responses(
        (status = 204, description = "Every session of the caller's but the current one is ended"),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `sessions` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn end_others(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    auth.require_scope(scopes::SESSIONS)?;
    end_other_sessions(&state, &auth).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sessions/reuse-detected`: sessions of the caller's that reuse detection ended.
#[utoipa::path(
    get, path = paths::REUSE_DETECTED, tag = "sessions", security(("bearer" = ["sessions"])),
    responses(
        (status = 200, description = "The caller's sessions that reuse detection ended in the last day (at most ten), oldest first", body = Vec<ReuseEndedSession>),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `sessions` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn reuse_detected(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Vec<ReuseEndedSession>>, ApiError> {
    auth.require_scope(scopes::SESSIONS)?;
    Ok(Json(reuse_ended_of(&state, &auth).await?))
}

// Shared by the REST handlers above and the Sessions page's server functions.

/// The caller's live sessions, oldest first, the one making the request marked `current`.
pub async fn sessions_of(
    state: &IdpState,
    auth: &Authenticated,
) -> Result<Vec<SessionInfo>, ApiError> {
    let sessions = state.families.sessions_of(&auth.user.id).await?;
    Ok(sessions
        .into_iter()
        .map(|session| info(session, &auth.session_id))
        .collect())
}

/// Ends one of the caller's sessions; [`ApiError::NotFound`] for any other id.
pub async fn end_session(state: &IdpState, auth: &Authenticated, id: &str) -> Result<(), ApiError> {
    if state.families.end_session_of(&auth.user.id, id).await? {
        tracing::info!(session_id = %id, "session ended by its user");
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Ends every session of the caller's but the one making the request ("sign out other
/// devices"); those that ended meanwhile are skipped.
pub async fn end_other_sessions(state: &IdpState, auth: &Authenticated) -> Result<(), ApiError> {
    for session in state.families.sessions_of(&auth.user.id).await? {
        if session.id != auth.session_id {
            state
                .families
                .end_session_of(&auth.user.id, &session.id)
                .await?;
        }
    }
    Ok(())
}

fn info(LiveSession { id, family }: LiveSession, current: &str) -> SessionInfo {
    SessionInfo {
        current: id == current,
        id,
        created_at: family.created_at_ms / 1000,
        last_refresh_at: family.last_refresh_ms / 1000,
        client: family.client_id,
        user_agent: family.user_agent,
        generation: family.generation,
        grace_replays: family.grace_replays,
    }
}

/// The caller's sessions that reuse detection ended in the last day (at most ten), oldest
/// first: what the Sessions page shows as thefts.
pub async fn reuse_ended_of(
    state: &IdpState,
    auth: &Authenticated,
) -> Result<Vec<ReuseEndedSession>, ApiError> {
    let ended = state.families.ended_by_reuse(&auth.user.id).await?;
    Ok(ended.into_iter().map(reuse_ended).collect())
}

fn reuse_ended(ended: EndedByReuse) -> ReuseEndedSession {
    ReuseEndedSession {
        id: ended.id,
        created_at: ended.created_at_ms / 1000,
        ended_at: ended.ended_at_ms / 1000,
        client: ended.client_id,
        user_agent: ended.user_agent,
        generation: ended.generation,
        grace_replays: ended.grace_replays,
    }
}
