//! The client-side refresh coordinator: attaches the in-memory access token to API calls and, when
//! the server rejects it, runs ONE refresh that every failing request waits on, then retries once.
//!
//! It fixes the classic interceptor loop (every 401 starting its own refresh, a finished refresh
//! reused forever, retries carrying the old token). It is plain Rust: the HTTP layer, the clock
//! and the other tabs are injected through [`Transport`], [`Runtime`] and [`TabSync`].
//!
//! In the browser (`auth::browser`, feature `hydrate`; the Leptos context does exactly this):
//!
//! ```text
//! let tabs = BrowserTabs::connect("my-app", 5_000);
//! let transport = FetchTransport { endpoints: AuthEndpoints::default() };
//! let auth = Coordinator::new(transport, BrowserRuntime, tabs, CoordinatorConfig::default());
//! auth.on_session_ended(|reason| navigate_to_login(reason));
//! auth.restore().await.ok(); // page load: one refresh call, however many requests start now
//! let orders: Vec<Order> = auth.execute_json(ApiRequest::get("/api/orders")).await?;
//! ```
//!
//! One file per concern: [`ports`] (transport, clock), [`config`], [`errors`], [`events`], `state`,
//! `sending` (attach, retry once), `single_flight`, `timers` (proactive, backoff), `idle`
//! (the user's inactivity: warning and end), `tabs`,
//! `answers` (classifying responses) and `challenge` (`WWW-Authenticate`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::rc::{Rc, Weak};

use futures::FutureExt;
use serde::de::DeserializeOwned;

use super::tab_sync::{TabMessage, TabSync};
use crate::api::auth::{TokenResponse, User};

mod answers;
pub mod challenge;
pub mod config;
pub mod errors;
pub mod events;
mod idle;
pub mod ports;
mod sending;
mod single_flight;
mod state;
mod tabs;
mod timers;

pub use answers::classify_login;
pub use config::CoordinatorConfig;
use errors::RefreshError;
pub use errors::{AuthError, LoginError};
pub use events::{
    AuthEvent, AuthSnapshot, RefreshFailureKind, RefreshReason, SignOutReason, Subscription,
};
use events::{Listeners, SessionHooks};
pub use ports::{ApiRequest, ApiResponse, Body, Method, Runtime, Transport, TransportError};
use sending::Answer;
use state::{SignInState, State};
use tabs::Announce;

struct Inner<T, R, S> {
    transport: T,
    runtime: R,
    tabs: S,
    config: CoordinatorConfig,
    state: RefCell<State>,
    listeners: RefCell<Listeners>,
    session_hooks: RefCell<SessionHooks>,
    next_subscription: Cell<u64>,
}

/// Owns the access token and every refresh. Clone it freely: clones share one state.
pub struct Coordinator<T: Transport, R: Runtime, S: TabSync> {
    inner: Rc<Inner<T, R, S>>,
}

