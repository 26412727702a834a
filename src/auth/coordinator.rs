//! The client-side refresh coordinator: attaches the in-memory access token to API calls and, when
//! the server rejects it, runs ONE refresh that every failing request waits on, then retries once.
//!
//! It fixes the classic interceptor loop (every 401 starting its own refresh, a finished refresh
//! reused forever, retries carrying the old token). It is plain Rust: the HTTP layer, the clock
//! and the other tabs are injected through [`Transport`], [`Runtime`] and [`TabSync`].
//!
//! ```text
//! let auth = Coordinator::new(BrowserTransport, BrowserRuntime, BrowserTabs::new(), CoordinatorConfig::default());
//! auth.on_session_ended(|reason| navigate_to_login(reason));
//! auth.restore().await.ok(); // page load: one refresh call, however many requests start now
//! let items: Vec<Item> = auth.execute_json(ApiRequest::get(paths::ITEMS)).await?;
//! ```

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use futures::future::{self, Either, LocalBoxFuture, Shared};
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::tab_sync::{TabMessage, TabSync};
use crate::api::auth::{codes, ApiErrorBody, TokenResponse, User};

// ---------------------------------------------------------------------------------------------
// Requests and the transport
// ---------------------------------------------------------------------------------------------

/// The HTTP methods the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A protected API call, described as data so the coordinator can send it a second time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    /// Already-serialised JSON, so a retry sends exactly the same bytes.
    pub json_body: Option<String>,
}

impl ApiRequest {
    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            path: path.into(),
            json_body: None,
        }
    }

    /// `POST path` with a JSON body. Serialising up front means a retry cannot serialise differently.
    pub fn post_json(path: impl Into<String>, body: &impl Serialize) -> Result<Self, AuthError> {
        let json = serde_json::to_string(body).map_err(|e| AuthError::Encode(e.to_string()))?;
        Ok(Self {
            method: Method::Post,
            path: path.into(),
            json_body: Some(json),
        })
    }
}

/// What the transport hands back: just the parts the coordinator decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    /// The `WWW-Authenticate` header: on a 401/403 it says *why* (RFC 6750), the status alone does not.
    pub www_authenticate: Option<String>,
    pub body: String,
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A call that produced no HTTP response at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("network error: {0}")]
    Network(String),
    /// The coordinator gave up waiting (see [`CoordinatorConfig::request_timeout_ms`]).
    #[error("timed out")]
    Timeout,
}

/// The HTTP layer: the browser implements it with `fetch`, tests with a fake server.
///
/// It must not retry or refresh by itself: that is the coordinator's whole job.
pub trait Transport: 'static {
    /// Sends `request`, with `Authorization: Bearer <bearer>` when a token is given.
    fn send(
        &self,
        request: &ApiRequest,
        bearer: Option<&str>,
    ) -> impl Future<Output = Result<ApiResponse, TransportError>>;

    /// `POST /api/auth/refresh` with credentials (the HttpOnly cookie) and no body. The
    /// coordinator never feeds this call back into its own retry logic, so it cannot loop.
    fn refresh(&self) -> impl Future<Output = Result<ApiResponse, TransportError>>;
}

/// Clock, timers and task spawning, injected so that tests move time instead of sleeping and so
/// that the same code runs on wasm (no `std::time::Instant` there).
pub trait Runtime: 'static {
    /// Monotonic milliseconds (browser: `performance.now()`). Token expiry is timed with this
    /// from `expires_in` at receipt, so a wrong wall clock cannot break it.
    fn now_ms(&self) -> f64;

    /// Completes after `ms` milliseconds. `'static` so that a timer does not keep its owner alive.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + 'static;

    /// Runs `task` in the background (browser: `spawn_local`). The shared refresh runs this way,
    /// so no single caller can cancel it by dropping its request.
    fn spawn(&self, task: impl Future<Output = ()> + 'static);
}

// ---------------------------------------------------------------------------------------------
// Configuration, errors, events
// ---------------------------------------------------------------------------------------------

/// Timing knobs. All durations in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// Refresh proactively this long before expiry, but never more than a fifth of the token's
    /// lifetime (so a 30 s token is refreshed after 24 s, a 15 min token 10 s before it expires).
    /// Tokens shorter than one second are only refreshed on demand, never on a timer.
    pub refresh_margin_ms: u64,
    /// Give up on an API request after this long ([`AuthError::Transient`]).
    pub request_timeout_ms: u64,
    /// Give up on a refresh call after this long (counts as a transient failure).
    pub refresh_timeout_ms: u64,
    /// First delay before retrying a refresh that failed transiently; doubled on each failure.
    pub backoff_initial_ms: u64,
    /// Upper bound of that delay.
    pub backoff_max_ms: u64,
    /// How long a newly opened tab waits for another tab to answer [`TabMessage::TokenWanted`]
    /// before refreshing itself (only when [`TabSync::reaches_other_tabs`]).
    pub tab_answer_wait_ms: u64,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            refresh_margin_ms: 10_000,
            request_timeout_ms: 15_000,
            refresh_timeout_ms: 10_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 30_000,
            tab_answer_wait_ms: 150,
        }
    }
}

