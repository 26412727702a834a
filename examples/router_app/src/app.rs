//! The app: a shell, a client-side router with three routes, and the auth client's glue — the
//! README's "Use the auth client in your app", verbatim (`tests/layers.rs` in the tokenflight
//! crate compares the two).

use futures::future::join_all;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_navigate,
    path,
};

use tokenflight::api::auth::User;
#[cfg(not(feature = "baseline"))]
use tokenflight::auth::{provide_auth, use_auth, AuthConfig};

use crate::api::{paths, Item};
#[cfg(feature = "baseline")]
use crate::baseline::{provide_auth, use_auth, AuthConfig};

/// The HTML document, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // No icon to fetch (a browser would ask for /favicon.ico and log its 404).
                <link rel="icon" href="data:,"/>
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
    // The user the server found in its session, serialized into the page for hydration.
    let first_paint_user = SharedValue::new(signed_in_user).into_inner();
    view! {
        <Title text="Router app"/>
        <Router><Root first_paint_user/></Router>
    }
}

// README glue: begin
#[component]
fn Root(first_paint_user: Option<User>) -> impl IntoView {
    // `first_paint_user`: your server reads it from its session (see `App`).
    provide_auth(AuthConfig::default(), first_paint_user); // inside <Router>
    view! {
        <Nav/>
        <main>
            <Routes fallback=|| "Not found.">
                <Route path=path!("/") view=Items/>
                <Route path=path!("/profile") view=Profile/>
                <Route path=path!("/login") view=Login/>
            </Routes>
        </main>
    }
}

#[component]
fn Items() -> impl IntoView {
    let items = use_auth().resource::<Vec<Item>>("/api/items"); // one refresh, retry once
    view! { <Suspense fallback=|| "Loading…">{move || Suspend::new(async move { match items.await {
        Ok(items) => items.iter().map(|item| item.title.clone()).collect::<Vec<_>>().join(", "),
        Err(error) => error.to_string(),
    } })}</Suspense> <Burst/> }
}
// README glue: end

/// Navigation, who is signed in, and how many listeners the auth client holds (a route that
/// subscribes must leave none behind when it unmounts).
#[component]
fn Nav() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let sign_out = Action::new_local(move |_: &()| {
        let navigate = navigate.clone();
        async move {
            auth.logout().await;
            navigate("/login", Default::default());
        }
    });
    let listeners = RwSignal::new(None::<usize>);
    view! {
        <nav>
            <A href="/">"Items"</A> " " <A href="/profile">"Profile"</A> " "
            {move || match auth.user().get() {
                Some(user) => view! {
                    <span data-testid="user">{user.username}</span>
                    " "
                    <button disabled=move || sign_out.pending().get()
                        on:click=move |_| { sign_out.dispatch(()); }>"Sign out"</button>
                }.into_any(),
                None => view! { <A href="/login">"Sign in"</A> }.into_any(),
            }}
            " "
            <button on:click=move |_| listeners.set(Some(auth.subscription_count()))>
                "Count listeners"
            </button>
            <output data-testid="listeners">{move || listeners.get().map(|n| n.to_string())}</output>
        </nav>
    }
}

/// Expires the session's access tokens on the server, then fires 20 requests at once: they meet
/// the expired token together, and the auth client makes one refresh call for all of them.
#[component]
fn Burst() -> impl IntoView {
    let auth = use_auth();
    let expire = Action::new_local(move |_: &()| async move {
        match auth.post_json(paths::EXPIRE_ACCESS, &()).await {
            Ok(()) => "expired".to_owned(),
            Err(error) => error.to_string(),
        }
    });
    let burst = Action::new_local(move |_: &()| async move {
        let calls = (0..20).map(|_| auth.get_json::<Vec<Item>>(paths::ITEMS));
        let ok = join_all(calls)
            .await
            .into_iter()
            .filter(Result::is_ok)
            .count();
        format!("{ok}/20 succeeded")
    });
    view! {
        <p>
            <button disabled=move || expire.pending().get()
                on:click=move |_| { expire.dispatch(()); }>"Expire token"</button>
            " "
            <button disabled=move || burst.pending().get()
                on:click=move |_| { burst.dispatch(()); }>"Burst 20"</button>
        </p>
        <p role="status" data-testid="burst">{move || expire.value().get()} " " {move || burst.value().get()}</p>
    }
}

/// `GET /api/me`, and the auth events seen while this route is mounted: it subscribes on every
/// mount, and the subscription goes with the route.
#[component]
fn Profile() -> impl IntoView {
    let auth = use_auth();
    let me = auth.resource::<User>(paths::ME);
    let events = RwSignal::new(0_u32);
    auth.subscribe(move |_event| events.update(|n| *n += 1));
    view! {
        <h1>"Profile"</h1>
        <Suspense fallback=|| "Loading…">
            {move || Suspend::new(async move {
                match me.await {
                    Ok(user) => format!("{} ({})", user.username, user.roles.join(", ")),
                    Err(error) => error.to_string(),
                }
            })}
        </Suspense>
        <p>"Auth events while here: " {move || events.get()}</p>
    }
}

/// Signs in through the auth client (`POST /api/auth/login`): the access token stays in memory,
/// and the router takes the user on without a page load.
#[component]
fn Login() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    let (username, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let login = Action::new_local(move |(username, password): &(String, String)| {
        let (username, password, navigate) = (username.clone(), password.clone(), navigate.clone());
        async move {
            let result = auth.login(username, password).await;
            if result.is_ok() {
                navigate("/", Default::default());
            }
            result.err().map(|error| error.to_string())
        }
    });
    view! {
        <h1>"Sign in"</h1>
        <form on:submit=move |ev| {
            ev.prevent_default();
            login.dispatch((username.get_untracked(), password.get_untracked()));
        }>
            <label>"Username " <input name="username" bind:value=username/></label>
            <label>"Password " <input name="password" type="password" bind:value=password/></label>
            <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
        </form>
        <p role="alert">{move || login.value().get().flatten()}</p>
    }
}

/// The user tokenflight's first-paint layer found in this request's session.
fn signed_in_user() -> Option<User> {
    #[cfg(feature = "ssr")]
    {
        use tokenflight::server::http::first_paint::SignedInUser;
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedInUser>().cloned())
            .and_then(|SignedInUser(caller)| caller)
            .map(|caller| User {
                id: caller.user.id,
                username: caller.user.username,
                roles: caller.user.roles,
            })
    }
    #[cfg(not(feature = "ssr"))]
    None
}
