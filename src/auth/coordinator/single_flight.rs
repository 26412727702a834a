//! The heart of the fix: at most one refresh at a time, run as its own task under the cross-tab
//! lock, whose result every waiting request shares; a finished refresh is never handed out again.

use std::pin::pin;

use futures::channel::oneshot;
use futures::future;
use futures::FutureExt;

use super::answers::classify_refresh;
use super::idle::idle_window_of;
use super::state::{made_for_someone_else, remaining_ms, InFlight, SharedRefresh};
use super::tabs::Announce;
use super::{
    AuthEvent, Coordinator, RefreshError, RefreshFailureKind, RefreshReason, Runtime,
    SignOutReason, Transport,
};
use crate::{
    api::auth::TokenResponse,
    auth::tab_sync::{TabMessage, TabSync},
};

/// What a refresh attempt did, decided while holding the cross-tab lock.
pub(super) enum Attempt {
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
    /// The answer was another user's token (installed as `version`): a sign-in this tab did
    /// not make replaced the session its waiters' requests were made in.
    UserChanged {
        version: u64,
    },
    Transient(String),
}

/// The session a refresh was decided in: the token's version and whose it was. What the lock
/// and the call find afterwards is compared with it.
pub(super) struct Seen {
    version: u64,
    user_id: Option<String>,
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// The heart of the fix: at most one refresh at a time, run as a spawned task whose result
    /// every waiter shares.
    pub(super) fn start_or_join(
        &self,
        reason: RefreshReason,
        request_id: Option<u64>,
    ) -> SharedRefresh {
        let joined = match request_id {
            Some(request_id) => self.join(request_id),
            None => self.refresh_in_flight(),
        };
        joined.unwrap_or_else(|| self.start(reason, request_id))
    }

    /// The refresh in flight, if any, without becoming one of its waiters.
    pub(super) fn refresh_in_flight(&self) -> Option<SharedRefresh> {
        let state = self.inner.state.borrow();
        state.refresh.as_ref().map(|flight| flight.result.clone())
    }

    /// Makes `request_id` a waiter of the refresh in flight, if there is one.
    pub(super) fn join(&self, request_id: u64) -> Option<SharedRefresh> {
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
    pub(super) fn start(&self, reason: RefreshReason, request_id: Option<u64>) -> SharedRefresh {
        let (sender, receiver) = oneshot::channel();
        let result = receiver
            .map(|received| {
                received.unwrap_or_else(|_| {
                    Err(RefreshError::Transient("the refresh was abandoned".into()))
                })
            })
            .boxed_local()
            .shared();
        let (refresh_id, seen) = {
            let mut state = self.inner.state.borrow_mut();
            debug_assert!(state.refresh.is_none(), "one refresh at a time");
            state.next_refresh_id += 1;
            let id = state.next_refresh_id;
            state.refresh = Some(InFlight {
                id,
                result: result.clone(),
                waiters: request_id.into_iter().collect(),
            });
            let seen = Seen {
                version: state.version,
                user_id: state.user_id(),
            };
            (id, seen)
        };
        self.emit(AuthEvent::RefreshStarted { refresh_id, reason });
        let this = self.clone();
        self.inner.runtime.spawn(async move {
            let outcome = this.run_refresh(refresh_id, reason, seen).await;
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
    pub(super) fn refresh_in_background(&self, reason: RefreshReason) {
        drop(self.start_or_join(reason, None));
    }

    /// The spawned refresh task: ask other tabs (at page load), take the cross-tab lock, refresh,
    /// then free the slot and report.
    pub(super) async fn run_refresh(
        &self,
        refresh_id: u64,
        reason: RefreshReason,
        seen: Seen,
    ) -> Result<(), RefreshError> {
        if reason == RefreshReason::Restore && self.inner.tabs.reaches_other_tabs() {
            self.ask_other_tabs().await;
        }
        let this = self.clone();
        let attempt = self
            .inner
            .tabs
            .with_refresh_lock(async move { this.attempt_under_lock(&seen).await }.boxed_local())
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
    /// installed or broadcast; the waiters take the newer token (each only if it is still the
    /// user its request was made as, see `send_at_most_twice`), or fail with
    /// [`AuthError::SessionExpired`] if the session is gone.
    ///
    /// A refresh never changes the user, so an answer for another user means the shared cookie
    /// now holds someone else's session (a sign-in no tab heard of, such as a login form's
    /// post). That token is installed and shared like any refresh (the other tabs of that user
    /// may take it; this user's other tabs learn at their own next refresh), and the waiters,
    /// whose requests were made as the previous user, fail instead of being retried.
    pub(super) async fn attempt_under_lock(&self, seen: &Seen) -> Attempt {
        if let Some(attempt) = self.changed_since(seen.version) {
            return attempt;
        }
        let call = self.inner.transport.refresh();
        let answer = self
            .with_timeout(call, self.inner.config.refresh_timeout_ms)
            .await;
        if let Some(attempt) = self.changed_since(seen.version) {
            return attempt;
        }
        match classify_refresh(answer) {
            Ok(tokens) => {
                let user_changed =
                    made_for_someone_else(seen.user_id.as_deref(), Some(&tokens.user.id));
                let (version, expires_in_ms) = self.install_and_share(tokens, Announce::Refreshed);
                if user_changed {
                    Attempt::UserChanged { version }
                } else {
                    Attempt::Refreshed {
                        version,
                        expires_in_ms,
                    }
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
    pub(super) fn changed_since(&self, seen_version: u64) -> Option<Attempt> {
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
    pub(super) fn report(
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
            Attempt::UserChanged { version } => {
                self.emit(failed(RefreshFailureKind::UserChanged));
                self.emit(AuthEvent::SignedIn {
                    token_version: version,
                });
                self.go_online();
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
    pub(super) async fn ask_other_tabs(&self) {
        let (sender, answered) = oneshot::channel();
        self.inner.state.borrow_mut().token_watchers.push(sender);
        self.inner.tabs.publish(TabMessage::TokenWanted);
        let timer = self
            .inner
            .runtime
            .sleep(self.inner.config.tab_answer_wait_ms);
        future::select(answered, pin!(timer)).await;
    }

    /// Installs a token the server issued (login or refresh) and shares it with the other tabs.
    /// Returns its version and lifetime.
    pub(super) fn install_and_share(
        &self,
        tokens: TokenResponse,
        announce: Announce,
    ) -> (u64, u64) {
        let expires_in_ms = tokens.expires_in.saturating_mul(1000);
        let idle = idle_window_of(&tokens);
        let message = announce.message(&tokens.access_token, expires_in_ms, &tokens.user, idle);
        let version = self.install(tokens.access_token, expires_in_ms, tokens.user, idle);
        self.inner.tabs.publish(message);
        (version, expires_in_ms)
    }
}
