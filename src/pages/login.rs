//! `/login`: a plain HTML form that posts to a server function ([`FormLogin`]), which sets the
//! refresh cookie and redirects to the page asked for. The page has no island of its own (only
//! the auth root around every page): the auth client of the page it lands on restores the
//! session with one refresh, as after a reload.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::redirect::safe_next,
    components::numbers::Duration,
    form_login::{FormLogin, LoginFailure},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    // Rendered on the server only, once: the query is read, not tracked.
    let query = use_query_map().get_untracked();
    let next = safe_next(query.get("next").as_deref());
    let error = query
        .get("error")
        .and_then(|code| LoginFailure::from_code(&code))
        .map(LoginFailure::message);
    // Set by the auth client when the idle timeout ended the session (`AuthContext::login_redirect`).
    let signed_out_idle = query
        .get("idle")
        .and_then(|secs| secs.parse::<u64>().ok())
        .map(|secs| format!("Signed out after {} without activity.", Duration(secs)));
    view! {
        <Title text="Sign in"/>
        <div class="login">
            <h1>"Sign in"</h1>
            {signed_out_idle.map(|message| view! { <p class="notice" role="status">{message}</p> })}
            <form method="post" action=FormLogin::url() class="card">
                <input type="hidden" name="next" value=next/>
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit">"Sign in"</button>
                {error.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </form>
            <aside class="card demo-users" aria-label="Demo users">
                <h2>"Demo users"</h2>
                <table>
                    <thead><tr><th>"Username"</th><th>"Password"</th><th>"Roles"</th></tr></thead>
                    <tbody>
                        <tr><td><code>"alice"</code></td><td><code>"wonderland"</code></td><td>"user"</td></tr>
                        <tr><td><code>"admin"</code></td><td><code>"admin-secret"</code></td><td>"user, admin"</td></tr>
                    </tbody>
                </table>
            </aside>
        </div>
    }
}
