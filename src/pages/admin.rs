//! `/admin`: the admin stats, a server function that needs the `admin` role. The server decides:
//! for a user without the role its 403 shows as "Forbidden" — never as a sign-out or a refresh.
//!
//! The statistics card is a lazy island: its code is a wasm chunk of its own, fetched only when
//! someone opens this page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::resources::AdminStats,
    auth::use_auth,
    components::{require_auth::RequireAuth, resource_card::ResourceCard},
    server_fns::load_admin_stats,
};

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin"/>
        <RequireAuth>
            <h1>"Admin"</h1>
            <ServerStatistics/>
        </RequireAuth>
    }
}

/// Loaded during the server render (the first paint holds the numbers, or "Forbidden"); "Reload"
/// calls the server function again from the browser, through the auth context. A lazy island (a
/// chunk fetched with this page) in a split build.
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "split"), island)]
fn ServerStatistics() -> impl IntoView {
    let auth = use_auth();
    let stats = Resource::new(move || auth.reloads(), |_| load_admin_stats());
    // Disabled in the server's HTML, enabled once this island runs: a click before then would
    // be lost.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    view! {
        <ResourceCard title="Server statistics" resource=stats render=stats_view/>
        <button type="button" disabled=move || !interactive.get() on:click=move |_| auth.reload()>
            "Reload"
        </button>
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
