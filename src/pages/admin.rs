//! `/admin`: loads the admin stats through the auth context. The API decides: for a user
//! without the role its 403 shows as "Forbidden" — never as a sign-out.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::resources::{paths, AdminStats},
    auth::use_auth,
    components::{require_auth::RequireAuth, resource_card::ResourceCard},
};

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Title text="Admin"/>
        <RequireAuth>
            <Admin/>
        </RequireAuth>
    }
}

#[component]
fn Admin() -> impl IntoView {
    let stats = use_auth().resource::<AdminStats>(paths::ADMIN_STATS);
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
