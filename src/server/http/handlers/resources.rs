//! The protected API: every handler takes [`Authenticated`], so none can forget the check.

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    api::{
        auth::User,
        resources::{
            paths, scopes, AdminStats, Item, NewItem, Notification, Usage, MAX_ITEM_TITLE_CHARS,
        },
    },
    server::{
        core::data::MAX_ITEMS_PER_USER,
        http::{
            error::ApiError,
            extract::{ApiJson, Authenticated},
            openapi::schemas,
            state::IdpState,
        },
    },
};

/// `GET /api/me`.
#[utoipa::path(
    get, path = paths::ME, tag = "resources", security(("bearer" = ["profile"])),
    responses(
        (status = 200, description = "The signed-in user", body = schemas::User),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `profile` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn me(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<User>, ApiError> {
    auth.require_scope(scopes::PROFILE)?;
    Ok(Json(profile(&state, auth)))
}

/// `GET /api/items`.
#[utoipa::path(
    get, path = paths::ITEMS, tag = "resources", security(("bearer" = ["items:read"])),
    responses(
        (status = 200, description = "The user's items", body = Vec<Item>),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `items:read` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn list_items(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Vec<Item>>, ApiError> {
    auth.require_scope(scopes::ITEMS_READ)?;
    Ok(Json(items(&state, &auth)))
}

/// `POST /api/items`: 201 with the new item; 422 for an empty or over-long title, or when the
/// user already has the maximum number of items.
#[utoipa::path(
    post, path = paths::ITEMS, tag = "resources", request_body = NewItem, security(("bearer" = ["items:write"])),
    responses(
        (status = 201, description = "The new item", body = Item),
        (status = 400, description = "`invalid_json`: the body is not JSON", body = schemas::ApiErrorBody),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 413, description = "`payload_too_large`", body = schemas::ApiErrorBody),
        (status = 415, description = "`unsupported_media_type`: the body is not `application/json`", body = schemas::ApiErrorBody),
        (status = 422, description = "`validation_failed`: not an object of this shape, a blank or over-long title, or the user already keeps the most items allowed", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `items:write` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn create_item(
    State(state): State<IdpState>,
    auth: Authenticated,
    ApiJson(new_item): ApiJson<NewItem>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    auth.require_scope(scopes::ITEMS_WRITE)?;
    let title = new_item.title.trim();
    if title.is_empty() {
        return Err(ApiError::Validation("the title must not be empty".into()));
    }
    if title.chars().count() > MAX_ITEM_TITLE_CHARS {
        return Err(ApiError::Validation(format!(
            "the title must be at most {MAX_ITEM_TITLE_CHARS} characters"
        )));
    }
    state.data.count_request(&auth.user.id);
    let item = state
        .data
        .add_item(&auth.user.id, title.to_owned())
        .ok_or_else(|| {
            ApiError::Validation(format!("you can keep at most {MAX_ITEMS_PER_USER} items"))
        })?;
    Ok((StatusCode::CREATED, Json(item)))
}

/// `GET /api/notifications`.
#[utoipa::path(
    get, path = paths::NOTIFICATIONS, tag = "resources", security(("bearer" = ["items:read"])),
    responses(
        (status = 200, description = "The user's notifications", body = Vec<Notification>),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `items:read` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn notifications(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Vec<Notification>>, ApiError> {
    auth.require_scope(scopes::ITEMS_READ)?;
    Ok(Json(notifications_of(&state, &auth)))
}

/// `GET /api/usage`.
#[utoipa::path(
    get, path = paths::USAGE, tag = "resources", security(("bearer" = ["items:read"])),
    responses(
        (status = 200, description = "The user's quota and this session's refreshes", body = Usage),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the token was not granted the scope `items:read` (RFC 6750 §3.1)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn usage(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<Usage>, ApiError> {
    auth.require_scope(scopes::ITEMS_READ)?;
    Ok(Json(usage_of(&state, &auth).await?))
}

/// `GET /api/admin/stats`: `admin` role only (403 `insufficient_scope` otherwise).
#[utoipa::path(
    get, path = paths::ADMIN_STATS, tag = "admin", security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Server statistics (this instance's counters)", body = AdminStats),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: the user lacks the `admin` role, or the token the `admin` scope", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn admin_stats(
    State(state): State<IdpState>,
    auth: Authenticated,
) -> Result<Json<AdminStats>, ApiError> {
    auth.require_scope(scopes::ADMIN)?;
    auth.require_role("admin")?;
    Ok(Json(stats(&state).await?))
}

// The data itself, shared by the REST handlers above and the server functions in
// `crate::server_fns`: the two paths answer the same thing.

/// The caller (`GET /api/me`); counts the request.
pub fn profile(state: &IdpState, auth: Authenticated) -> User {
    state.data.count_request(&auth.user.id);
    auth.user
}

/// The caller's items (`GET /api/items`); counts the request.
pub fn items(state: &IdpState, auth: &Authenticated) -> Vec<Item> {
    state.data.count_request(&auth.user.id);
    state.data.items(&auth.user.id)
}

/// The caller's notifications (`GET /api/notifications`); counts the request.
pub fn notifications_of(state: &IdpState, auth: &Authenticated) -> Vec<Notification> {
    state.data.count_request(&auth.user.id);
    state.data.notifications(&auth.user.username)
}

/// The user's requests so far, this one included, and the refreshes of the caller's session;
/// 503 when the store cannot say.
pub async fn usage_of(state: &IdpState, auth: &Authenticated) -> Result<Usage, ApiError> {
    Ok(Usage {
        requests_served: state.data.count_request(&auth.user.id),
        refreshes_this_session: state.families.refresh_count(&auth.session_id).await?,
    })
}

/// For callers that checked the `admin` role.
pub async fn stats(state: &IdpState) -> Result<AdminStats, ApiError> {
    use std::sync::atomic::Ordering::Relaxed;
    Ok(AdminStats {
        active_sessions: state.families.active_count().await?,
        refreshes: state.families.stats.refreshes.load(Relaxed),
        reuse_detected: state.families.stats.reuse_detected.load(Relaxed),
        failed_logins: state.throttle.total_failures(),
        peak_password_checks: state.users.peak_concurrent_checks(),
    })
}
