//! The Leptos face of the coordinator: one [`AuthContext`] provided at the root of the app, a
//! [`use_auth`] hook, and resources whose fetchers all go through it.
//!
//! The app hands in what only it knows — its [`AuthConfig`] and the user its server found for the
//! first paint — and gets signals, requests and an event stream back. Nothing here knows the
//! app's pages, resources or inspector.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{
    config::AuthConfig,
    coordinator::{AuthError, AuthEvent, AuthSnapshot, LoginError, SignOutReason},
};
use crate::api::{
    auth::{TokenResponse, User},
    redirect::login_redirect,
};

/// What the server knew about the visitor when it rendered the page. The app reads it on the
/// server and carries it to the browser (as an island's prop, or in a `SharedValue`), so that
/// hydration sees the same value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirstPaint {
    /// Nobody signed in (or a page the server does not render per user).
    #[default]
    SignedOut,
    /// Signed in, without a token: the client restores the session with one refresh call (or a
    /// token from an open tab) before its first protected call.
    User(User),
    /// Signed in, with an access token the server minted for the session as it rendered the
    /// page: no refresh call at all. The page then holds a token: the server must send it with
    /// `Cache-Control: no-store`.
    Token(TokenResponse),
}

impl FirstPaint {
    /// The user the page was rendered for.
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::SignedOut => None,
            Self::User(user) => Some(user),
            Self::Token(tokens) => Some(&tokens.user),
        }
    }
}

impl From<Option<User>> for FirstPaint {
    fn from(user: Option<User>) -> Self {
        user.map_or(Self::SignedOut, Self::User)
    }
}

impl From<Option<TokenResponse>> for FirstPaint {
    fn from(tokens: Option<TokenResponse>) -> Self {
        tokens.map_or(Self::SignedOut, Self::Token)
    }
}

/// The shared auth context. `Copy`: every field is an arena handle.
#[derive(Clone, Copy)]
pub struct AuthContext {
    config: StoredValue<AuthConfig>,
    user: RwSignal<Option<User>>,
    snapshot: RwSignal<Option<AuthSnapshot>>,
    /// Bumped to make every [`AuthContext::resource`] fetch again.
    reload: RwSignal<u64>,
    /// Why the session ended while the page was open, if it did.
    ended: RwSignal<Option<SignOutReason>>,
    #[cfg(feature = "hydrate")]
    client: StoredValue<client::BrowserCoordinator, LocalStorage>,
}

/// Creates the context and provides it. Call once per page, at the root: inside `<Router>` in a
/// hydrated app, or in the outermost island of an islands app (islands nested in its children
/// find the context in the browser).
///
/// `first_paint` is what the server found when it rendered the page ([`FirstPaint`]): the
/// signed-in user (`Option<User>` converts), or the user with an access token for the session.
/// In the browser a signed-in first paint restores the session at once.
///
/// ```no_run
/// use leptos::prelude::*;
/// use tokenflight::{api::auth::User, auth::{provide_auth, AuthConfig}};
///
/// #[component]
/// fn Root(first_paint_user: Option<User>) -> impl IntoView {
///     // Once per page, at the root: everything below finds it with `use_auth`.
///     let auth = provide_auth(AuthConfig::default(), first_paint_user);
///     let name = move || auth.user().get().map(|user| user.username);
///     view! { <p>"Signed in as " {name}</p> }
/// }
/// ```
pub fn provide_auth(config: AuthConfig, first_paint: impl Into<FirstPaint>) -> AuthContext {
    let first_paint = first_paint.into();
    let auth = AuthContext {
        config: StoredValue::new(config),
        user: RwSignal::new(first_paint.user().cloned()),
        snapshot: RwSignal::new(None),
        reload: RwSignal::new(0),
        ended: RwSignal::new(None),
        #[cfg(feature = "hydrate")]
        client: StoredValue::new_local(client::connect(&config)),
    };
    #[cfg(feature = "hydrate")]
    client::start(auth, first_paint);
    provide_context(auth);
    auth
}

