//! `/`: four protected resources (server functions, already in the server's HTML for a signed-in
//! user), the lesson, and the demo controls with the inspector.
//!
//! The cards and the panels are an island (`Dashboard`); the greeting and the lesson around them
//! are plain server-rendered HTML and ship no code. The controls and the inspector (with the waterfall and
//! the naive interceptor) are most of the app's own code but nothing a reader needs to see the
//! data: in a split build (feature `split` with `cargo leptos build --split`, as
//! `scripts/build.sh` makes) they are a separate wasm chunk (`#[lazy]`), fetched once the page
//! is interactive.

use futures::future::{BoxFuture, FutureExt};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{
    api::auth::ApiErrorBody,
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
            <Greeting/>
            <Dashboard>
                <section class="card" aria-label="Lesson">
                    <Explainer/>
                </section>
            </Dashboard>
        </RequireAuth>
    }
}

/// The greeting and the lead: server-rendered HTML, no code in the browser. The page is
/// rendered for its user, and `SessionGuard` leaves or reloads it when the session ends or
/// changes hands while it is open.
#[component]
fn Greeting() -> impl IntoView {
    let name = use_auth().user().get_untracked().map(|user| user.username);
    view! {
        <h1>"Hello, " {name}</h1>
        <p class="lead">
            "Every card below is a server function: in the first paint it ran on the server for "
            "your session; from the browser it goes through the auth context like any REST call. "
            "Expire the token, fire a burst, and watch the inspector: many 401s, one refresh, "
            "every request retried once."
        </p>
    }
}

/// The dashboard's browser part, an island. Its children (the lesson) stay server-rendered HTML.
#[island]
fn Dashboard(children: Children) -> impl IntoView {
    let auth = use_auth();
    // Loaded during the server render and serialized into the page: hydration reuses them, and
    // only "Reload data" calls the server functions from the browser.
    let reloads = move || auth.reloads();
    let card = |load: LoadCard| Resource::new(reloads, load);
    let (profile, items) = (card(profile), card(items));
    let (notifications, usage) = (card(notifications), card(usage));
    view! {
        <div class="grid">
            <ResourceCard title="Profile" resource=profile render=card_view/>
            <ResourceCard title="Items" resource=items render=card_view/>
            <ResourceCard title="Notifications" resource=notifications render=card_view/>
            <ResourceCard title="Usage" resource=usage render=card_view/>
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

/// What a card shows, whatever its resource. Each server function's data becomes one of these
/// where it is loaded (on the server for the first paint, in the browser on a reload), so the
/// browser compiles one resource type, one card and one view for the four cards instead of four
/// of each: a resource, its hydration and its view's code are kilobytes of the main wasm each
/// (docs/bundle-size.md).
#[derive(Clone, Serialize, Deserialize)]
enum CardBody {
    /// A name or a figure in bold with words after it, then a muted line.
    Summary {
        strong: String,
        after: String,
        muted: String,
    },
    /// A list, one entry per line; `true` marks an unread one.
    List(Vec<(String, bool)>),
}

/// Loads one card's data: a function pointer, so all four resources have the same type.
type LoadCard = fn(u64) -> BoxFuture<'static, Result<CardBody, ApiErrorBody>>;

fn profile(_: u64) -> BoxFuture<'static, Result<CardBody, ApiErrorBody>> {
    async {
        let user = load_profile().await?;
        Ok(CardBody::Summary {
            strong: user.username,
            after: String::new(),
            muted: format!("Roles: {}", user.roles.join(", ")),
        })
    }
    .boxed()
}

fn items(_: u64) -> BoxFuture<'static, Result<CardBody, ApiErrorBody>> {
    async {
        let items = load_items().await?;
        Ok(CardBody::List(
            items.into_iter().map(|item| (item.title, false)).collect(),
        ))
    }
    .boxed()
}

fn notifications(_: u64) -> BoxFuture<'static, Result<CardBody, ApiErrorBody>> {
    async {
        let notes = load_notifications().await?;
        Ok(CardBody::List(
            notes
                .into_iter()
                .map(|note| (note.text, note.unread))
                .collect(),
        ))
    }
    .boxed()
}

fn usage(_: u64) -> BoxFuture<'static, Result<CardBody, ApiErrorBody>> {
    async {
        let usage = load_usage().await?;
        Ok(CardBody::Summary {
            strong: usage.requests_served.to_string(),
            after: " API requests served for you since this server started".to_owned(),
            muted: format!("{} refreshes this session", usage.refreshes_this_session),
        })
    }
    .boxed()
}

fn card_view(body: CardBody) -> impl IntoView {
    match body {
        CardBody::Summary {
            strong,
            after,
            muted,
        } => Either::Left(view! {
            <p><strong>{strong}</strong>{after}</p>
            <p class="muted">{muted}</p>
        }),
        CardBody::List(entries) => Either::Right(view! {
            <ul class="list">
                {entries
                    .into_iter()
                    .map(|(text, unread)| view! { <li class:unread=unread>{text}</li> })
                    .collect_view()}
            </ul>
        }),
    }
}
