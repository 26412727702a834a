//! The server half (feature `ssr`): the mock identity provider, the protected API and the
//! Leptos renderer, assembled by [`router`].

pub mod caller;
pub mod client;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod data;
pub mod error;
pub mod extract;
pub mod families;
pub mod first_paint;
pub mod guard;
pub mod handlers;
pub mod keys;
pub mod listener;
pub mod ops;
pub mod page;
pub mod password;
pub mod state;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::{sync::OnceLock, time::Duration};

use axum::{
    http::{header, HeaderValue, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    routing::{any, get, post},
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::{
    compression::CompressionLayer,
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer},
};
use tower_sessions::{cookie::SameSite, session::Expiry, SessionManagerLayer};
use tracing::Level;

use crate::{
    api::{auth::paths as auth_paths, demo::paths as demo_paths, resources::paths},
    app::App,
};
use error::ApiError;
use handlers::{auth, demo, ping, resources};
pub use state::AppState;

/// The whole application: JSON API, server functions, pages and static files.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let pkg_dir = format!(
        "{}/{}",
        leptos_options.site_root, leptos_options.site_pkg_dir
    );
    let session_layer = SessionManagerLayer::new(state.session_store.clone())
        .with_name(cookies::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(false) // decided per request by `guard::secure_transport`
        .with_expiry(Expiry::OnInactivity(cookie_duration(
            state.config.session_idle_timeout,
        )));
    let context_state = state.clone();
    Router::new()
        .merge(api_router(&state))
        .leptos_routes_with_context(
            &state,
            app_routes(),
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || page::page_shell(options.clone())
            },
        )
        .nest_service(
            &format!("/{}", leptos_options.site_pkg_dir),
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    bundle_cache_control(leptos_options.hash_files),
                ))
                // `.br` / `.gz` siblings are written by `scripts/lib.sh` after the release
                // build; without them (debug builds) the compression layer compresses on the fly.
                .service(
                    ServeDir::new(pkg_dir)
                        .precompressed_br()
                        .precompressed_gzip(),
                ),
        )
        // Public files and the not-found page are read-only: GET and HEAD, else our JSON 405.
        .fallback(
            get(leptos_axum::file_and_error_handler::<AppState, _>(
                page::page_shell,
            ))
            .fallback(|| async { ([(header::ALLOW, "GET, HEAD")], ApiError::MethodNotAllowed) }),
        )
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
        .with_state(state)
}

/// The app's page routes, generated once per process. Generating them runs the app with
/// resource loading suppressed *process-wide* (leptos-rs/leptos#4773): a page render whose
/// resource first polled meanwhile would wait forever. A server builds its router once anyway;
/// several routers in one process (the tests' instances) must not generate again.
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn api_router(state: &AppState) -> Router<AppState> {
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
        .route(paths::PROTECTED_PING, get(ping::protected));
    if state.config.demo_controls {
        protected = protected
            .route(demo_paths::EXPIRE_ACCESS, post(demo::expire_access))
            .route(demo_paths::REVOKE_SESSION, post(demo::revoke_session))
            .route(demo_paths::FAULTS, post(demo::set_faults));
    }
    cookie_endpoints
        .merge(protected)
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
pub fn spawn_housekeeping(state: AppState) {
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
pub async fn sweep_expired(state: &AppState) {
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

/// A content-hashed name never changes meaning, so a returning visitor downloads nothing; an
/// unhashed one (a build without `hash-files`) must be revalidated on every load (a cheap 304).
/// Only found files are cached: a 404 for a name a newer deploy will serve must not stick.
fn bundle_cache_control<B>(
    hashed_names: bool,
) -> impl Fn(&axum::http::Response<B>) -> Option<HeaderValue> + Clone {
    let value = HeaderValue::from_static(if hashed_names {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    move |response| {
        let status = response.status();
        (status.is_success() || status == axum::http::StatusCode::NOT_MODIFIED)
            .then(|| value.clone())
    }
}

fn cookie_duration(duration: Duration) -> tower_sessions::cookie::time::Duration {
    tower_sessions::cookie::time::Duration::seconds(duration.as_secs() as i64)
}