/// Why a protected call failed, sorted by what the UI should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No session, or the token was rejected again after a refresh: show the login page.
    #[error("not signed in")]
    Unauthorized,
    /// The token is fine but lacks a role (403 `insufficient_scope`): refreshing cannot help.
    #[error("you do not have access to this")]
    Forbidden,
    /// The server refused the refresh (`invalid_grant`): the session is over.
    #[error("your session has expired")]
    SessionExpired,
    /// Network error, timeout or 5xx: worth retrying later; the session is kept.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Any other non-2xx answer, with the API's error code and message when the body had them.
    #[error("request failed with HTTP {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Http {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// A 2xx body that did not match the expected type.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// A request body that could not be serialised.
    #[error("could not encode the request: {0}")]
    Encode(String),
}

/// Why a refresh started; shown by the UI inspector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason {
    /// A request got a 401 for the current token.
    Unauthorized,
    /// The timer shortly before expiry.
    Proactive,
    /// Page load, or the first request without a token.
    Restore,
    /// The tab became visible or the network came back ([`Coordinator::catch_up`]).
    CatchUp,
    /// A request was about to carry a token the clock says has expired.
    Expired,
    /// The background retry after a transient failure.
    Backoff,
}

/// How a refresh failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshFailureKind {
    /// Refused, or the session was ended (here or in another tab) while the refresh was under
    /// way: signed out.
    SessionExpired,
    /// Refused, but there was no session to lose (an anonymous visitor).
    NoSession,
    /// Network, timeout, 5xx: the session is kept and the refresh retried in the background.
    Transient,
}

/// Why the session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOutReason {
    /// The user logged out in this tab.
    User,
    /// The server refused to refresh.
    SessionExpired,
    /// Another tab signed out or saw its session expire.
    OtherTab,
}

/// Everything the coordinator does, as a stream for the UI inspector. Request and refresh ids
/// let the UI draw which requests one refresh served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthEvent {
    RequestSent {
        request_id: u64,
        path: String,
        token_version: u64,
        retry: bool,
    },
    Responded {
        request_id: u64,
        status: u16,
    },
    /// The request got no response (network error or timeout).
    RequestFailed {
        request_id: u64,
        error: String,
    },
    /// A 401 for the token the request carried: on a first attempt it leads to the retry, on the
    /// retry it is final.
    Unauthorized {
        request_id: u64,
        token_version: u64,
    },
    RefreshStarted {
        refresh_id: u64,
        reason: RefreshReason,
    },
    /// A request now waits for this refresh (the one that started it too).
    WaiterJoined {
        request_id: u64,
        refresh_id: u64,
    },
    RefreshSucceeded {
        refresh_id: u64,
        token_version: u64,
        expires_in_ms: u64,
        /// The request ids that waited for it.
        waiters: Vec<u64>,
        /// The token had already been replaced while this refresh waited for the cross-tab lock
        /// (another tab refreshed, or a sign-in happened), so no refresh call was made.
        adopted: bool,
    },
    RefreshFailed {
        refresh_id: u64,
        kind: RefreshFailureKind,
        waiters: Vec<u64>,
    },
    /// The request is sent a second (and last) time.
    Retried {
        request_id: u64,
        /// Whether it waited for a refresh, or the token had already been replaced.
        with_refresh: bool,
    },
    TokenFromOtherTab {
        token_version: u64,
    },
    SignedIn {
        token_version: u64,
    },
    SignedOut {
        reason: SignOutReason,
    },
    /// A refresh failed transiently; the next attempt is in `retry_in_ms`.
    Offline {
        retry_in_ms: u64,
    },
    Online,
}

/// A read-only view of the state, for the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthSnapshot {
    pub user: Option<User>,
    /// Bumped every time the token changes (or is forgotten).
    pub token_version: u64,
    /// On the [`Runtime::now_ms`] clock.
    pub token_expires_at_ms: Option<f64>,
    pub refreshing: bool,
    /// The last refresh failed transiently; a background retry is scheduled.
    pub offline: bool,
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Tokens shorter-lived than this get no proactive timer, which could otherwise spin.
const MIN_PROACTIVE_LIFETIME_MS: u64 = 1_000;

/// The access token lives here and nowhere else: not in storage, not in a cookie.
struct Token {
    access: String,
    lifetime_ms: u64,
    expires_at_ms: f64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Session {
    /// Page load: the HttpOnly cookie may or may not hold a session; one refresh will tell.
    Unknown,
    Active,
    /// Signed out or refused: requests fail at once, without network.
    Absent,
}

/// What waiters of a refresh learn. `Clone` because every waiter gets a copy.
#[derive(Clone, Debug)]
enum RefreshError {
    SessionExpired,
    NoSession,
    Transient(String),
}

impl From<RefreshError> for AuthError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::SessionExpired => AuthError::SessionExpired,
            RefreshError::NoSession => AuthError::Unauthorized,
            RefreshError::Transient(message) => AuthError::Transient(message),
        }
    }
}

type SharedRefresh = Shared<LocalBoxFuture<'static, Result<(), RefreshError>>>;

/// The one refresh in flight. A fresh slot is made for each refresh and dropped when it ends, so
/// a finished refresh is never handed to a later failure.
struct InFlight {
    id: u64,
    result: SharedRefresh,
    waiters: Vec<u64>,
}

