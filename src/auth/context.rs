//! The Leptos face of the coordinator: one [`AuthContext`] provided at the root of the app, a
//! [`use_auth`] hook, and resources whose fetchers all go through it.
//!
//! ```text
//! // At the root, inside <Router>:
//! provide_auth();
//! // In any component:
//! let auth = use_auth();
//! let items = auth.resource::<Vec<Item>>(paths::ITEMS); // loads in the browser, refreshes once
//! ```
//!
//! On the server the context only knows who is signed in (from the session, for the first paint);
//! protected data always loads in the browser, where the access token lives.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use super::coordinator::{AuthError, AuthEvent, AuthSnapshot, RefreshFailureKind};
use crate::api::auth::User;

/// One line of the inspector's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub seq: u64,
    /// Milliseconds since the page loaded.
    pub at_ms: f64,
    pub event: AuthEvent,
}

/// Running totals for the inspector, counted from the event stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounters {
    /// Protected requests started (retries not counted again).
    pub requests: u64,
    pub unauthorized: u64,
    /// Refresh calls that went over the network.
    pub refreshes: u64,
    pub retries: u64,
}

impl FlowCounters {
    /// Adds one event to the totals.
    pub fn count(&mut self, event: &AuthEvent) {
        match event {
            AuthEvent::RequestSent { retry: false, .. } => self.requests += 1,
            AuthEvent::Unauthorized { .. } => self.unauthorized += 1,
            AuthEvent::RefreshSucceeded { adopted: false, .. } => self.refreshes += 1,
            AuthEvent::RefreshFailed { kind, .. } if *kind != RefreshFailureKind::NoSession => {
                self.refreshes += 1
            }
            AuthEvent::Retried { .. } => self.retries += 1,
            _ => {}
        }
    }
}

/// The shared auth context. `Copy`: every field is an arena handle.
#[derive(Clone, Copy)]
pub struct AuthContext {
    user: RwSignal<Option<User>>,
    snapshot: RwSignal<Option<AuthSnapshot>>,
    timeline: RwSignal<Vec<TimelineEntry>>,
    counters: RwSignal<FlowCounters>,
    /// Bumped to make every [`AuthContext::resource`] fetch again.
    reload: RwSignal<u64>,
    #[cfg(feature = "hydrate")]
    client: StoredValue<client::BrowserCoordinator, LocalStorage>,
}

/// Creates the context and provides it. Call once, at the root of the app, inside `<Router>`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use leptos_router::components::Router;
/// use tokenflight::auth::provide_auth;
///
/// #[component]
/// fn Root() -> impl IntoView {
///     view! { <Router><AuthRoot/></Router> }
/// }
///
/// #[component]
/// fn AuthRoot() -> impl IntoView {
///     provide_auth(); // inside <Router>: a session that ends navigates to /login
///     view! { <main>"…routes…"</main> }
/// }
/// ```
pub fn provide_auth() -> AuthContext {
    // Rendered on the server from the session, and read back (not recomputed) while hydrating:
    // the first paint shows the right user, and hydration sees the same value.
    let signed_in = SharedValue::new(signed_in_user).into_inner();
    let auth = AuthContext {
        user: RwSignal::new(signed_in.clone()),
        snapshot: RwSignal::new(None),
        timeline: RwSignal::new(Vec::new()),
        counters: RwSignal::new(FlowCounters::default()),
        reload: RwSignal::new(0),
        #[cfg(feature = "hydrate")]
        client: StoredValue::new_local(client::connect()),
    };
    #[cfg(feature = "hydrate")]
    client::start(auth, signed_in);
    provide_context(auth);
    auth
}

/// The user the server found in this request's session (see `server::first_paint`).
fn signed_in_user() -> Option<User> {
    #[cfg(feature = "ssr")]
    {
        use crate::server::first_paint::SignedInUser;
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedInUser>().cloned())
            .and_then(|signed_in| signed_in.0)
    }
    #[cfg(not(feature = "ssr"))]
    {
        // In the browser the value comes from the server's HTML instead.
        None
    }
}

/// The context provided by [`provide_auth`].
pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

