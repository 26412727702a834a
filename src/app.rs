//! The application shell, the route table, and the auth context every page shares: the app hands
//! the auth client its configuration and the user its server found for the first paint.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy, SsrMode,
};

use crate::{
    api::auth::User,
    auth::{provide_auth, AuthConfig},
    components::{flow_log::provide_flow_log, header::Header},
    pages::{admin::AdminPage, dashboard::DashboardPage, login::LoginPage, not_found::NotFound},
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
                <HydrationScripts options/>
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

/// Everything under `<Router>`: the auth context needs the router to navigate.
#[component]
fn AuthRoot() -> impl IntoView {
    // Rendered on the server from the session, and read back (not recomputed) while hydrating:
    // the first paint shows the right user, and hydration sees the same value.
    let first_paint_user = SharedValue::new(signed_in_user).into_inner();
    let auth = provide_auth(auth_config(), first_paint_user);
    provide_flow_log(auth);
    view! {
        <Header/>
        <main class="page">
            <Routes fallback=NotFound>
                // Async: the server waits for the protected data, so the first paint holds it even
                // with JavaScript off (streamed fragments would need a script to be placed).
                <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                // Lazy: each view is its own wasm chunk (`cargo leptos build --split`).
                <Route path=path!("/login") view={Lazy::<LoginPage>::new()}/>
                <Route path=path!("/admin") view={Lazy::<AdminPage>::new()} ssr=SsrMode::Async/>
            </Routes>
        </main>
    }
}

/// The user the server found in this request's session (see `server::first_paint`).
fn signed_in_user() -> Option<User> {
    #[cfg(feature = "ssr")]
    {
        use crate::server::first_paint::SignedInUser;
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedInUser>().cloned())
            .and_then(|signed_in| signed_in.0)
            .map(|caller| caller.user)
    }
    #[cfg(not(feature = "ssr"))]
    {
        // In the browser the value comes from the server's HTML instead.
        None
    }
}
