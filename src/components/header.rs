//! The header: brand, navigation, and who is signed in.

use leptos::{either::Either, prelude::*};
use leptos_router::components::A;

use crate::auth::use_auth;

/// Server-rendered, and never redrawn in the browser: on a protected page, a session that ends
/// while it is open leaves the page (see `RequireAuth`). Only the sign-out button is an island.
#[component]
pub fn Header() -> impl IntoView {
    let auth = use_auth();
    view! {
        <header class="site-header">
            <a class="brand" href="/">"Tokenflight"</a>
            <nav aria-label="Main">
                <A href="/">"Dashboard"</A>
                <A href="/sessions">"Sessions"</A>
                <A href="/admin">"Admin"</A>
            </nav>
            <span class="who">
                {match auth.user().get_untracked() {
                    Some(user) => Either::Left(view! {
                        <span class="user" data-testid="signed-in-user">{user.username}</span>
                        <SignOutButton/>
                    }),
                    None => Either::Right(view! { <A href="/login">"Sign in"</A> }),
                }}
            </span>
        </header>
    }
}

/// The sign-out button, an island: the rest of the header is plain HTML.
#[island]
fn SignOutButton() -> impl IntoView {
    let auth = use_auth();
    // An `Action`: the button is disabled from the click until the page leaves, so a second
    // click never sends a second logout.
    let sign_out = Action::new_local(move |_: &()| async move {
        auth.logout().await;
        #[cfg(feature = "hydrate")]
        crate::components::require_auth::leave_for_login(auth);
    });
    view! {
        <button type="button" class="secondary" disabled=move || sign_out.pending().get()
            on:click=move |_| { sign_out.dispatch(()); }>
            "Sign out"
        </button>
    }
}