impl AuthContext {
    /// The signed-in user, `None` when signed out.
    pub fn user(self) -> Signal<Option<User>> {
        self.user.into()
    }

    /// Token state for the inspector (browser only; `None` on the server).
    pub fn snapshot(self) -> Signal<Option<AuthSnapshot>> {
        self.snapshot.into()
    }

    pub fn timeline(self) -> Signal<Vec<TimelineEntry>> {
        self.timeline.into()
    }

    pub fn counters(self) -> Signal<FlowCounters> {
        self.counters.into()
    }

    /// Makes every resource created by [`AuthContext::resource`] load again.
    pub fn reload(self) {
        self.reload.update(|n| *n += 1);
    }

    /// A resource that GETs `path` through the coordinator. It loads in the browser only and
    /// again after [`AuthContext::reload`].
    ///
    /// ```no_run
    /// use leptos::prelude::*;
    /// use tokenflight::{api::resources::{paths, Item}, auth::use_auth};
    ///
    /// #[component]
    /// fn ItemCount() -> impl IntoView {
    ///     let items = use_auth().resource::<Vec<Item>>(paths::ITEMS);
    ///     view! {
    ///         <Suspense fallback=|| "Loading…">
    ///             {move || Suspend::new(async move {
    ///                 match items.await {
    ///                     Ok(items) => format!("{} items", items.len()),
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

    /// Clears the local view of the session; `RequireAuth` then sends the page to `/login`.
    fn session_ended(self) {
        self.user.set(None);
    }
}

