//! `/`: four protected resources loading in parallel, the demo controls and the inspector.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{
        auth::User,
        resources::{paths, Item, Notification, Usage},
    },
    auth::use_auth,
    components::{
        demo_controls::DemoControls, inspector::Inspector, require_auth::RequireAuth,
        resource_card::ResourceCard,
    },
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <RequireAuth>
            <Dashboard/>
        </RequireAuth>
    }
}

#[component]
fn Dashboard() -> impl IntoView {
    let auth = use_auth();
    let name = move || {
        auth.user()
            .get()
            .map(|user| user.username)
            .unwrap_or_default()
    };
    let profile = auth.resource::<User>(paths::ME);
    let items = auth.resource::<Vec<Item>>(paths::ITEMS);
    let notifications = auth.resource::<Vec<Notification>>(paths::NOTIFICATIONS);
    let usage = auth.resource::<Usage>(paths::USAGE);
    view! {
        <h1>"Hello, " {name}</h1>
        <p class="lead">
            "Every card below loads through one auth context. Expire the token, fire a burst, and "
            "watch the inspector: many 401s, one refresh, every request retried once."
        </p>
        <div class="grid">
            <ResourceCard title="Profile" resource=profile render=profile_view/>
            <ResourceCard title="Items" resource=items render=items_view/>
            <ResourceCard title="Notifications" resource=notifications render=notifications_view/>
            <ResourceCard title="Usage" resource=usage render=usage_view/>
        </div>
        <DemoControls/>
        <Inspector/>
    }
}

fn profile_view(user: User) -> impl IntoView {
    view! {
        <p><strong>{user.username}</strong></p>
        <p class="muted">"Roles: " {user.roles.join(", ")}</p>
    }
}

fn items_view(items: Vec<Item>) -> impl IntoView {
    view! {
        <ul class="list">
            {items.into_iter().map(|item| view! { <li>{item.title}</li> }).collect_view()}
        </ul>
    }
}

fn notifications_view(notes: Vec<Notification>) -> impl IntoView {
    view! {
        <ul class="list">
            {notes
                .into_iter()
                .map(|note| view! { <li class:unread=note.unread>{note.text}</li> })
                .collect_view()}
        </ul>
    }
}

fn usage_view(usage: Usage) -> impl IntoView {
    view! {
        <p><strong>{usage.requests_today}</strong> " of " {usage.quota} " requests today"</p>
        <p class="muted">{usage.refreshes_this_session} " refreshes this session"</p>
    }
}