/// The context provided by [`provide_auth`]. Panics outside its tree: a component that needs
/// auth and finds none is a wiring mistake, not a signed-out visitor.
///
/// ```no_run
/// use leptos::prelude::*;
/// use tokenflight::auth::use_auth;
///
/// #[component]
/// fn SignOut() -> impl IntoView {
///     let auth = use_auth();
///     // An action: its pending state disables the button, so a double click signs out once.
///     let sign_out = Action::new_local(move |_: &()| auth.logout());
///     let pending = move || sign_out.pending().get();
///     let click = move |_| {
///         sign_out.dispatch(());
///     };
///     view! { <button disabled=pending on:click=click>"Sign out"</button> }
/// }
/// ```
pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

impl AuthContext {
    /// The signed-in user, `None` when signed out.
    pub fn user(self) -> Signal<Option<User>> {
        self.user.into()
    }

    /// Token state: expiry, refreshing, offline (browser only; `None` on the server).
    pub fn snapshot(self) -> Signal<Option<AuthSnapshot>> {
        self.snapshot.into()
    }

    /// Why the session ended while this page was open (`None` before it does): the UI words
    /// the end, for instance "Signed out after 30 minutes without activity".
    pub fn ended(self) -> Signal<Option<SignOutReason>> {
        self.ended.into()
    }

    /// `<login page>?next=<here>`: where a signed-out visitor of `here` is sent. After an idle
    /// timeout, `&idle=<seconds>` too, so the login page can say why.
    pub fn login_redirect(self, here: &str) -> String {
        let to_login = login_redirect(self.config.get_value().login_page, here);
        match self.ended.get_untracked() {
            Some(SignOutReason::Idle { after_secs }) => format!("{to_login}&idle={after_secs}"),
            _ => to_login,
        }
    }

    /// The answer to the idle warning ([`AuthSnapshot::idle_ends_at_ms`]): one refresh, which
    /// moves the deadline in every tab.
    pub fn stay_signed_in(self) {
        #[cfg(feature = "hydrate")]
        self.client.with_value(|client| client.stay_signed_in());
    }

    /// Calls `listener` for every coordinator event (in the browser; never on the server), until
    /// the calling component's owner is cleaned up: a route that subscribes on mount leaves no
    /// listener behind when it unmounts. The stream is for inspectors and logs: the context
    /// itself keeps none of it.
    pub fn subscribe(self, listener: impl Fn(&AuthEvent) + 'static) {
        #[cfg(feature = "hydrate")]
        {
            let client = self.client.get_value();
            let subscription = client.subscribe(listener);
            on_cleanup(move || self.client.with_value(|c| c.unsubscribe(subscription)));
        }
        #[cfg(not(feature = "hydrate"))]
        drop(listener);
    }

    /// How many listeners the coordinator holds (0 on the server): flat across mounts and
    /// unmounts of subscribing views, or something leaks.
    pub fn subscription_count(self) -> usize {
        #[cfg(feature = "hydrate")]
        return self.client.with_value(|client| client.subscription_count());
        #[cfg(not(feature = "hydrate"))]
        0
    }

    /// Milliseconds on the coordinator's clock, the one token expiry is measured on (suspend-
    /// aware in the browser; 0 on the server). A UI that shows time left uses this clock too.
    pub fn now_ms(self) -> f64 {
        #[cfg(feature = "hydrate")]
        {
            use super::coordinator::Runtime;
            super::browser::BrowserRuntime.now_ms()
        }
        #[cfg(not(feature = "hydrate"))]
        0.0
    }

    /// Makes every resource created by [`AuthContext::resource`] load again.
    pub fn reload(self) {
        self.reload.update(|n| *n += 1);
    }

    /// How often [`AuthContext::reload`] was called, tracked: use it as the source of a
    /// server-function `Resource` so that it reloads with the others.
    pub fn reloads(self) -> u64 {
        self.reload.get()
    }

