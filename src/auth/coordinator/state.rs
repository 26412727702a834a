//! What the coordinator remembers: the in-memory token and its version, whether anyone is signed
//! in, the refresh in flight, and the helpers that change them together.

use futures::channel::oneshot;
use futures::future::{LocalBoxFuture, Shared};

use super::{Coordinator, RefreshError, Runtime, Transport};
use crate::{
    api::auth::User,
    auth::tab_sync::{IdleWindow, TabSync},
};

/// Tokens shorter-lived than this get no proactive timer, which could otherwise spin.
pub(super) const MIN_PROACTIVE_LIFETIME_MS: u64 = 1_000;

/// The access token lives here and nowhere else: not in storage, not in a cookie.
pub(super) struct Token {
    pub(super) access: String,
    pub(super) lifetime_ms: u64,
    pub(super) expires_at_ms: f64,
    /// When it arrived: activity after this means the user was there since the last refresh.
    pub(super) installed_at_ms: f64,
    /// When the server ends the session for inactivity unless it is refreshed.
    pub(super) idle: Option<IdleDeadline>,
}

/// The server's idle deadline on this tab's clock.
#[derive(Clone, Copy)]
pub(super) struct IdleDeadline {
    pub(super) ends_at_ms: f64,
    pub(super) timeout_secs: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SignInState {
    /// Page load: the HttpOnly cookie may or may not hold a session; one refresh will tell.
    Unknown,
    SignedIn,
    /// Signed out or refused: requests fail at once, without network.
    SignedOut,
}

pub(super) type SharedRefresh = Shared<LocalBoxFuture<'static, Result<(), RefreshError>>>;

/// The one refresh in flight. A fresh slot is made for each refresh and dropped when it ends, so
/// a finished refresh is never handed to a later failure.
pub(super) struct InFlight {
    pub(super) id: u64,
    pub(super) result: SharedRefresh,
    pub(super) waiters: Vec<u64>,
}

pub(super) struct State {
    pub(super) token: Option<Token>,
    pub(super) user: Option<User>,
    pub(super) version: u64,
    pub(super) sign_in: SignInState,
    pub(super) refresh: Option<InFlight>,
    pub(super) offline: bool,
    pub(super) backoff_delay_ms: Option<u64>,
    /// Bumped to invalidate a scheduled background retry.
    pub(super) backoff_generation: u64,
    /// Woken when a token is installed (a new tab waiting for another tab's answer).
    pub(super) token_watchers: Vec<oneshot::Sender<()>>,
    pub(super) next_request_id: u64,
    pub(super) next_refresh_id: u64,
    /// When the user last used the page (pointer, keyboard, focus, the tab becoming visible).
    /// A page load does not count: an untouched tab is idle from its first token.
    pub(super) last_activity_ms: f64,
    /// The idle warning shows: the session ends at the token's idle deadline unless refreshed.
    pub(super) idle_warning: bool,
}

/// A token as a request carries it, and whose it is: a request is retried only as the user it
/// was first sent as.
pub(super) struct Credentials {
    pub(super) token: String,
    pub(super) version: u64,
    pub(super) user_id: Option<String>,
}

impl State {
    /// The id of the user the tab is signed in as (or is restoring), if any.
    pub(super) fn user_id(&self) -> Option<String> {
        self.user.as_ref().map(|user| user.id.clone())
    }

    /// `token` (the current one), as a request carries it.
    pub(super) fn credentials(&self, token: &Token) -> Credentials {
        Credentials {
            token: token.access.clone(),
            version: self.version,
            user_id: self.user_id(),
        }
    }
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    pub(super) fn next_request_id(&self) -> u64 {
        let mut state = self.inner.state.borrow_mut();
        state.next_request_id += 1;
        state.next_request_id
    }

    pub(super) fn current_user_id(&self) -> Option<String> {
        self.inner.state.borrow().user_id()
    }

    pub(super) fn current_credentials(&self) -> Option<Credentials> {
        let state = self.inner.state.borrow();
        state.token.as_ref().map(|token| state.credentials(token))
    }

    /// Replaces the token (bumping its version) and schedules its proactive refresh and, with an
    /// idle window, the idle warning and end.
    pub(super) fn install(
        &self,
        access: String,
        lifetime_ms: u64,
        user: User,
        idle: Option<IdleWindow>,
    ) -> u64 {
        let now = self.inner.runtime.now_ms();
        let (version, watchers) = {
            let mut state = self.inner.state.borrow_mut();
            state.version += 1;
            state.idle_warning = false;
            state.token = Some(Token {
                access,
                lifetime_ms,
                expires_at_ms: now + lifetime_ms as f64,
                installed_at_ms: now,
                idle: idle.map(|window| IdleDeadline {
                    ends_at_ms: now + window.ends_in_ms as f64,
                    timeout_secs: window.timeout_secs,
                }),
            });
            state.user = Some(user);
            state.sign_in = SignInState::SignedIn;
            (state.version, std::mem::take(&mut state.token_watchers))
        };
        for watcher in watchers {
            let _ = watcher.send(());
        }
        self.schedule_proactive(version);
        self.schedule_idle_end(version);
        version
    }

    /// Forgets token and user; returns whether there was a session to forget.
    pub(super) fn forget(&self) -> bool {
        let mut state = self.inner.state.borrow_mut();
        let had_session = state.token.is_some() || state.user.is_some();
        state.token = None;
        state.user = None;
        state.version += 1;
        state.sign_in = SignInState::SignedOut;
        state.idle_warning = false;
        state.offline = false;
        state.backoff_delay_ms = None;
        state.backoff_generation += 1;
        had_session
    }

    pub(super) fn has_valid_token(&self) -> bool {
        let state = self.inner.state.borrow();
        let now = self.inner.runtime.now_ms();
        state.token.as_ref().is_some_and(|t| now < t.expires_at_ms)
    }
}

/// Whether a token for `now` may not serve what was made for `made_for`: a request or refresh
/// made as one user is never completed as another (a sign-in as someone else replaced the
/// token). Made for nobody (an anonymous visitor's first request), it takes whoever signed in.
pub(super) fn made_for_someone_else(made_for: Option<&str>, now: Option<&str>) -> bool {
    made_for.is_some() && made_for != now
}

pub(super) fn remaining_ms(token: &Token, now_ms: f64) -> u64 {
    until(token.expires_at_ms, now_ms)
}

/// Milliseconds from `now_ms` to `at_ms`, 0 if that has passed.
pub(super) fn until(at_ms: f64, now_ms: f64) -> u64 {
    // Float to int casts saturate; a negative remainder becomes 0.
    (at_ms - now_ms).max(0.0) as u64
}

/// The token's idle deadline as another tab needs it: relative.
pub(super) fn idle_window(token: &Token, now_ms: f64) -> Option<IdleWindow> {
    token.idle.map(|idle| IdleWindow {
        ends_in_ms: until(idle.ends_at_ms, now_ms),
        timeout_secs: idle.timeout_secs,
    })
}
