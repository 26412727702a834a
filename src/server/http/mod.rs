//! The HTTP layer: axum handlers, extractors and guards that translate requests into calls of
//! [`crate::server::core`] and its answers back into status codes and JSON. The identity
//! provider's endpoints and the protected API are [`api_routes`], wrapped by
//! [`with_server_layers`]; with the demo (feature `demo`) its pages join them in `router`.

pub mod caller;
pub mod client;
pub mod cookies;
pub mod dpop;
pub mod error;
pub mod extract;
pub mod faults;
pub mod first_paint;
pub mod guard;
pub mod handlers;
pub mod listener;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod provider;
pub mod session_records;
#[cfg(feature = "demo")]
mod site;
pub mod state;
pub mod user_agent;

use std::time::Duration;

use axum::{
    extract::FromRef,
    http::{header, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    routing::{any, delete, get, post},
    Router,
};
use tower_http::{
    compression::CompressionLayer,
    trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer},
};
use tower_sessions::{cookie::SameSite, session::Expiry, SessionManagerLayer};
use tracing::Level;

use crate::api::{
    auth::paths as auth_paths, demo::paths as demo_paths, resources::paths,
    sessions::paths as session_paths,
};
use error::ApiError;
use handlers::{auth, demo, ping, resources, sessions};
#[cfg(feature = "demo")]
pub use site::router;
pub use state::IdpState;

/// Wraps `routes` — [`api_routes`] merged with an app's own pages, given the app's state — in what the identity
/// provider needs around every request: browser sessions, the first-paint lookup, the form and
/// sign-in guards, transport security, compression and one log line per request. The demo's
/// `router` (feature `demo`) is built this way, and so is an app that mounts the identity
/// provider beside pages of its own (`examples/router_app`, through
/// [`IdentityProvider`](provider::IdentityProvider)).
pub fn with_server_layers(routes: Router, state: IdpState) -> Router {
    let session_layer = SessionManagerLayer::new(state.session_store.clone())
        .with_name(cookies::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(false) // decided per request by `guard::secure_transport`
        .with_expiry(Expiry::OnInactivity(cookie_duration(
            state.config.session_idle_timeout,
        )));
    routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            first_paint::load_signed_in_user,
        ))
        .layer(session_layer)
        .layer(middleware::map_response(
            session_store_failure_is_unavailable,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::limit_form_bodies,
        ))
        .layer(middleware::from_fn(guard::check_server_fn_bodies))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client::limit_sign_ins,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::secure_transport,
        ))
        .layer(middleware::from_fn(guard::no_store_for_credentials))
        .layer(CompressionLayer::new())
        // One log line per request at INFO: method, path, status and latency.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

/// The identity provider's endpoints (login, refresh, logout), the protected API, the demo's
/// fault controls (unless `DEMO_CONTROLS=off`), health checks and JSON 404/405s for `/api/*`.
///
/// The router takes the host's state `S`: the handlers read the [`IdpState`] out of it with
/// axum's `FromRef`, so the routes nest beside an app's own, whatever else its state holds.
pub fn api_routes<S>(state: &IdpState) -> Router<S>
where
    IdpState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let cookie_endpoints = Router::new()
        .route(auth_paths::LOGIN, post(auth::login))
        .route(auth_paths::REFRESH, post(auth::refresh))
        .route(auth_paths::LOGOUT, post(auth::logout))
        .layer(axum::extract::DefaultBodyLimit::max(guard::AUTH_BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::cookie_endpoint_guard,
        ));
    let mut protected = Router::new()
        .route(paths::ME, get(resources::me))
        .route(
            paths::ITEMS,
            get(resources::list_items).post(resources::create_item),
        )
        .route(paths::NOTIFICATIONS, get(resources::notifications))
        .route(paths::USAGE, get(resources::usage))
        .route(paths::ADMIN_STATS, get(resources::admin_stats))
        .route(paths::PROTECTED_PING, get(ping::protected))
        .route(
            session_paths::SESSIONS,
            get(sessions::list).delete(sessions::end_others),
        )
        .route(session_paths::SESSION, delete(sessions::end_one))
        .route(session_paths::REUSE_DETECTED, get(sessions::reuse_detected));
    if state.config.demo_controls {
        protected = protected
            .route(demo_paths::EXPIRE_ACCESS, post(demo::expire_access))
            .route(demo_paths::REVOKE_SESSION, post(demo::revoke_session))
            .route(demo_paths::FAULTS, post(demo::set_faults));
        // The "Slow API" switch: a layer of its own, outside the access check.
        protected = protected.layer(middleware::from_fn_with_state(
            state.clone(),
            faults::add_demo_latency,
        ));
    }
    cookie_endpoints
        .merge(protected)
        // The OpenID Connect provider (discovery, JWKS, authorize, token, …): `oidc/`.
        .merge(oidc::routes())
        .merge(openapi::routes(state))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route(paths::PING, get(ping::public))
        // Unknown API paths get our JSON 404, not the HTML page.
        .route("/api/{*rest}", any(|| async { ApiError::NotFound }))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

/// How often each instance reads the revocation log: a logout or reuse on one instance reaches
/// the others' protected requests within this (well inside the promised second).
pub const REVOCATION_POLL: Duration = Duration::from_millis(250);

/// Runs [`sweep_expired`] every minute, so the store stays bounded however many sessions come
/// and go, and reads other instances' revocations every [`REVOCATION_POLL`].
pub fn spawn_housekeeping(state: IdpState) {
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            sweep_expired(&sweeper).await;
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REVOCATION_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A failure is logged by the store wrapper; the next poll catches up.
            let _ = state.families.sync_revocations().await;
        }
    });
}

/// Purges expired sessions, records and throttle entries from the store.
pub async fn sweep_expired(state: &IdpState) {
    state.faults.sweep(state.config.session_absolute_timeout);
    // Failures are logged by the store wrapper; the next sweep catches up.
    if state.families.sweep().await.is_ok() {
        if let Ok(active) = state.families.active_count().await {
            metrics::gauge!("tokenflight_active_sessions").set(active as f64);
        }
    }
}

/// tower-sessions answers a bare 500 when saving the session fails at the end of a request,
/// which only happens when the store is down or slow: that is our 503, not a bug. (Our own
/// errors all carry a JSON body, so a bodiless 500 can only come from there.)
async fn session_store_failure_is_unavailable(response: Response) -> Response {
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        tracing::warn!("saving the browser session failed");
        return ApiError::Unavailable.into_response();
    }
    response
}

fn cookie_duration(duration: Duration) -> tower_sessions::cookie::time::Duration {
    tower_sessions::cookie::time::Duration::seconds(duration.as_secs() as i64)
}
