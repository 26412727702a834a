//! `/login`: a plain HTML form that posts to a server function ([`FormLogin`]), which sets the
//! refresh cookie and redirects to the page asked for. The page has no island of its own (only
//! the auth root around every page): the auth client of the page it lands on restores the
//! session with one refresh, as after a reload.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

use crate::{
    api::redirect::safe_next,
    components::numbers::Duration,
    form_login::{FormLogin, LoginFailure},
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = RequestQuery::read();
    let next = safe_next(query.get("next"));
    // OpenID Connect Core §3.1.2.1: a relying party's `login_hint` fills in the username.
    let login_hint = query.get("login_hint").unwrap_or_default().to_owned();
    let error = query
        .get("error")
        .and_then(LoginFailure::from_code)
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
                <input id="username" name="username" autocomplete="username" required value=login_hint/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit">"Sign in"</button>
                {error.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </form>
            <Show when=built_in_users_in_use>
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
            </Show>
        </div>
    }
}

/// Whether the users are the built-in `alice` and `admin` (no `USERS_FILE`): only then does the
/// page show their passwords.
fn built_in_users_in_use() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::server::IdpState>().is_some_and(|state| state.config.users.is_empty())
    }
    #[cfg(not(feature = "ssr"))]
    false
}

/// The page's query parameters, percent-decoded exactly once (issue #32). leptos_router 0.8's
/// `use_query_map` decodes twice: `next=%2Foauth%2Fauthorize%3Fscope%3Dopenid%2520profile`
/// reached this page as `scope=openid profile`, a literal space, which `safe_next` refused — a
/// relying party that wrote `%20` got its user signed in and dropped on the dashboard. The
/// page is rendered on the server only, so the request's own query is read there, once.
struct RequestQuery(Vec<(String, String)>);

impl RequestQuery {
    #[cfg(feature = "ssr")]
    fn read() -> Self {
        let pairs = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.uri.query().map(str::to_owned))
            .and_then(|query| serde_urlencoded::from_str(&query).ok())
            .unwrap_or_default();
        Self(pairs)
    }

    /// The browser never renders this page (no island of its own): nothing to read.
    #[cfg(not(feature = "ssr"))]
    fn read() -> Self {
        Self(Vec::new())
    }

    /// The first value of `name`, as `?name=a&name=b` gives `a`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}
