//! The event stream (for inspectors and logs) and the read-only snapshot: everything the coordinator
//! does is told here, so UI state never has to live inside the coordinator or the auth context.

use std::{fmt, rc::Rc};

use super::{Coordinator, Runtime, Transport};
use crate::{api::auth::User, auth::tab_sync::TabSync};

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
    /// The user answered the idle warning ([`Coordinator::stay_signed_in`]).
    StaySignedIn,
}

/// The words the inspector and the waterfall show. Spelled out rather than `Debug`: the release
/// bundle is built with `-Zfmt-debug=none` (see `build_frontend_release`), where `Debug` prints
/// nothing.
impl fmt::Display for RefreshReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unauthorized => "after a 401",
            Self::Proactive => "before expiry",
            Self::Restore => "restoring the session",
            Self::CatchUp => "catching up",
            Self::Expired => "token expired",
            Self::Backoff => "retry after a failure",
            Self::StaySignedIn => "you chose to stay signed in",
        })
    }
}

/// How a refresh failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshFailureKind {
    /// Refused, or the session was ended (here or in another tab) while the refresh was under
    /// way: signed out.
    SessionExpired,
    /// Refused, but there was no session to lose (an anonymous visitor).
    NoSession,
    /// It brought another user's token: a sign-in replaced the session. Its waiters fail
    /// rather than being retried as that user.
    UserChanged,
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
    /// Nobody used any tab for the server's idle timeout (`after_secs`), here or in another tab.
    Idle {
        /// The server's idle timeout in seconds, for words like "after 30 minutes".
        after_secs: u64,
    },
}

/// Everything the coordinator does, as a stream for the UI inspector. Request and refresh ids
/// let the UI draw which requests one refresh served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthEvent {
    /// A protected request went out with a token: its first attempt, or its retry.
    RequestSent {
        /// This coordinator's number for the request, counted from 1; every later event about
        /// the request (its answer, its wait, its retry) carries the same one.
        request_id: u64,
        /// Path and query, as sent ([`ApiRequest::path`](super::ApiRequest::path)).
        path: String,
        /// Which token went with it ([`AuthSnapshot::token_version`]).
        token_version: u64,
        /// `true` for the second and last attempt, after a 401.
        retry: bool,
    },
    /// The server answered the request, with any status (a rejected token is then also
    /// told as [`AuthEvent::Unauthorized`]).
    Responded {
        /// The request, as numbered in [`AuthEvent::RequestSent`].
        request_id: u64,
        /// The HTTP status code.
        status: u16,
    },
    /// The request got no response (network error or timeout), or was not sent (again)
    /// because the token had become another user's while it waited.
    RequestFailed {
        /// The request, as numbered in [`AuthEvent::RequestSent`].
        request_id: u64,
        /// What went wrong, in words for a log or an inspector.
        error: String,
    },
    /// A 401 for the token the request carried: on a first attempt it leads to the retry, on the
    /// retry it is final.
    Unauthorized {
        /// The request, as numbered in [`AuthEvent::RequestSent`].
        request_id: u64,
        /// The token the 401 was for: if a newer one is held by now, the retry needs no refresh.
        token_version: u64,
    },
    /// A refresh began; at most one is in flight per tab, and requests join it.
    RefreshStarted {
        /// This coordinator's number for the refresh, counted from 1; its waiters and its
        /// outcome carry the same one.
        refresh_id: u64,
        /// What set it off.
        reason: RefreshReason,
    },
    /// A request now waits for this refresh (the one that started it too).
    WaiterJoined {
        /// The waiting request, as numbered in [`AuthEvent::RequestSent`].
        request_id: u64,
        /// The refresh it waits for, as numbered in [`AuthEvent::RefreshStarted`].
        refresh_id: u64,
    },
    /// The refresh ended with a token held: one it fetched, or one it adopted.
    RefreshSucceeded {
        /// The refresh, as numbered in [`AuthEvent::RefreshStarted`].
        refresh_id: u64,
        /// The version of the token now held, which the waiters' retries carry.
        token_version: u64,
        /// That token's remaining lifetime in milliseconds, as of this event.
        expires_in_ms: u64,
        /// The request ids that waited for it.
        waiters: Vec<u64>,
        /// The token had already been replaced while this refresh waited for the cross-tab lock
        /// (another tab refreshed, or a sign-in happened), so no refresh call was made.
        adopted: bool,
    },
    /// The refresh ended without a token for its waiters.
    RefreshFailed {
        /// The refresh, as numbered in [`AuthEvent::RefreshStarted`].
        refresh_id: u64,
        /// How it failed, which decides what follows: signed out, or retried in the background.
        kind: RefreshFailureKind,
        /// The request ids that waited for it; each fails with the matching [`AuthError`].
        ///
        /// [`AuthError`]: super::AuthError
        waiters: Vec<u64>,
    },
    /// The request is sent a second (and last) time.
    Retried {
        /// The request, as numbered in [`AuthEvent::RequestSent`].
        request_id: u64,
        /// Whether it waited for a refresh, or the token had already been replaced.
        with_refresh: bool,
    },
    /// A token another tab obtained (its refresh or sign-in, or its answer to a new tab) was
    /// adopted here: no call from this tab.
    TokenFromOtherTab {
        /// The version it was installed as here (each tab counts its own versions).
        token_version: u64,
    },
    /// A sign-in installed a new session's token: this tab's login, or a refresh that brought
    /// another user's token (after [`RefreshFailureKind::UserChanged`]).
    SignedIn {
        /// The version the new session's token was installed as.
        token_version: u64,
    },
    /// The page came with an access token for its session, minted by the server as it rendered
    /// the page ([`Coordinator::resume_with_token`]): this page load made no refresh call.
    TokenFromPage {
        /// The version the page's token was installed as.
        token_version: u64,
    },
    /// The token and the user were forgotten: the session is over in this tab.
    SignedOut {
        /// Why; [`SignOutReason::User`] when this tab logged out.
        reason: SignOutReason,
    },
    /// The proactive refresh was due, but nobody used the page since the token arrived: the
    /// token is left to expire, and the next call refreshes (idle means the user, not the tab).
    LeftToLapse {
        /// The token left to expire.
        token_version: u64,
    },
    /// The session ends for inactivity in `ends_in_ms` unless the user answers
    /// ([`Coordinator::stay_signed_in`]).
    IdleWarning {
        /// Milliseconds left, as of this event, before the server ends the session.
        ends_in_ms: u64,
    },
    /// A refresh failed transiently; the next attempt is in `retry_in_ms`.
    Offline {
        /// Milliseconds until that attempt: the backoff, doubled after each failure up to
        /// [`CoordinatorConfig::backoff_max_ms`](super::CoordinatorConfig::backoff_max_ms).
        retry_in_ms: u64,
    },
    /// A token arrived again after [`AuthEvent::Offline`] (a refresh, another tab, a sign-in):
    /// what failed meanwhile is worth loading again.
    Online,
}

