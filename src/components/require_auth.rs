//! Guards a protected page: signed out, the visitor goes to `/login?next=<this page>`. On the
//! server that is a real HTTP redirect; in the browser it happens when the session ends while
//! the page is open (signed out in another tab, revoked, the refresh credential refused). When
//! the page's user changes instead (a sign-in as someone else), the page is loaded again.

use leptos::{either::Either, prelude::*};
use leptos_router::{components::Redirect, hooks::use_location};

use super::idle_warning::IdleWarning;
use crate::auth::use_auth;

/// Server-rendered: the page's content for a signed-in visitor, a redirect otherwise.
#[component]
pub fn RequireAuth(children: Children) -> impl IntoView {
    let auth = use_auth();
    if auth.user().get_untracked().is_some() {
        Either::Left(view! {
            <IdleWarning/>
            <SessionGuard>{children()}</SessionGuard>
        })
    } else {
        let location = use_location();
        let here = format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        );
        Either::Right(view! { <Redirect path=auth.login_redirect(&here)/> })
    }
}

/// The browser half of [`RequireAuth`]: an island with nothing of its own to draw. Its children
/// stay server-rendered HTML (and may hold islands of their own, which find the auth context
/// through it).
#[island]
fn SessionGuard(children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let auth = use_auth();
        let rendered_for = auth.user().get_untracked().map(|user| user.id);
        Effect::new(move |_| match auth.user().get() {
            None => leave_for_login(auth),
            // A sign-in this page did not make (another tab's login form) gave the shared
            // cookie to someone else: load the page again, rendered for them.
            Some(user) if Some(&user.id) != rendered_for.as_ref() => {
                let _ = window().location().reload();
            }
            Some(_) => {}
        });
    }
    children()
}

/// Replaces this page with the login page, whose `next` brings the visitor back here. No client
/// router in an islands app: a full page load. The sign-out button goes the same way, so it and
/// the guard, which both see the session end, agree on where.
#[cfg(feature = "hydrate")]
pub fn leave_for_login(auth: crate::auth::AuthContext) {
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let _ = location.replace(&auth.login_redirect(&here));
}
