//! The dashboard's and the admin page's data as Leptos server functions, declared with the auth
//! client: in the browser every call goes through the coordinator (Bearer token, one refresh,
//! retry once); during the server render they run in-process for the page's session, so the
//! first paint already holds the data. Errors are the API's `{"error", "message"}` envelope. They
//! live under `/api/fn/`, so they get the API's treatment: no page session is loaded for them.

use leptos::prelude::*;

use crate::{
    api::{
        auth::{ApiErrorBody, User},
        resources::{AdminStats, Item, Notification, Usage},
        sessions::{ReuseEndedSession, SessionInfo},
    },
    auth::AuthClient,
};

#[server(prefix = "/api/fn", endpoint = "profile", client = AuthClient)]
pub async fn load_profile() -> Result<User, ApiErrorBody> {
    let (state, caller) = caller().await?;
    Ok(crate::server::http::handlers::resources::profile(
        &state, caller,
    ))
}

#[server(prefix = "/api/fn", endpoint = "items", client = AuthClient)]
pub async fn load_items() -> Result<Vec<Item>, ApiErrorBody> {
    let (state, caller) = caller().await?;
    Ok(crate::server::http::handlers::resources::items(
        &state, &caller,
    ))
}

#[server(prefix = "/api/fn", endpoint = "notifications", client = AuthClient)]
pub async fn load_notifications() -> Result<Vec<Notification>, ApiErrorBody> {
    let (state, caller) = caller().await?;
    Ok(crate::server::http::handlers::resources::notifications_of(
        &state, &caller,
    ))
}

#[server(prefix = "/api/fn", endpoint = "usage", client = AuthClient)]
pub async fn load_usage() -> Result<Usage, ApiErrorBody> {
    let (state, caller) = caller().await?;
    crate::server::http::handlers::resources::usage_of(&state, &caller)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// `admin` role only: 403 `insufficient_scope` for anyone else, and never a refresh.
#[server(prefix = "/api/fn", endpoint = "admin_stats", client = AuthClient)]
pub async fn load_admin_stats() -> Result<AdminStats, ApiErrorBody> {
    crate::server::http::caller::caller_with_role("admin").await?;
    let state = expect_context::<crate::server::IdpState>();
    crate::server::http::handlers::resources::stats(&state)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// The caller's sessions, for the Sessions page (as `GET /api/sessions`).
#[server(prefix = "/api/fn", endpoint = "sessions", client = AuthClient)]
pub async fn load_sessions() -> Result<Vec<SessionInfo>, ApiErrorBody> {
    let (state, caller) = caller().await?;
    crate::server::http::handlers::sessions::sessions_of(&state, &caller)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// The caller's sessions reuse detection ended (as `GET /api/sessions/reuse-detected`).
#[server(prefix = "/api/fn", endpoint = "reuse_ended_sessions", client = AuthClient)]
pub async fn load_reuse_ended_sessions() -> Result<Vec<ReuseEndedSession>, ApiErrorBody> {
    let (state, caller) = caller().await?;
    crate::server::http::handlers::sessions::reuse_ended_of(&state, &caller)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// Ends one of the caller's sessions (as `DELETE /api/sessions/{id}`): 404 for any other id.
#[server(prefix = "/api/fn", endpoint = "end_session", client = AuthClient)]
pub async fn end_session(id: String) -> Result<(), ApiErrorBody> {
    let (state, caller) = caller().await?;
    crate::server::http::handlers::sessions::end_session(&state, &caller, &id)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// Ends every session of the caller's but this one (as `DELETE /api/sessions`).
#[server(prefix = "/api/fn", endpoint = "end_other_sessions", client = AuthClient)]
pub async fn end_other_sessions() -> Result<(), ApiErrorBody> {
    let (state, caller) = caller().await?;
    crate::server::http::handlers::sessions::end_other_sessions(&state, &caller)
        .await
        .map_err(crate::server::http::caller::refuse)
}

/// The app state and whoever is calling (see `server::http::caller`).
#[cfg(feature = "ssr")]
async fn caller() -> Result<
    (
        crate::server::IdpState,
        crate::server::http::extract::Authenticated,
    ),
    ApiErrorBody,
> {
    let caller = crate::server::http::caller::caller().await?;
    Ok((expect_context::<crate::server::IdpState>(), caller))
}
