//! The demo's pages, server functions and bundle, around the identity provider (feature `demo`).

use std::sync::{Arc, OnceLock};

use axum::{
    http::{header, HeaderValue},
    routing::get,
    Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

use axum::extract::FromRef;
use leptos::{
    nonce::use_nonce,
    prelude::{use_context, IntoView, LeptosOptions},
};
use leptos_axum::ResponseOptions;

use crate::{
    app::shell,
    server::{
        api_routes,
        http::{
            error::ApiError,
            page::{page_headers, PageRender},
        },
        with_server_layers, IdpState,
    },
};

/// The demo's state: the identity provider's and the Leptos options its pages render with —
/// the host-app shape (`FromRef` for each part) every app that nests the identity provider
/// has. One reference count, like [`IdpState`]: axum clones the state for every extractor.
#[derive(Clone)]
struct SiteState(Arc<(IdpState, LeptosOptions)>);

impl FromRef<SiteState> for IdpState {
    fn from_ref(state: &SiteState) -> Self {
        state.0 .0.clone()
    }
}

impl FromRef<SiteState> for LeptosOptions {
    fn from_ref(state: &SiteState) -> Self {
        state.0 .1.clone()
    }
}

/// The whole application: JSON API, server functions, pages and static files.
pub fn router(state: IdpState, leptos_options: LeptosOptions) -> Router {
    let site = SiteState(Arc::new((state.clone(), leptos_options.clone())));
    let pkg_dir = format!(
        "{}/{}",
        leptos_options.site_root, leptos_options.site_pkg_dir
    );
    let context_state = state.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &site,
            app_routes(),
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || page_shell(options.clone())
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
            get(leptos_axum::file_and_error_handler::<SiteState, _>(
                page_shell,
            ))
            .fallback(|| async { ([(header::ALLOW, "GET, HEAD")], ApiError::MethodNotAllowed) }),
        );
    with_server_layers(api_routes(&state).merge(pages).with_state(site), state)
}

/// The app shell as every page render (routes and the not-found fallback) runs it: marked, and
/// with the page's security headers on its response.
pub fn page_shell(options: LeptosOptions) -> impl IntoView {
    provide_context(PageRender);
    if let Some(response) = use_context::<ResponseOptions>() {
        let nonce = use_nonce().map(|nonce| nonce.to_string());
        for (name, value) in page_headers(nonce.as_deref(), &options) {
            response.insert_header(name, value);
        }
    }
    shell(options)
}

/// The app's page routes, generated once per process. Generating them runs the app with
/// resource loading suppressed *process-wide* (leptos-rs/leptos#4773): a page render whose
/// resource first polled meanwhile would wait forever. A server builds its router once anyway;
/// several routers in one process (the tests' instances) must not generate again.
fn app_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES
        .get_or_init(|| generate_route_list(crate::app::App))
        .clone()
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