impl<T: Transport, R: Runtime, S: TabSync> Clone for Coordinator<T, R, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Transport, R: Runtime, S: TabSync> fmt::Debug for Coordinator<T, R, S> {
    /// Shows the snapshot, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Coordinator")
            .field(&self.snapshot())
            .finish()
    }
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// A coordinator with no token yet: the first request (or [`Coordinator::restore`]) tries one
    /// refresh, in case the refresh cookie holds a session.
    pub fn new(transport: T, runtime: R, tabs: S, config: CoordinatorConfig) -> Self {
        let state = State {
            token: None,
            user: None,
            version: 0,
            sign_in: SignInState::Unknown,
            refresh: None,
            offline: false,
            backoff_delay_ms: None,
            backoff_generation: 0,
            token_watchers: Vec::new(),
            next_request_id: 0,
            next_refresh_id: 0,
            last_activity_ms: f64::NEG_INFINITY,
            idle_warning: false,
        };
        Self {
            inner: Rc::new(Inner {
                transport,
                runtime,
                tabs,
                config,
                state: RefCell::new(state),
                listeners: RefCell::default(),
                session_hooks: RefCell::default(),
                next_subscription: Cell::new(0),
            }),
        }
    }

    /// Sends a protected request with the current token. On a 401 for that token it waits for the
    /// single shared refresh and retries once; a second 401 is final. Returns 2xx responses only.
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, AuthError> {
        match self.send_at_most_twice(&request).await? {
            Answer::Success(response) => Ok(response),
            Answer::Refused(_, error) => Err(error),
        }
    }

    /// [`Coordinator::execute`] for callers that read error bodies themselves (server functions
    /// decode their own error type): a final non-2xx answer — a 403, a second 401, a 500 — is
    /// handed back as the response. Single flight and retry-once are the same; `Err` means there
    /// is no answer to give: the session is over, or the network failed or timed out.
    pub async fn execute_raw(&self, request: ApiRequest) -> Result<ApiResponse, AuthError> {
        match self.send_at_most_twice(&request).await? {
            Answer::Success(response) | Answer::Refused(response, _) => Ok(response),
        }
    }

    /// [`Coordinator::execute`], then decodes the JSON body ([`AuthError::Decode`] if it does not fit).
    pub async fn execute_json<D: DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<D, AuthError> {
        let response = self.execute(request).await?;
        serde_json::from_str(&response.body).map_err(|e| AuthError::Decode(e.to_string()))
    }

    /// Stores the token from a login (the caller makes the login call itself) and shares it with
    /// the other tabs as [`TabMessage::SignedIn`], which even a signed-out tab adopts.
    ///
    /// In the browser, prefer [`Coordinator::sign_in_with`], which also keeps the login call from
    /// racing a refresh.
    pub fn sign_in(&self, tokens: TokenResponse) {
        let (version, _) = self.install_and_share(tokens, Announce::SignedIn);
        self.go_online();
        self.emit(AuthEvent::SignedIn {
            token_version: version,
        });
    }

    /// Makes the login call `login` (for instance `POST /api/auth/login`, mapped to the login
    /// form's messages) and signs in with the tokens it returns; its error is handed back as is,
    /// and then nothing changes.
    ///
    /// Why not just `login.await` and [`Coordinator::sign_in`]: the login and a refresh both
    /// answer with a `Set-Cookie` for the refresh credential, and the browser applies them in the
    /// order the answers arrive. A refresh still in flight when the user signs in again could
    /// land its (old session's) cookie *after* the login's, and the next refresh would present
    /// the wrong session. So `login` is only polled once the refresh in flight in this tab has
    /// finished (whatever its outcome), and it runs under the cross-tab refresh lock, so a
    /// refresh in another tab cannot overlap it either: one auth call on the wire per browser at
    /// a time. The token is installed and announced before the lock is released, so a refresh
    /// queued behind the login adopts it instead of calling the server.
    pub async fn sign_in_with<E: 'static>(
        &self,
        login: impl Future<Output = Result<TokenResponse, E>> + 'static,
    ) -> Result<User, E> {
        // Another refresh may have started by the time this one's result reaches us: wait until
        // none is in flight.
        while let Some(flight) = self.refresh_in_flight() {
            let _ = flight.await;
        }
        let this = self.clone();
        let locked = async move {
            let tokens = login.await?;
            let user = tokens.user.clone();
            this.sign_in(tokens);
            Ok(user)
        };
        self.inner
            .tabs
            .with_refresh_lock(locked.boxed_local())
            .await
    }

    /// Page load when the server rendered the page for a signed-in `user` (from its own session)
    /// but there is no access token yet: the session counts as active, so the first request or
    /// [`Coordinator::restore`] makes the one refresh, and a refusal ends the session
    /// ([`AuthError::SessionExpired`], the session-ended hook, [`TabMessage::SignedOut`]) instead of
    /// being taken for an anonymous visitor. No event is emitted. Does nothing once a token is
    /// held: that token, and the user it came with, are newer than the page.
    pub fn resume(&self, user: User) {
        let mut state = self.inner.state.borrow_mut();
        if state.token.is_some() {
            return;
        }
        state.user = Some(user);
        state.sign_in = SignInState::SignedIn;
    }

    /// Page load when the server handed the page an access token for its own session (minted as
    /// it rendered the page, for the session cookie: no rotation, no refresh call). The session
    /// is active with that token at once; the proactive refresh is timed from its `expires_in`.
    /// Other tabs are not told: their tokens are as good. Does nothing once a token is held.
    pub fn resume_with_token(&self, tokens: TokenResponse) {
        if self.inner.state.borrow().token.is_some() {
            return;
        }
        let expires_in_ms = tokens.expires_in.saturating_mul(1000);
        let idle = idle::idle_window_of(&tokens);
        let version = self.install(tokens.access_token, expires_in_ms, tokens.user, idle);
        self.emit(AuthEvent::TokenFromPage {
            token_version: version,
        });
    }

    /// Forgets the token and user (after the logout call) and tells the other tabs. The
    /// session-ended hook runs for every reason except [`SignOutReason::User`], whose UI already
    /// knows where to go. A refresh still in flight is discarded when it answers.
    pub fn sign_out(&self, reason: SignOutReason) {
        self.forget();
        self.emit(AuthEvent::SignedOut { reason });
        match reason {
            SignOutReason::OtherTab => {}
            SignOutReason::Idle { after_secs } => {
                self.inner.tabs.publish(TabMessage::IdleTimedOut {
                    timeout_secs: after_secs,
                })
            }
            SignOutReason::User | SignOutReason::SessionExpired => {
                self.inner.tabs.publish(TabMessage::SignedOut);
            }
        }
        if reason != SignOutReason::User {
            self.end_session(reason);
        }
    }

    /// Page load: obtains a token if there is none, through the same single flight as everything
    /// else, so a `restore()` racing several `execute()` calls still makes one refresh call.
    /// Other tabs are asked first ([`TabMessage::TokenWanted`]).
    pub async fn restore(&self) -> Result<(), AuthError> {
        if self.has_valid_token() {
            return Ok(());
        }
        Ok(self.start_or_join(RefreshReason::Restore, None).await?)
    }

    /// For `visibilitychange` and `online`: a sleeping tab's timers may not have fired, so refresh
    /// now if the token is expired or within the margin, or if the last refresh failed.
    /// A tab that slept past the session's idle deadline ends the session instead.
    pub fn catch_up(&self) {
        if self.ended_by_idle_deadline() {
            return;
        }
        if self.catch_up_due() {
            self.refresh_in_background(RefreshReason::CatchUp);
        }
    }
}

fn upgrade<T: Transport, R: Runtime, S: TabSync>(
    weak: &Weak<Inner<T, R, S>>,
) -> Option<Coordinator<T, R, S>> {
    weak.upgrade().map(|inner| Coordinator { inner })
}

#[cfg(test)]
mod tests;