    /// A resource that GETs `path` through the coordinator. It loads in the browser only and
    /// again after [`AuthContext::reload`].
    ///
    /// ```no_run
    /// use leptos::prelude::*;
    /// use serde::Deserialize;
    /// use tokenflight::auth::use_auth;
    ///
    /// #[derive(Clone, Deserialize)]
    /// struct Invoice { number: String }
    ///
    /// #[component]
    /// fn InvoiceCount() -> impl IntoView {
    ///     let invoices = use_auth().resource::<Vec<Invoice>>("/api/invoices");
    ///     view! {
    ///         <Suspense fallback=|| "Loading…">
    ///             {move || Suspend::new(async move {
    ///                 match invoices.await {
    ///                     Ok(invoices) => format!("{} invoices", invoices.len()),
    ///                     Err(error) => error.to_string(), // Forbidden, SessionExpired, …
    ///                 }
    ///             })}
    ///         </Suspense>
    ///     }
    /// }
    /// ```
    pub fn resource<T>(self, path: &'static str) -> LocalResource<Result<T, AuthError>>
    where
        T: DeserializeOwned + 'static,
    {
        LocalResource::new(move || {
            self.reload.track();
            self.get_json::<T>(path)
        })
    }
}

/// Requests: the same API on both sides. On the server they fail with `Transient`: the access
/// token lives in the browser only.
impl AuthContext {
    /// `GET path`, decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(self, path: &str) -> Result<T, AuthError> {
        #[cfg(feature = "hydrate")]
        {
            use super::coordinator::ApiRequest;
            let client = self.client.get_value();
            client.execute_json(ApiRequest::get(path)).await
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (self, path);
            Err(server_side())
        }
    }

    /// `POST path` with a JSON body; the answer's body is ignored.
    pub async fn post_json(self, path: &str, body: &impl Serialize) -> Result<(), AuthError> {
        #[cfg(feature = "hydrate")]
        {
            use super::coordinator::ApiRequest;
            let client = self.client.get_value();
            client
                .execute(ApiRequest::post_json(path, body)?)
                .await
                .map(drop)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (self, path, body);
            Err(server_side())
        }
    }

    /// Signs in with a password. The refresh credential arrives as an HttpOnly cookie; the
    /// access token stays in memory. The app words the [`LoginError`] itself.
    pub async fn login(self, username: String, password: String) -> Result<User, LoginError> {
        #[cfg(feature = "hydrate")]
        {
            let user = client::login(self, username, password).await?;
            self.user.set(Some(user.clone()));
            Ok(user)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (self, username, password);
            Err(LoginError::Unavailable)
        }
    }

    /// Signs out here and in every other tab, and revokes the session on the server.
    pub async fn logout(self) {
        #[cfg(feature = "hydrate")]
        client::logout(self).await;
        self.user.set(None);
    }
}

#[cfg(not(feature = "hydrate"))]
fn server_side() -> AuthError {
    AuthError::Transient("protected requests are made in the browser".into())
}

/// The browser half: the coordinator with its browser transport, clock and tabs.
#[cfg(feature = "hydrate")]
mod client {
    use std::{cell::Cell, rc::Rc};

    use leptos::{ev, prelude::*, task::spawn_local};
    use leptos_use_document_visibility::use_document_visibility;
    use leptos_use_event_listener::use_event_listener;

    use super::{AuthContext, AuthEvent, FirstPaint};
    pub use crate::auth::browser::BrowserCoordinator;
    use crate::{
        api::auth::{LoginRequest, User},
        auth::{
            browser::{set_active_coordinator, BrowserRuntime, BrowserTabs, FetchTransport},
            config::AuthConfig,
            coordinator::{classify_login, Coordinator, LoginError, SignOutReason},
        },
    };

    pub fn connect(config: &AuthConfig) -> BrowserCoordinator {
        let tabs = BrowserTabs::connect(config.tab_channel, config.lock_wait_ms);
        let transport = FetchTransport {
            endpoints: config.endpoints,
        };
        let coordinator = Coordinator::new(transport, BrowserRuntime, tabs.clone(), config.timing);
        let receiver = coordinator.clone();
        tabs.set_receiver(move |message| receiver.on_tab_message(message));
        // Server functions declared with `AuthClient` find it here.
        set_active_coordinator(coordinator.clone());
        coordinator
    }