struct State {
    token: Option<Token>,
    user: Option<User>,
    version: u64,
    session: Session,
    refresh: Option<InFlight>,
    offline: bool,
    backoff_delay_ms: Option<u64>,
    /// Bumped to invalidate a scheduled background retry.
    backoff_generation: u64,
    /// Woken when a token is installed (a new tab waiting for another tab's answer).
    token_watchers: Vec<oneshot::Sender<()>>,
    next_request_id: u64,
    next_refresh_id: u64,
}

/// A token as a request carries it.
struct Credentials {
    token: String,
    version: u64,
}

impl Token {
    /// This token, as a request carries it; `version` is the state's version for it.
    fn credentials(&self, version: u64) -> Credentials {
        Credentials {
            token: self.access.clone(),
            version,
        }
    }
}

/// What a refresh attempt did, decided while holding the cross-tab lock.
enum Attempt {
    Refreshed {
        version: u64,
        expires_in_ms: u64,
    },
    Adopted {
        version: u64,
        expires_in_ms: u64,
    },
    Refused {
        had_session: bool,
    },
    /// The session was signed out (in this tab or another) since the refresh was decided.
    EndedElsewhere,
    Transient(String),
}

/// How a response is handled.
enum Verdict {
    Success(ApiResponse),
    TokenRejected,
    Fail(AuthError),
}

/// The next step towards a token to send.
enum Plan {
    Send(Credentials),
    /// Wait for the refresh in flight (it already has a reason), then take the token it brought.
    Join,
    /// Start a refresh for this reason (or join one), then take the token it brought.
    Refresh(RefreshReason),
    Reject,
}

type Listener = Rc<dyn Fn(&AuthEvent)>;
type SessionHook = Rc<dyn Fn(SignOutReason)>;

struct Inner<T, R, S> {
    transport: T,
    runtime: R,
    tabs: S,
    config: CoordinatorConfig,
    state: RefCell<State>,
    listeners: RefCell<Vec<Listener>>,
    session_hooks: RefCell<Vec<SessionHook>>,
}

