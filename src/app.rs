//! The application shell, the route table, and the auth context every page shares: the app hands
//! the auth client its configuration and the user its server found for the first paint.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::{
    auth::{provide_auth, AuthConfig, FirstPaint},
    components::{flow_log::provide_flow_log, header::Header},
    pages::{
        admin::AdminPage, dashboard::DashboardPage, login::LoginPage, not_found::NotFound,
        sessions::SessionsPage,
    },
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The bundle's names carry a content hash (cargo-leptos `hash-files`), read here
                // from `hash.txt`, so browsers may keep every file forever.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} · Tokenflight")/>
        <Router>
            <AuthRoot/>
        </Router>
    }
}

/// The auth client's settings for this app: the defaults, which name this app's endpoints.
pub fn auth_config() -> AuthConfig {
    AuthConfig::default()
}

/// Everything under `<Router>`. The app is built from islands: the router and the pages render on
/// the server only, and navigation is a full page load. `AuthIsland` is the hydrated root around
/// them all; the islands inside it (the sign-out button, the session guard, the dashboard, the
/// admin statistics) find the auth context through it in the browser.
#[component]
fn AuthRoot() -> impl IntoView {
    let first_paint = first_paint();
    view! {
        <AuthIsland first_paint>
            <Header/>
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                    <Route path=path!("/sessions") view=SessionsPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </AuthIsland>
    }
}

/// The auth client's root: provides the auth context and the flow log to the islands inside.
/// Its props (the signed-in user and an access token for the session) travel in the island's
/// `data-props`, so the browser starts from what the server rendered, and a page load — a
/// followed link, a reload, a new tab — makes no refresh call.
#[island]
fn AuthIsland(first_paint: FirstPaint, children: Children) -> impl IntoView {
    let auth = provide_auth(auth_config(), first_paint);
    provide_flow_log(auth);
    children()
}

/// The user the server found in this request's session and the access token it minted for the
/// session (see `server::http::first_paint`; the page is then sent `no-store`).
fn first_paint() -> FirstPaint {
    #[cfg(feature = "ssr")]
    {
        use crate::server::http::first_paint::PageToken;
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PageToken>().cloned())
            .map(|PageToken(tokens)| tokens)
            .into()
    }
    #[cfg(not(feature = "ssr"))]
    {
        // Never called in the browser: the routes render on the server only, and the value
        // reaches the browser as `AuthIsland`'s prop.
        FirstPaint::SignedOut
    }
}
