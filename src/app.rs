//! The application shell, the route table, and the auth context every page shares.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    auth::provide_auth,
    components::header::Header,
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

/// Everything under `<Router>`: the auth context needs the router to navigate.
#[component]
fn AuthRoot() -> impl IntoView {
    provide_auth();
    view! {
        <Header/>
        <main class="page">
            <Routes fallback=NotFound>
                <Route path=path!("/") view=DashboardPage/>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/admin") view=AdminPage/>
            </Routes>
        </main>
    }
}