// ---------------------------------------------------------------------------------------------
// The coordinator
// ---------------------------------------------------------------------------------------------

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
            session: Session::Unknown,
            refresh: None,
            offline: false,
            backoff_delay_ms: None,
            backoff_generation: 0,
            token_watchers: Vec::new(),
            next_request_id: 0,
            next_refresh_id: 0,
        };
        Self {
            inner: Rc::new(Inner {
                transport,
                runtime,
                tabs,
                config,
                state: RefCell::new(state),
                listeners: RefCell::new(Vec::new()),
                session_hooks: RefCell::new(Vec::new()),
            }),
        }
    }

    /// Sends a protected request with the current token. On a 401 for that token it waits for the
    /// single shared refresh and retries once; a second 401 is final. Returns 2xx responses only.
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, AuthError> {
        let request_id = self.next_request_id();
        let first = self.credentials_to_send(request_id).await?;
        match self.send(request_id, &request, &first, false).await? {
            Verdict::Success(response) => return Ok(response),
            Verdict::Fail(error) => return Err(error),
            Verdict::TokenRejected => {}
        }
        let (second, with_refresh) = self
            .credentials_after_401(request_id, first.version)
            .await?;
        self.emit(AuthEvent::Retried {
            request_id,
            with_refresh,
        });
        match self.send(request_id, &request, &second, true).await? {
            Verdict::Success(response) => Ok(response),
            Verdict::Fail(error) => Err(error),
            Verdict::TokenRejected => Err(AuthError::Unauthorized),
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
        state.session = Session::Active;
    }

    /// Forgets the token and user (after the logout call) and tells the other tabs. The
    /// session-ended hook runs for every reason except [`SignOutReason::User`], whose UI already
    /// knows where to go. A refresh still in flight is discarded when it answers.
    pub fn sign_out(&self, reason: SignOutReason) {
        self.forget();
        self.emit(AuthEvent::SignedOut { reason });
        if reason != SignOutReason::OtherTab {
            self.inner.tabs.publish(TabMessage::SignedOut);
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
    pub fn catch_up(&self) {
        if self.catch_up_due() {
            self.refresh_in_background(RefreshReason::CatchUp);
        }
    }

    /// Adds a listener to the event stream. Listeners run synchronously and may call back into
    /// the coordinator.
    pub fn subscribe(&self, listener: impl Fn(&AuthEvent) + 'static) {
        self.inner.listeners.borrow_mut().push(Rc::new(listener));
    }

    /// Called once when a session ends without the user asking (refresh refused, another tab
    /// signed out); the UI typically navigates to `/login?next=...`.
    pub fn on_session_ended(&self, hook: impl Fn(SignOutReason) + 'static) {
        self.inner.session_hooks.borrow_mut().push(Rc::new(hook));
    }

    /// The current state, without the token.
    pub fn snapshot(&self) -> AuthSnapshot {
        let state = self.inner.state.borrow();
        AuthSnapshot {
            user: state.user.clone(),
            token_version: state.version,
            token_expires_at_ms: state.token.as_ref().map(|t| t.expires_at_ms),
            refreshing: state.refresh.is_some(),
            offline: state.offline,
        }
    }

    /// Feed messages from the other tabs here.
    ///
    /// A tab that is signed out (here, in another tab, or by a refused refresh) ignores
    /// [`TabMessage::TokenRefreshed`]: such a token was obtained for the session that just ended
    /// (a refresh or an answer to [`TabMessage::TokenWanted`] that crossed the
    /// [`TabMessage::SignedOut`]), and adopting it would bring the user back. Only a new login,
    /// [`TabMessage::SignedIn`], signs a signed-out tab in again.
    pub fn on_tab_message(&self, message: TabMessage) {
        match message {
            TabMessage::TokenRefreshed {
                access_token,
                expires_in_ms,
                user,
            } => {
                if self.inner.state.borrow().session != Session::Absent {
                    self.adopt_from_other_tab(access_token, expires_in_ms, user);
                }
            }
            TabMessage::SignedIn {
                access_token,
                expires_in_ms,
                user,
            } => self.adopt_from_other_tab(access_token, expires_in_ms, user),
            TabMessage::SignedOut => self.signed_out_elsewhere(),
            TabMessage::TokenWanted => self.answer_token_wanted(),
        }
    }

    // --- sending -------------------------------------------------------------------------------

    fn next_request_id(&self) -> u64 {
        let mut state = self.inner.state.borrow_mut();
        state.next_request_id += 1;
        state.next_request_id
    }

    /// The token for a first attempt: waits for a refresh in flight rather than sending a token
    /// that is being replaced, and gets one first when there is none.
    async fn credentials_to_send(&self, request_id: u64) -> Result<Credentials, AuthError> {
        let plan = {
            let state = self.inner.state.borrow();
            let now = self.inner.runtime.now_ms();
            match (&state.refresh, &state.token, state.session) {
                (Some(_), _, _) => Plan::Join,
                (None, Some(token), _) if now >= token.expires_at_ms => {
                    Plan::Refresh(RefreshReason::Expired)
                }
                (None, Some(token), _) => Plan::Send(token.credentials(state.version)),
                (None, None, Session::Absent) => Plan::Reject,
                (None, None, _) => Plan::Refresh(RefreshReason::Restore),
            }
        };
        self.follow(plan, request_id).await.map(|(c, _)| c)
    }

    /// The token for the retry after a 401 for `failed_version`: the current one if it was
    /// replaced meanwhile, otherwise whatever the (single) refresh brings. The flag says whether
    /// the request waited for a refresh.
    async fn credentials_after_401(
        &self,
        request_id: u64,
        failed_version: u64,
    ) -> Result<(Credentials, bool), AuthError> {
        let plan = {
            let state = self.inner.state.borrow();
            match (&state.refresh, &state.token, state.session) {
                (Some(_), _, _) => Plan::Join,
                (None, Some(token), _) if state.version != failed_version => {
                    Plan::Send(token.credentials(state.version))
                }
                (None, None, Session::Absent) => Plan::Reject,
                (None, _, _) => Plan::Refresh(RefreshReason::Unauthorized),
            }
        };
        self.follow(plan, request_id).await
    }

    /// Carries out a [`Plan`]; the flag says whether it waited for a refresh.
    async fn follow(&self, plan: Plan, request_id: u64) -> Result<(Credentials, bool), AuthError> {
        match plan {
            Plan::Send(credentials) => return Ok((credentials, false)),
            Plan::Reject => return Err(AuthError::Unauthorized),
            // The plan is followed in the poll that made it, so the flight is still there; were
            // it over, its outcome would already be in the state, which is read below.
            Plan::Join => {
                if let Some(flight) = self.join(request_id) {
                    flight.await?;
                }
            }
            Plan::Refresh(reason) => self.start_or_join(reason, Some(request_id)).await?,
        }
        let credentials = self.current_credentials().ok_or(AuthError::Unauthorized)?;
        Ok((credentials, true))
    }

    fn current_credentials(&self) -> Option<Credentials> {
        let state = self.inner.state.borrow();
        state
            .token
            .as_ref()
            .map(|token| token.credentials(state.version))
    }

    /// One transport call, with a timeout and events, classified.
    async fn send(
        &self,
        request_id: u64,
        request: &ApiRequest,
        credentials: &Credentials,
        retry: bool,
    ) -> Result<Verdict, AuthError> {
        self.emit(AuthEvent::RequestSent {
            request_id,
            path: request.path.clone(),
            token_version: credentials.version,
            retry,
        });
        let call = self
            .inner
            .transport
            .send(request, Some(credentials.token.as_str()));
        let outcome = self
            .with_timeout(call, self.inner.config.request_timeout_ms)
            .await;
        match outcome {
            Ok(response) => {
                self.emit(AuthEvent::Responded {
                    request_id,
                    status: response.status,
                });
                let verdict = classify_response(response);
                if matches!(verdict, Verdict::TokenRejected) {
                    self.emit(AuthEvent::Unauthorized {
                        request_id,
                        token_version: credentials.version,
                    });
                }
                Ok(verdict)
            }
            Err(error) => {
                self.emit(AuthEvent::RequestFailed {
                    request_id,
                    error: error.to_string(),
                });
                Err(AuthError::Transient(error.to_string()))
            }
        }
    }

    async fn with_timeout(
        &self,
        call: impl Future<Output = Result<ApiResponse, TransportError>>,
        timeout_ms: u64,
    ) -> Result<ApiResponse, TransportError> {
        let timer = self.inner.runtime.sleep(timeout_ms);
        match future::select(pin!(call), pin!(timer)).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(((), _)) => Err(TransportError::Timeout),
        }
    }

    // --- the single flight ---------------------------------------------------------------------

    /// The heart of the fix: at most one refresh at a time, run as a spawned task whose result
    /// every waiter shares.
    fn start_or_join(&self, reason: RefreshReason, request_id: Option<u64>) -> SharedRefresh {
        let joined = match request_id {
            Some(request_id) => self.join(request_id),
            None => self.refresh_in_flight(),
        };
        joined.unwrap_or_else(|| self.start(reason, request_id))
    }

    /// The refresh in flight, if any, without becoming one of its waiters.
    fn refresh_in_flight(&self) -> Option<SharedRefresh> {
        let state = self.inner.state.borrow();
        state.refresh.as_ref().map(|flight| flight.result.clone())
    }

    /// Makes `request_id` a waiter of the refresh in flight, if there is one.
    fn join(&self, request_id: u64) -> Option<SharedRefresh> {
        let (result, refresh_id) = {
            let mut state = self.inner.state.borrow_mut();
            let flight = state.refresh.as_mut()?;
            flight.waiters.push(request_id);
            (flight.result.clone(), flight.id)
        };
        self.emit(AuthEvent::WaiterJoined {
            request_id,
            refresh_id,
        });
        Some(result)
    }

    /// Spawns a new refresh (none is in flight); `request_id`, if any, is its first waiter.
    fn start(&self, reason: RefreshReason, request_id: Option<u64>) -> SharedRefresh {
        let (sender, receiver) = oneshot::channel();
        let result = receiver
            .map(|received| {
                received.unwrap_or_else(|_| {
                    Err(RefreshError::Transient("the refresh was abandoned".into()))
                })
            })
            .boxed_local()
            .shared();
        let (refresh_id, seen_version) = {
            let mut state = self.inner.state.borrow_mut();
            debug_assert!(state.refresh.is_none(), "one refresh at a time");
            state.next_refresh_id += 1;
            let id = state.next_refresh_id;
            state.refresh = Some(InFlight {
                id,
                result: result.clone(),
                waiters: request_id.into_iter().collect(),
            });
            (id, state.version)
        };
        self.emit(AuthEvent::RefreshStarted { refresh_id, reason });
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            let outcome = this.run_refresh(refresh_id, reason, seen_version).await;
            // Nobody listening (every caller gave up) is fine: the state is updated anyway.
            let _ = sender.send(outcome);
        });
        if let Some(request_id) = request_id {
            self.emit(AuthEvent::WaiterJoined {
                request_id,
                refresh_id,
            });
        }
        result
    }

    /// Starts (or joins) the refresh without waiting for it: the spawned task runs whether or not
    /// anyone polls the shared result.
    fn refresh_in_background(&self, reason: RefreshReason) {
        drop(self.start_or_join(reason, None));
    }

    /// The spawned refresh task: ask other tabs (at page load), take the cross-tab lock, refresh,
    /// then free the slot and report.
    async fn run_refresh(
        &self,
        refresh_id: u64,
        reason: RefreshReason,
        seen_version: u64,
    ) -> Result<(), RefreshError> {
        if reason == RefreshReason::Restore && self.inner.tabs.reaches_other_tabs() {
            self.ask_other_tabs().await;
        }
        let this = self.clone();
        let attempt = self
            .inner
            .tabs
            .with_refresh_lock(
                async move { this.attempt_under_lock(seen_version).await }.boxed_local(),
            )
            .await;
        let waiters = self
            .inner
            .state
            .borrow_mut()
            .refresh
            .take()
            .map(|flight| flight.waiters)
            .unwrap_or_default();
        self.report(refresh_id, attempt, waiters)
    }

    /// Holding the lock: adopt a token another tab obtained since we decided to refresh, or
    /// refresh and broadcast the result before the lock is released.
    ///
    /// The session may change while the call is out (signed out here or in another tab, or
    /// signed in anew): then its answer, whatever it is, is stale and dropped. Nothing is
    /// installed or broadcast; the waiters take the newer token, or fail with
    /// [`AuthError::SessionExpired`] if the session is gone.
    async fn attempt_under_lock(&self, seen_version: u64) -> Attempt {
        if let Some(attempt) = self.changed_since(seen_version) {
            return attempt;
        }
        let call = self.inner.transport.refresh();
        let answer = self
            .with_timeout(call, self.inner.config.refresh_timeout_ms)
            .await;
        if let Some(attempt) = self.changed_since(seen_version) {
            return attempt;
        }
        match classify_refresh(answer) {
            Ok(tokens) => {
                let (version, expires_in_ms) = self.install_and_share(tokens, Announce::Refreshed);
                Attempt::Refreshed {
                    version,
                    expires_in_ms,
                }
            }
            Err(RefreshError::Transient(message)) => Attempt::Transient(message),
            Err(_) => {
                let had_session = self.forget();
                if had_session {
                    self.inner.tabs.publish(TabMessage::SignedOut);
                }
                Attempt::Refused { had_session }
            }
        }
    }

    /// What to do instead of refreshing when the token changed since `seen_version`: adopt the
    /// newer token, or give up if the session ended (only a sign-out forgets the token).
    fn changed_since(&self, seen_version: u64) -> Option<Attempt> {
        let state = self.inner.state.borrow();
        if state.version == seen_version {
            return None;
        }
        Some(match &state.token {
            Some(token) => Attempt::Adopted {
                version: state.version,
                expires_in_ms: remaining_ms(token, self.inner.runtime.now_ms()),
            },
            None => Attempt::EndedElsewhere,
        })
    }

    /// Emits the outcome, schedules what follows, and turns it into the waiters' result.
    fn report(
        &self,
        refresh_id: u64,
        attempt: Attempt,
        waiters: Vec<u64>,
    ) -> Result<(), RefreshError> {
        let failed = |kind| AuthEvent::RefreshFailed {
            refresh_id,
            kind,
            waiters: waiters.clone(),
        };
        match attempt {
            Attempt::Refreshed {
                version,
                expires_in_ms,
            }
            | Attempt::Adopted {
                version,
                expires_in_ms,
            } => {
                self.emit(AuthEvent::RefreshSucceeded {
                    refresh_id,
                    token_version: version,
                    expires_in_ms,
                    adopted: matches!(attempt, Attempt::Adopted { .. }),
                    waiters,
                });
                self.go_online();
                Ok(())
            }
            Attempt::Refused { had_session: true } => {
                self.emit(failed(RefreshFailureKind::SessionExpired));
                self.emit(AuthEvent::SignedOut {
                    reason: SignOutReason::SessionExpired,
                });
                self.end_session(SignOutReason::SessionExpired);
                Err(RefreshError::SessionExpired)
            }
            Attempt::Refused { had_session: false } => {
                self.emit(failed(RefreshFailureKind::NoSession));
                Err(RefreshError::NoSession)
            }
            Attempt::EndedElsewhere => {
                self.emit(failed(RefreshFailureKind::SessionExpired));
                Err(RefreshError::SessionExpired)
            }
            Attempt::Transient(message) => {
                self.emit(failed(RefreshFailureKind::Transient));
                let retry_in_ms = self.schedule_backoff();
                self.emit(AuthEvent::Offline { retry_in_ms });
                Err(RefreshError::Transient(message))
            }
        }
    }

    /// A new tab: broadcast [`TabMessage::TokenWanted`] and give the others a moment to answer.
    async fn ask_other_tabs(&self) {
        let (sender, answered) = oneshot::channel();
        self.inner.state.borrow_mut().token_watchers.push(sender);
        self.inner.tabs.publish(TabMessage::TokenWanted);
        let timer = self
            .inner
            .runtime
            .sleep(self.inner.config.tab_answer_wait_ms);
        future::select(answered, pin!(timer)).await;
    }

    // --- token state ---------------------------------------------------------------------------

    /// Installs a token the server issued (login or refresh) and shares it with the other tabs.
    /// Returns its version and lifetime.
    fn install_and_share(&self, tokens: TokenResponse, announce: Announce) -> (u64, u64) {
        let expires_in_ms = tokens.expires_in.saturating_mul(1000);
        let message = announce.message(&tokens.access_token, expires_in_ms, &tokens.user);
        let version = self.install(tokens.access_token, expires_in_ms, tokens.user);
        self.inner.tabs.publish(message);
        (version, expires_in_ms)
    }

    /// Replaces the token (bumping its version) and schedules its proactive refresh.
    fn install(&self, access: String, lifetime_ms: u64, user: User) -> u64 {
        let now = self.inner.runtime.now_ms();
        let (version, watchers) = {
            let mut state = self.inner.state.borrow_mut();
            state.version += 1;
            state.token = Some(Token {
                access,
                lifetime_ms,
                expires_at_ms: now + lifetime_ms as f64,
            });
            state.user = Some(user);
            state.session = Session::Active;
            (state.version, std::mem::take(&mut state.token_watchers))
        };
        for watcher in watchers {
            let _ = watcher.send(());
        }
        self.schedule_proactive(version, lifetime_ms);
        version
    }

    /// Forgets token and user; returns whether there was a session to forget.
    fn forget(&self) -> bool {
        let mut state = self.inner.state.borrow_mut();
        let had_session = state.token.is_some() || state.user.is_some();
        state.token = None;
        state.user = None;
        state.version += 1;
        state.session = Session::Absent;
        state.offline = false;
        state.backoff_delay_ms = None;
        state.backoff_generation += 1;
        had_session
    }

    fn has_valid_token(&self) -> bool {
        let state = self.inner.state.borrow();
        let now = self.inner.runtime.now_ms();
        state.token.as_ref().is_some_and(|t| now < t.expires_at_ms)
    }

    /// Refresh this long before expiry: the configured margin, at most a fifth of the lifetime.
    fn margin_ms(&self, lifetime_ms: u64) -> u64 {
        self.inner.config.refresh_margin_ms.min(lifetime_ms / 5)
    }

    fn schedule_proactive(&self, version: u64, lifetime_ms: u64) {
        if lifetime_ms < MIN_PROACTIVE_LIFETIME_MS {
            return;
        }
        let timer = self
            .inner
            .runtime
            .sleep(lifetime_ms - self.margin_ms(lifetime_ms));
        let coordinator = Rc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            timer.await;
            if let Some(this) = upgrade(&coordinator) {
                this.proactive_timer_fired(version);
            }
        });
    }

    /// A stale timer (the token changed since it was set) does nothing.
    fn proactive_timer_fired(&self, version: u64) {
        let due = {
            let state = self.inner.state.borrow();
            state.version == version && state.refresh.is_none()
        };
        if due {
            self.refresh_in_background(RefreshReason::Proactive);
        }
    }

    fn catch_up_due(&self) -> bool {
        let state = self.inner.state.borrow();
        if state.session == Session::Absent || state.refresh.is_some() {
            return false;
        }
        let now = self.inner.runtime.now_ms();
        match &state.token {
            Some(token) => {
                let margin = self.margin_ms(token.lifetime_ms) as f64;
                state.offline || now >= token.expires_at_ms - margin
            }
            None => state.offline,
        }
    }

    // --- transient failures --------------------------------------------------------------------

    /// Marks the session offline and schedules one background retry; returns its delay.
    fn schedule_backoff(&self) -> u64 {
        let config = &self.inner.config;
        let (delay_ms, generation) = {
            let mut state = self.inner.state.borrow_mut();
            let delay_ms = match state.backoff_delay_ms {
                None => config.backoff_initial_ms,
                Some(previous) => previous.saturating_mul(2).min(config.backoff_max_ms),
            };
            state.offline = true;
            state.backoff_delay_ms = Some(delay_ms);
            state.backoff_generation += 1;
            (delay_ms, state.backoff_generation)
        };
        let timer = self.inner.runtime.sleep(delay_ms);
        let coordinator = Rc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            timer.await;
            if let Some(this) = upgrade(&coordinator) {
                this.backoff_timer_fired(generation);
            }
        });
        delay_ms
    }

    fn backoff_timer_fired(&self, generation: u64) {
        let due = {
            let state = self.inner.state.borrow();
            state.backoff_generation == generation
                && state.offline
                && state.refresh.is_none()
                && state.session != Session::Absent
        };
        if due {
            self.refresh_in_background(RefreshReason::Backoff);
        }
    }

    fn go_online(&self) {
        let was_offline = {
            let mut state = self.inner.state.borrow_mut();
            state.backoff_delay_ms = None;
            state.backoff_generation += 1;
            std::mem::replace(&mut state.offline, false)
        };
        if was_offline {
            self.emit(AuthEvent::Online);
        }
    }

    // --- other tabs ----------------------------------------------------------------------------

    /// Takes another tab's token unless it is ours or ours outlives it (an old tab may answer a
    /// [`TabMessage::TokenWanted`] late).
    fn adopt_from_other_tab(&self, access: String, expires_in_ms: u64, user: User) {
        let worth_taking = {
            let state = self.inner.state.borrow();
            let expires_at_ms = self.inner.runtime.now_ms() + expires_in_ms as f64;
            state
                .token
                .as_ref()
                .is_none_or(|ours| ours.access != access && expires_at_ms >= ours.expires_at_ms)
        };
        if !worth_taking {
            return;
        }
        let version = self.install(access, expires_in_ms, user);
        self.go_online();
        self.emit(AuthEvent::TokenFromOtherTab {
            token_version: version,
        });
    }

    fn signed_out_elsewhere(&self) {
        if self.forget() {
            self.emit(AuthEvent::SignedOut {
                reason: SignOutReason::OtherTab,
            });
            self.end_session(SignOutReason::OtherTab);
        }
    }

    fn answer_token_wanted(&self) {
        let answer = {
            let state = self.inner.state.borrow();
            let now = self.inner.runtime.now_ms();
            match (&state.token, &state.user) {
                (Some(token), Some(user)) if now < token.expires_at_ms => {
                    Some(Announce::Refreshed.message(&token.access, remaining_ms(token, now), user))
                }
                _ => None,
            }
        };
        if let Some(message) = answer {
            self.inner.tabs.publish(message);
        }
    }

    // --- listeners -----------------------------------------------------------------------------

    /// Calls the listeners on a copy of the list, so a listener may subscribe or read the state.
    fn emit(&self, event: AuthEvent) {
        let listeners: Vec<Listener> = self.inner.listeners.borrow().clone();
        for listener in listeners {
            listener(&event);
        }
    }

    fn end_session(&self, reason: SignOutReason) {
        let hooks: Vec<SessionHook> = self.inner.session_hooks.borrow().clone();
        for hook in hooks {
            hook(reason);
        }
    }
}

