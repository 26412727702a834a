//! `/login`: a plain HTML form that works before hydration (it posts to a server function), and
//! signs in through the JSON API once hydrated. A lazy route: its view is a separate wasm chunk,
//! so a signed-in visitor of the dashboard never downloads it.

use leptos::{html, prelude::*, server_fn::ServerFn, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    lazy_route, LazyRoute,
};

use crate::{
    auth::{redirect::safe_next, use_auth},
    form_login::{FormLogin, LoginFailure},
};

pub struct LoginPage;

#[lazy_route]
impl LazyRoute for LoginPage {
    fn data() -> Self {
        Self
    }

    fn view(_page: Self) -> AnyView {
        view! { <LoginForm/> }.into_any()
    }
}

#[component]
fn LoginForm() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let next = move || safe_next(query.read().get("next").as_deref());
    let error = RwSignal::new(
        query
            .read_untracked()
            .get("error")
            .and_then(|code| LoginFailure::from_code(&code))
            .map(LoginFailure::message),
    );
    let busy = RwSignal::new(false);
    let username = NodeRef::<html::Input>::new();
    let password = NodeRef::<html::Input>::new();
    let navigate = use_navigate();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let (Some(username), Some(password)) = (username.get(), password.get()) else {
            return;
        };
        busy.set(true);
        let navigate = navigate.clone();
        let next = next();
        spawn_local(async move {
            match auth.login(username.value(), password.value()).await {
                Ok(_) => navigate(&next, Default::default()),
                Err(failure) => error.set(Some(LoginFailure::from(failure).message())),
            }
            busy.set(false);
        });
    };
    view! {
        <Title text="Sign in"/>
        <div class="login">
            <h1>"Sign in"</h1>
            <form method="post" action=FormLogin::url() on:submit=on_submit class="card">
                <input type="hidden" name="next" value=next/>
                <label for="username">"Username"</label>
                <input id="username" name="username" node_ref=username autocomplete="username" required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" node_ref=password autocomplete="current-password" required/>
                <button type="submit" disabled=move || busy.get()>"Sign in"</button>
                {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
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