/// Requests: the same API on both sides. On the server they fail with `Transient`: protected
/// data is only ever fetched in the browser, where the token is.
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
    /// access token stays in memory. Errors are messages for the login form.
    pub async fn login(self, username: String, password: String) -> Result<User, String> {
        #[cfg(feature = "hydrate")]
        {
            let user = client::login(self, username, password).await?;
            self.user.set(Some(user.clone()));
            Ok(user)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (self, username, password);
            Err(server_side().to_string())
        }
    }

    /// Signs out here and in every other tab, and revokes the session on the server.
    pub async fn logout(self) {
        #[cfg(feature = "hydrate")]
        client::logout(self).await;
        self.session_ended();
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

    use leptos::{prelude::*, task::spawn_local};
    use wasm_bindgen::{closure::Closure, JsCast};

    use super::{AuthContext, TimelineEntry};
    use crate::{
        api::auth::{codes, ApiErrorBody, LoginRequest, TokenResponse, User},
        auth::{
            browser::{BrowserRuntime, BrowserTabs, FetchTransport},
            coordinator::{AuthEvent, Coordinator, CoordinatorConfig, Runtime, SignOutReason},
        },
    };

    pub type BrowserCoordinator = Coordinator<FetchTransport, BrowserRuntime, BrowserTabs>;

    /// The timeline keeps this many entries; older ones scroll away.
    const TIMELINE_CAPACITY: usize = 300;

    pub fn connect() -> BrowserCoordinator {
        let tabs = BrowserTabs::connect();
        let coordinator = Coordinator::new(
            FetchTransport,
            BrowserRuntime,
            tabs.clone(),
            CoordinatorConfig::default(),
        );
        let receiver = coordinator.clone();
        tabs.set_receiver(move |message| receiver.on_tab_message(message));
        coordinator
    }

    /// Connects the coordinator to the context's signals and to the page's lifecycle, and — when
    /// the server rendered a signed-in user — restores the session with one refresh (or a token
    /// from an open tab).
    pub fn start(auth: AuthContext, signed_in: Option<User>) {
        let client = auth.client.get_value();
        follow_events(auth, &client);
        client.on_session_ended(move |_reason| auth.session_ended());
        catch_up_when_back(auth);
        if let Some(user) = signed_in {
            client.resume(user);
            spawn_local(async move {
                let _ = client.restore().await;
            });
        }
    }

    /// Every event goes to the timeline and counters at once; the snapshot (and the user, which
    /// another tab may have changed) is read once per burst of events, after the coordinator has
    /// finished its step.
    fn follow_events(auth: AuthContext, client: &BrowserCoordinator) {
        let source = client.clone();
        let snapshot_queued = Rc::new(Cell::new(false));
        client.subscribe(move |event| {
            record(auth, BrowserRuntime.now_ms(), event);
            if snapshot_queued.replace(true) {
                return;
            }
            let (source, queued) = (source.clone(), snapshot_queued.clone());
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

    fn record(auth: AuthContext, at_ms: f64, event: &AuthEvent) {
        auth.counters.update(|counters| counters.count(event));
        auth.timeline.update(|timeline| {
            let seq = timeline.last().map_or(0, |entry| entry.seq + 1);
            if timeline.len() == TIMELINE_CAPACITY {
                timeline.remove(0);
            }
            timeline.push(TimelineEntry {
                seq,
                at_ms,
                event: event.clone(),
            });
        });
    }

    /// A hidden or sleeping tab's timers may not have fired: catch up when it is visible again
    /// or the network is back. Both listeners live as long as the page.
    fn catch_up_when_back(auth: AuthContext) {
        let on_online = Closure::<dyn Fn()>::new(move || auth.client.get_value().catch_up());
        let _ =
            window().add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        on_online.forget();
        let on_visibility_change = Closure::<dyn Fn()>::new(move || {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                auth.client.get_value().catch_up();
            }
        });
        let _ = document().add_event_listener_with_callback(
            "visibilitychange",
            on_visibility_change.as_ref().unchecked_ref(),
        );
        on_visibility_change.forget();
    }

    /// The login call, made through the coordinator so that it never races a refresh (see
    /// `Coordinator::sign_in_with`). Errors are the login form's messages.
    pub async fn login(
        auth: AuthContext,
        username: String,
        password: String,
    ) -> Result<User, String> {
        let client = auth.client.get_value();
        client
            .sign_in_with(async move {
                let response = FetchTransport
                    .login(&LoginRequest { username, password })
                    .await
                    .map_err(|_| "The server cannot be reached. Try again.".to_owned())?;
                if response.status == 200 {
                    return serde_json::from_str::<TokenResponse>(&response.body)
                        .map_err(|_| "The server answered oddly. Try again.".to_owned());
                }
                let code = serde_json::from_str::<ApiErrorBody>(&response.body)
                    .map(|body| body.error)
                    .unwrap_or_default();
                Err(match code.as_str() {
                    codes::INVALID_CREDENTIALS => "Wrong username or password.".to_owned(),
                    codes::TOO_MANY_ATTEMPTS => {
                        "Too many failed attempts. Wait a minute and try again.".to_owned()
                    }
                    _ => format!("Sign-in failed (HTTP {}). Try again.", response.status),
                })
            })
            .await
    }

    pub async fn logout(auth: AuthContext) {
        // Forget locally (and in every tab) even if the server cannot be reached.
        let _ = FetchTransport.logout().await;
        auth.client.get_value().sign_out(SignOutReason::User);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_requests_401s_network_refreshes_and_retries() {
        let events = [
            AuthEvent::RequestSent {
                request_id: 1,
                path: "/a".into(),
                token_version: 1,
                retry: false,
            },
            AuthEvent::Unauthorized {
                request_id: 1,
                token_version: 1,
            },
            AuthEvent::RefreshSucceeded {
                refresh_id: 1,
                token_version: 2,
                expires_in_ms: 1,
                waiters: vec![1],
                adopted: false,
            },
            AuthEvent::RefreshSucceeded {
                refresh_id: 2,
                token_version: 3,
                expires_in_ms: 1,
                waiters: vec![],
                adopted: true,
            },
            AuthEvent::RefreshFailed {
                refresh_id: 3,
                kind: RefreshFailureKind::NoSession,
                waiters: vec![],
            },
            AuthEvent::Retried {
                request_id: 1,
                with_refresh: true,
            },
            AuthEvent::RequestSent {
                request_id: 1,
                path: "/a".into(),
                token_version: 2,
                retry: true,
            },
        ];
        let mut counters = FlowCounters::default();
        events.iter().for_each(|event| counters.count(event));
        let expected = FlowCounters {
            requests: 1,
            unauthorized: 1,
            refreshes: 1,
            retries: 1,
        };
        assert_eq!(counters, expected);
    }
}