    /// Connects the coordinator to the context's signals and to the page's lifecycle, and — when
    /// the server rendered a signed-in user — resumes the session: with the page's token, or
    /// else with one refresh (or a token from an open tab). The context lives as long as the
    /// page, so these hooks are never removed.
    pub fn start(auth: AuthContext, first_paint: FirstPaint) {
        let client = auth.client.get_value();
        follow_state(auth, &client);
        client.on_session_ended(move |reason| {
            auth.ended.set(Some(reason));
            auth.user.set(None);
        });
        report_activity(auth);
        catch_up_when_back(auth);
        match first_paint {
            FirstPaint::SignedOut => {}
            FirstPaint::Token(tokens) => client.resume_with_token(tokens),
            FirstPaint::User(user) => {
                client.resume(user);
                spawn_local(async move {
                    let _ = client.restore().await;
                });
            }
        }
    }

    /// The snapshot (and the user, which another tab may have changed) is read once per burst of
    /// events, after the coordinator has finished its step.
    fn follow_state(auth: AuthContext, client: &BrowserCoordinator) {
        let source = client.clone();
        let queued = Rc::new(Cell::new(false));
        client.subscribe(move |event| {
            // A refresh worked again after failing: what failed meanwhile loads again.
            if *event == AuthEvent::Online {
                auth.reload();
            }
            if queued.replace(true) {
                return;
            }
            let (source, queued) = (source.clone(), queued.clone());
            spawn_local(async move {
                queued.set(false);
                let snapshot = source.snapshot();
                if snapshot.user.is_some() && snapshot.user != auth.user.get_untracked() {
                    auth.user.set(snapshot.user.clone());
                }
                auth.snapshot.set(Some(snapshot));
            });
        });
    }

    /// Idle means the user: a pointer pressed, a key, a wheel, or focus coming back to the
    /// window tells the coordinator someone is there (it only notes the time). What a browser
    /// does by itself does not count: a page load, the first focus of a new window, the
    /// `pointermove` Chromium synthesises when the page changes under a resting cursor.
    fn report_activity(auth: AuthContext) {
        use wasm_bindgen::{closure::Closure, JsCast};
        let client = auth.client.get_value();
        let left = Cell::new(false);
        // One listener for all five events (not one typed listener each): the same job in
        // less of the wasm every page waits for.
        let on_event = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            match event.type_().as_str() {
                "blur" => left.set(true),
                "focus" if !left.replace(false) => {}
                _ => client.user_active(),
            }
        });
        for name in ["pointerdown", "keydown", "wheel", "focus", "blur"] {
            let _ =
                window().add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
        }
        // The context lives as long as the page (see `start`): so does its listener.
        on_event.forget();
    }

    /// A hidden or sleeping tab's timers may not have fired: catch up when it is visible again
    /// (which counts as the user being there) or the network is back. Back online, every
    /// resource loads again too: what failed while offline is retried, not left showing
    /// "offline".
    fn catch_up_when_back(auth: AuthContext) {
        let _ = use_event_listener(window(), ev::online, move |_| {
            auth.client.get_value().catch_up();
            auth.reload();
        });
        let visibility = use_document_visibility();
        // On a change only: the first run, at page load, is not the user coming back.
        Effect::new(move |before: Option<web_sys::VisibilityState>| {
            let now = visibility.get();
            let visible = web_sys::VisibilityState::Visible;
            if now == visible && before.is_some_and(|before| before != visible) {
                let client = auth.client.get_value();
                client.user_active();
                client.catch_up();
            }
            now
        });
    }

    /// The login call, made through the coordinator so that it never races a refresh (see
    /// `Coordinator::sign_in_with`).
    pub async fn login(
        auth: AuthContext,
        username: String,
        password: String,
    ) -> Result<User, LoginError> {
        let client = auth.client.get_value();
        let transport = FetchTransport {
            endpoints: auth.config.get_value().endpoints,
        };
        client
            .sign_in_with(async move {
                let request = LoginRequest { username, password };
                classify_login(transport.login(&request).await)
            })
            .await
    }

    pub async fn logout(auth: AuthContext) {
        // Forget locally (and in every tab) even if the server cannot be reached.
        let transport = FetchTransport {
            endpoints: auth.config.get_value().endpoints,
        };
        let _ = transport.logout().await;
        auth.client.get_value().sign_out(SignOutReason::User);
    }
}
