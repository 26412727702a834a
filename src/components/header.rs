//! The header: brand, navigation, and who is signed in.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

use crate::auth::use_auth;

#[component]
pub fn Header() -> impl IntoView {
    let auth = use_auth();
    let sign_out = move |_| spawn_local(auth.logout());
    view! {
        <header class="site-header">
            <a class="brand" href="/">"Tokenflight"</a>
            <nav aria-label="Main">
                <A href="/">"Dashboard"</A>
                <A href="/admin">"Admin"</A>
            </nav>
            <span class="who">
                {move || match auth.user().get() {
                    Some(user) => view! {
                        <span class="user" data-testid="signed-in-user">{user.username}</span>
                        <button type="button" class="secondary" on:click=sign_out>"Sign out"</button>
                    }.into_any(),
                    None => view! { <A href="/login">"Sign in"</A> }.into_any(),
                }}
            </span>
        </header>
    }
}