/// A read-only view of the state, for the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthSnapshot {
    /// The signed-in user; `None` when signed out or not known yet.
    pub user: Option<User>,
    /// Bumped every time the token changes (or is forgotten).
    pub token_version: u64,
    /// On the [`Runtime::now_ms`] clock.
    pub token_expires_at_ms: Option<f64>,
    /// A refresh is in flight; requests that need a token wait for it.
    pub refreshing: bool,
    /// The last refresh failed transiently; a background retry is scheduled.
    pub offline: bool,
    /// While the idle warning shows: when the session ends (on the same clock) unless the user
    /// answers it.
    pub idle_ends_at_ms: Option<f64>,
}

type Listener = Rc<dyn Fn(&AuthEvent)>;
type SessionHook = Rc<dyn Fn(SignOutReason)>;
/// The event stream's listeners.
pub(super) type Listeners = Callbacks<dyn Fn(&AuthEvent)>;
/// The session-ended hooks.
pub(super) type SessionHooks = Callbacks<dyn Fn(SignOutReason)>;

/// Names a listener or session hook so that it can be removed again
/// ([`Coordinator::unsubscribe`]). The coordinator outlives the views that listen to it: a route
/// of a client-router app that subscribes on mount must unsubscribe on unmount, or every visit
/// leaves a listener behind (the Leptos context does this with `on_cleanup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription(u64);

/// The registered callbacks, each under its [`Subscription`].
pub(super) struct Callbacks<F: ?Sized> {
    entries: Vec<(Subscription, Rc<F>)>,
}

impl<F: ?Sized> Default for Callbacks<F> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<F: ?Sized> Callbacks<F> {
    fn add(&mut self, id: Subscription, callback: Rc<F>) -> Subscription {
        self.entries.push((id, callback));
        id
    }

    fn remove(&mut self, subscription: Subscription) {
        self.entries.retain(|(id, _)| *id != subscription);
    }

    /// A copy of the list, so a callback may subscribe, unsubscribe or read the state.
    pub(super) fn snapshot(&self) -> Vec<Rc<F>> {
        self.entries.iter().map(|(_, f)| f.clone()).collect()
    }
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// Adds a listener to the event stream. Listeners run synchronously and may call back into
    /// the coordinator.
    pub fn subscribe(&self, listener: impl Fn(&AuthEvent) + 'static) -> Subscription {
        let listener: Listener = Rc::new(listener);
        let id = self.next_subscription();
        self.inner.listeners.borrow_mut().add(id, listener)
    }

    /// Called once when a session ends without the user asking (refresh refused, another tab
    /// signed out); the UI typically navigates to `/login?next=...`.
    pub fn on_session_ended(&self, hook: impl Fn(SignOutReason) + 'static) -> Subscription {
        let hook: SessionHook = Rc::new(hook);
        let id = self.next_subscription();
        self.inner.session_hooks.borrow_mut().add(id, hook)
    }

    /// Removes a listener or session hook; removing one twice does nothing.
    pub fn unsubscribe(&self, subscription: Subscription) {
        self.inner.listeners.borrow_mut().remove(subscription);
        self.inner.session_hooks.borrow_mut().remove(subscription);
    }

    /// How many listeners and session hooks are registered: what a leak would make grow.
    pub fn subscription_count(&self) -> usize {
        self.inner.listeners.borrow().entries.len()
            + self.inner.session_hooks.borrow().entries.len()
    }

    fn next_subscription(&self) -> Subscription {
        let id = self.inner.next_subscription.get();
        self.inner.next_subscription.set(id + 1);
        Subscription(id)
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
            idle_ends_at_ms: state
                .idle_warning
                .then(|| state.token.as_ref()?.idle.map(|idle| idle.ends_at_ms))
                .flatten(),
        }
    }

    /// Calls the listeners on a copy of the list, so a listener may subscribe or read the state.
    pub(super) fn emit(&self, event: AuthEvent) {
        let listeners = self.inner.listeners.borrow().snapshot();
        for listener in listeners {
            listener(&event);
        }
    }

    pub(super) fn end_session(&self, reason: SignOutReason) {
        let hooks = self.inner.session_hooks.borrow().snapshot();
        for hook in hooks {
            hook(reason);
        }
    }
}