fn upgrade<T: Transport, R: Runtime, S: TabSync>(
    weak: &Weak<Inner<T, R, S>>,
) -> Option<Coordinator<T, R, S>> {
    weak.upgrade().map(|inner| Coordinator { inner })
}

/// How a token is announced to the other tabs: a signed-out tab adopts only a new login.
#[derive(Clone, Copy)]
enum Announce {
    /// [`TabMessage::SignedIn`]: a login.
    SignedIn,
    /// [`TabMessage::TokenRefreshed`]: a refresh, or the answer to [`TabMessage::TokenWanted`].
    Refreshed,
}

impl Announce {
    /// The [`TabMessage`] that shares this token with the other tabs.
    fn message(self, access: &str, expires_in_ms: u64, user: &User) -> TabMessage {
        let (access_token, user) = (access.to_owned(), user.clone());
        match self {
            Announce::SignedIn => TabMessage::SignedIn {
                access_token,
                expires_in_ms,
                user,
            },
            Announce::Refreshed => TabMessage::TokenRefreshed {
                access_token,
                expires_in_ms,
                user,
            },
        }
    }
}

fn remaining_ms(token: &Token, now_ms: f64) -> u64 {
    // Float to int casts saturate; a negative remainder becomes 0.
    (token.expires_at_ms - now_ms).max(0.0) as u64
}

