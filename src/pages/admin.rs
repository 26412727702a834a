//! `/admin`: the admin stats, a server function that needs the `admin` role. The server decides:
//! for a user without the role its 403 shows as "Forbidden" — never as a sign-out or a refresh.
//! A lazy route: its view is a separate wasm chunk, fetched when someone opens the page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{lazy_route, LazyRoute};

use crate::{
    api::resources::AdminStats,
    auth::use_auth,
    components::{require_auth::RequireAuth, resource_card::ResourceCard},
    server_fns::load_admin_stats,
};

pub struct AdminPage;

#[lazy_route]
impl LazyRoute for AdminPage {
    fn data() -> Self {
        Self
    }

    fn view(_page: Self) -> AnyView {
        view! {
            <Title text="Admin"/>
            <RequireAuth>
                <Admin/>
            </RequireAuth>
        }
        .into_any()
    }
}

#[component]
fn Admin() -> impl IntoView {
    let auth = use_auth();
    let stats = Resource::new(move || auth.reloads(), |_| load_admin_stats());
    view! {
        <h1>"Admin"</h1>
        <ResourceCard title="Server statistics" resource=stats render=stats_view/>
    }
}

fn stats_view(stats: AdminStats) -> impl IntoView {
    view! {
        <dl class="stats">
            <div><dt>"Active sessions"</dt><dd>{stats.active_sessions}</dd></div>
            <div><dt>"Refreshes"</dt><dd>{stats.refreshes}</dd></div>
            <div><dt>"Reuse detected"</dt><dd>{stats.reuse_detected}</dd></div>
            <div><dt>"Failed logins"</dt><dd>{stats.failed_logins}</dd></div>
            <div><dt>"Peak password checks"</dt><dd>{stats.peak_password_checks}</dd></div>
        </dl>
    }
}
