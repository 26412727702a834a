//! Guards a protected page: signed out, it redirects to `/login?next=<this page>` — on the server
//! during SSR (a real HTTP redirect) and in the browser when a session ends.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use crate::auth::use_auth;

#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    view! {
        <Show
            when=move || auth.user().get().is_some()
            fallback=move || {
                let here = format!(
                    "{}{}",
                    location.pathname.get_untracked(),
                    location.search.get_untracked(),
                );
                view! { <Redirect path=auth.login_redirect(&here)/> }
            }
        >
            {children()}
        </Show>
    }
}
