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
    Idle { after_secs: u64 },
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
    /// The request got no response (network error or timeout), or was not sent (again)
    /// because the token had become another user's while it waited.
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
    /// The page came with an access token for its session, minted by the server as it rendered
    /// the page ([`Coordinator::resume_with_token`]): this page load made no refresh call.
    TokenFromPage {
        token_version: u64,
    },
    SignedOut {
        reason: SignOutReason,
    },
    /// The proactive refresh was due, but nobody used the page since the token arrived: the
    /// token is left to expire, and the next call refreshes (idle means the user, not the tab).
    LeftToLapse {
        token_version: u64,
    },
    /// The session ends for inactivity in `ends_in_ms` unless the user answers
    /// ([`Coordinator::stay_signed_in`]).
    IdleWarning {
        ends_in_ms: u64,
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