// ---------------------------------------------------------------------------------------------
// Reading the server's answers
// ---------------------------------------------------------------------------------------------

/// Sorts an API response. The `WWW-Authenticate` challenge decides, not the status alone:
///
/// * 401 with `error="invalid_token"`: refresh and retry.
/// * 401 with no error code: RFC 6750 means "no credentials were sent", but the coordinator
///   always sends one, so a proxy or a lax server dropped it. Treated like `invalid_token`:
///   the single retry bounds it, so it cannot loop.
/// * 401 with another code (`invalid_request`): an ordinary [`AuthError::Http`].
/// * 403 with `insufficient_scope` (in the challenge or the body): [`AuthError::Forbidden`],
///   never a refresh — a new token carries the same roles.
fn classify_response(response: ApiResponse) -> Verdict {
    if response.is_success() {
        return Verdict::Success(response);
    }
    let challenge = response
        .www_authenticate
        .as_deref()
        .and_then(parse_bearer_challenge);
    let challenge_error = challenge.as_ref().and_then(|c| c.error.as_deref());
    let body: Option<ApiErrorBody> = serde_json::from_str(&response.body).ok();
    let body_code = body.as_ref().map(|b| b.error.as_str());
    match response.status {
        401 if challenge_error.is_none_or(|e| e == codes::INVALID_TOKEN) => Verdict::TokenRejected,
        403 if challenge_error == Some(codes::INSUFFICIENT_SCOPE)
            || body_code == Some(codes::INSUFFICIENT_SCOPE) =>
        {
            Verdict::Fail(AuthError::Forbidden)
        }
        status @ 500..=599 => Verdict::Fail(AuthError::Transient(format!(
            "HTTP {status}{}",
            body.map(|b| format!(": {}", b.message)).unwrap_or_default()
        ))),
        status => Verdict::Fail(AuthError::Http {
            status,
            code: body
                .as_ref()
                .map(|b| b.error.clone())
                .or_else(|| challenge.as_ref().and_then(|c| c.error.clone())),
            message: body
                .map(|b| b.message)
                .or_else(|| challenge.and_then(|c| c.description)),
        }),
    }
}

