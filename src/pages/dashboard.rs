//! `/`: four protected resources (server functions, already in the server's HTML for a signed-in
//! user), the lesson, and the demo controls with the inspector.
//!
//! The cards and the panels are an island (`Dashboard`); the lesson around them is plain
//! server-rendered HTML and ships no code. The controls and the inspector (with the waterfall and
//! the naive interceptor) are most of the app's own code but nothing a reader needs to see the
//! data: in a split build (feature `split` with `cargo leptos build --split`, as
//! `scripts/build.sh` makes) they are a separate wasm chunk (`#[lazy]`), fetched once the page
//! is interactive.

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

use crate::{
    api::{
        auth::User,
        resources::{Item, Notification, Usage},
    },
    auth::use_auth,
    components::{
        demo_controls::DemoControls, explainer::Explainer, inspector::Inspector,
        require_auth::RequireAuth, resource_card::ResourceCard,
    },
    server_fns::{load_items, load_notifications, load_profile, load_usage},
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <RequireAuth>
            <Dashboard>
                <section class="card" aria-label="Lesson">
                    <Explainer/>
                </section>
            </Dashboard>
        </RequireAuth>
    }
}

/// The dashboard's browser part, an island. Its children (the lesson) stay server-rendered HTML.
#[island]
fn Dashboard(children: Children) -> impl IntoView {
    let auth = use_auth();
    let name = move || {
        auth.user()
            .get()
            .map(|user| user.username)
            .unwrap_or_default()
    };
    // Loaded during the server render and serialized into the page: hydration reuses them, and
    // only "Reload data" calls the server functions from the browser.
    let reloads = move || auth.reloads();
    let profile = Resource::new(reloads, |_| load_profile());
    let items = Resource::new(reloads, |_| load_items());
    let notifications = Resource::new(reloads, |_| load_notifications());
    let usage = Resource::new(reloads, |_| load_usage());
    view! {
        <h1>"Hello, " {name}</h1>
        <p class="lead">
            "Every card below is a server function: in the first paint it ran on the server for "
            "your session; from the browser it goes through the auth context like any REST call. "
            "Expire the token, fire a burst, and watch the inspector: many 401s, one refresh, "
            "every request retried once."
        </p>
        <div class="grid">
            <ResourceCard title="Profile" resource=profile render=profile_view/>
            <ResourceCard title="Items" resource=items render=items_view/>
            <ResourceCard title="Notifications" resource=notifications render=notifications_view/>
            <ResourceCard title="Usage" resource=usage render=usage_view/>
        </div>
        <DemoPanels/>
        {children()}
    }
}

/// The demo controls and the inspector: a wasm chunk of their own in a split build (feature
/// `split`), part of the main wasm otherwise.
#[cfg_attr(feature = "split", lazy)]
fn demo_panels() -> AnyView {
    view! {
        <DemoControls/>
        <Inspector/>
    }
    .into_any()
}

/// Whether the panels can be drawn: once their chunk has arrived in a split build, once the
/// island runs otherwise. False on the server and while hydrating, so both agree.
fn demo_panels_ready() -> ReadSignal<bool> {
    #[cfg(feature = "split")]
    {
        lazy_preload!(demo_panels)
    }
    #[cfg(not(feature = "split"))]
    {
        let (ready, set_ready) = signal(false);
        Effect::new(move |_| set_ready.set(true));
        ready
    }
}

/// A placeholder in the server's HTML and while hydrating (so both agree), replaced by the
/// panels as soon as they can run. Events that happen before are not lost: the flow log
/// records from the start (`provide_flow_log`); the panels only draw it.
#[component]
fn DemoPanels() -> impl IntoView {
    let loaded = demo_panels_ready();
    move || {
        if loaded.get() {
            // `#[lazy]` makes the function async: it loads its chunk first.
            #[cfg(feature = "split")]
            let panels = Suspend::new(demo_panels());
            #[cfg(not(feature = "split"))]
            let panels = demo_panels();
            Either::Left(panels)
        } else {
            Either::Right(view! {
                <section class="card controls" aria-label="Demo controls" aria-busy="true">
                    <h2>"Demo controls"</h2>
                    <p class="muted">"Loading the demo controls and the inspector…"</p>
                    <noscript><p>"They need JavaScript; the data above does not."</p></noscript>
                </section>
            })
        }
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
        <p>
            <strong>{usage.requests_served}</strong>
            " API requests served for you since this server started"
        </p>
        <p class="muted">{usage.refreshes_this_session} " refreshes this session"</p>
    }
}