/// Sorts a refresh answer: 2xx with a token; 400/401 (`invalid_grant`) refused; anything else
/// (5xx, network, timeout, a garbled body) transient, so a flaky network never signs anyone out.
fn classify_refresh(
    answer: Result<ApiResponse, TransportError>,
) -> Result<TokenResponse, RefreshError> {
    let response = answer.map_err(|e| RefreshError::Transient(e.to_string()))?;
    match response.status {
        200..=299 => serde_json::from_str(&response.body)
            .map_err(|e| RefreshError::Transient(format!("unreadable refresh response: {e}"))),
        400 | 401 => Err(RefreshError::SessionExpired),
        status => Err(RefreshError::Transient(format!(
            "refresh answered HTTP {status}"
        ))),
    }
}

/// The parts of a `Bearer` challenge the coordinator uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct BearerChallenge {
    error: Option<String>,
    description: Option<String>,
}

/// Finds the `Bearer` challenge in a `WWW-Authenticate` value (which may list several schemes),
/// with case-insensitive scheme and parameter names and quoted values with `\` escapes.
fn parse_bearer_challenge(header: &str) -> Option<BearerChallenge> {
    let mut lexer = Lexer {
        rest: header.chars().peekable(),
    };
    let mut bearer: Option<BearerChallenge> = None;
    while let Some(word) = lexer.next_word() {
        if lexer.eat('=') {
            let value = lexer.value();
            if let Some(challenge) = bearer.as_mut() {
                match word.to_ascii_lowercase().as_str() {
                    "error" => challenge.error = Some(value),
                    "error_description" => challenge.description = Some(value),
                    _ => {}
                }
            }
        } else if bearer.is_some() {
            break; // A word without `=` starts the next challenge: the Bearer one is complete.
        } else if word.eq_ignore_ascii_case("bearer") {
            bearer = Some(BearerChallenge::default());
        }
    }
    bearer
}

struct Lexer<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Lexer<'_> {
    fn skip_separators(&mut self) {
        while self
            .rest
            .next_if(|c| c.is_whitespace() || *c == ',')
            .is_some()
        {}
    }

    /// A token (scheme or parameter name), or `None` at the end.
    fn next_word(&mut self) -> Option<String> {
        loop {
            self.skip_separators();
            let word = self.take_while(|c| !c.is_whitespace() && c != ',' && c != '=' && c != '"');
            if !word.is_empty() {
                return Some(word);
            }
            // Skip a stray character (`=` or `"`) so malformed input cannot stall the loop.
            self.rest.next()?;
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        while self.rest.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        self.rest.next_if_eq(&expected).is_some()
    }

    /// A parameter value: a quoted string or a bare token.
    fn value(&mut self) -> String {
        while self.rest.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if self.rest.next_if_eq(&'"').is_none() {
            return self.take_while(|c| !c.is_whitespace() && c != ',');
        }
        let mut value = String::new();
        while let Some(c) = self.rest.next() {
            match c {
                '"' => break,
                '\\' => value.extend(self.rest.next()),
                c => value.push(c),
            }
        }
        value
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut taken = String::new();
        while let Some(c) = self.rest.next_if(|c| keep(*c)) {
            taken.push(c);
        }
        taken
    }
}

#[cfg(test)]
mod tests;
