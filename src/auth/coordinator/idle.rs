//! Idle means the user: the page reports activity, the proactive refresh keeps a session alive
//! only for a user who was there, and a session nobody uses ends at the server's idle deadline,
//! after a warning the user can answer ("Stay signed in").
//!
//! The deadline is the server's (`TokenResponse::idle_expires_in`: its idle timeout after the
//! last refresh), carried to the other tabs with each token, so every tab warns and ends
//! together, and a refresh in any tab (one the user caused) moves it for all.
//!
//! A user who comes back after the idle check (twice the warning lead before the deadline),
//! before or during the warning, keeps the session: their first activity makes one refresh,
//! and the warning and the end stand aside while it decides.

use std::rc::Rc;

use futures::FutureExt;

use super::state::{until, IdleDeadline};
use super::{upgrade, AuthEvent, Coordinator, RefreshReason, Runtime, SignOutReason, Transport};
use crate::{
    api::auth::TokenResponse,
    auth::tab_sync::{IdleWindow, TabSync},
};

/// The idle window a login or refresh answer states, if the server states one.
pub(super) fn idle_window_of(tokens: &TokenResponse) -> Option<IdleWindow> {
    Some(IdleWindow {
        ends_in_ms: tokens.idle_expires_in?.saturating_mul(1000),
        timeout_secs: tokens.idle_timeout?,
    })
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// The user did something on the page: a pointer or key event, focus, the tab becoming
    /// visible. Cheap enough to call on every such event: it notes the time, and only the first
    /// activity since the token, if it comes after the idle check found nobody there and before
    /// the deadline, starts a refresh (one for a whole burst of events).
    pub fn user_active(&self) {
        let now = self.inner.runtime.now_ms();
        let back_after_check = {
            let mut state = self.inner.state.borrow_mut();
            let before = std::mem::replace(&mut state.last_activity_ms, now);
            let back = state.token.as_ref().is_some_and(|token| {
                before < token.installed_at_ms
                    && token.idle.is_some_and(|idle| {
                        self.idle_check_at_ms(idle) <= now && now < idle.ends_at_ms
                    })
            });
            // Activity while the warning shows answers it, as the button does.
            back.then_some(if state.idle_warning {
                RefreshReason::StaySignedIn
            } else {
                RefreshReason::Proactive
            })
        };
        if let Some(reason) = back_after_check {
            self.refresh_in_background(reason);
        }
    }

    /// The answer to the idle warning: refresh now, which moves the deadline (in every tab).
    pub fn stay_signed_in(&self) {
        // The refresh first, so that it is this one (not the one the activity would start).
        self.refresh_in_background(RefreshReason::StaySignedIn);
        self.user_active();
    }

    /// Whether the user did anything since the current token arrived.
    pub(super) fn used_since_token(&self) -> bool {
        let state = self.inner.state.borrow();
        state
            .token
            .as_ref()
            .is_some_and(|token| state.last_activity_ms >= token.installed_at_ms)
    }

    /// How long before the deadline the warning shows: the configured lead, at most a quarter
    /// of the timeout.
    fn warning_lead_ms(&self, idle: IdleDeadline) -> u64 {
        let quarter = idle.timeout_secs.saturating_mul(1000) / 4;
        self.inner.config.idle_warning_lead_ms.min(quarter)
    }

    /// When the idle check runs: twice the warning lead before the deadline.
    fn idle_check_at_ms(&self, idle: IdleDeadline) -> f64 {
        idle.ends_at_ms - 2.0 * self.warning_lead_ms(idle) as f64
    }

    /// Whether the user came back after the idle check found nobody there, and the refresh
    /// that started (see [`Coordinator::user_active`]) is still in flight or failed for now
    /// (offline). That refresh decides, not the idle timer: its token moves the deadline, a
    /// refusal ends the session, and after a transient failure the session is kept while the
    /// backoff asks again, as for a user who was there at the check.
    fn came_back_after_check(&self) -> bool {
        self.used_since_token() && {
            let state = self.inner.state.borrow();
            state.refresh.is_some() || state.offline
        }
    }

    /// For a token with an idle deadline: twice the lead before it, refresh if the user was
    /// there (so an active user never sees the warning); at the lead, warn; at the deadline, end
    /// the session. Each step does nothing once the token has changed, and the warning and the
    /// end stand aside for a user who came back after the check (whose activity refreshes).
    pub(super) fn schedule_idle_end(&self, version: u64) {
        let (idle, now) = {
            let state = self.inner.state.borrow();
            let Some(idle) = state.token.as_ref().and_then(|token| token.idle) else {
                return;
            };
            (idle, self.inner.runtime.now_ms())
        };
        let lead = self.warning_lead_ms(idle) as f64;
        let check = self
            .inner
            .runtime
            .sleep(until(self.idle_check_at_ms(idle), now));
        let coordinator = Rc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            check.await;
            let Some(this) = upgrade(&coordinator).filter(|this| this.is_version(version)) else {
                return;
            };
            if this.used_since_token() {
                this.refresh_in_background(RefreshReason::Proactive);
                return;
            }
            // Timers hold no reference to the coordinator: a closed page's wake to nothing.
            let runtime = &this.inner.runtime;
            let warn = runtime.sleep(until(idle.ends_at_ms - lead, runtime.now_ms()));
            drop(this);
            warn.await;
            let Some(this) = upgrade(&coordinator).filter(|this| this.is_version(version)) else {
                return;
            };
            if !this.came_back_after_check() {
                this.warn_idle(idle);
            }
            let runtime = &this.inner.runtime;
            let end = runtime.sleep(until(idle.ends_at_ms, runtime.now_ms()));
            drop(this);
            end.await;
            let Some(this) = upgrade(&coordinator).filter(|this| this.is_version(version)) else {
                return;
            };
            // Decided under the refresh lock: a refresh in flight in any tab (a user came back
            // there) ends first, and its token, shared before the lock is released, moves the
            // deadline here too instead of this tab ending the session under it.
            let decider = this.clone();
            let decide = async move {
                if decider.is_version(version) && !decider.came_back_after_check() {
                    decider.end_idle_session(idle);
                }
            };
            this.inner
                .tabs
                .with_refresh_lock(decide.boxed_local())
                .await;
        });
    }

    fn is_version(&self, version: u64) -> bool {
        self.inner.state.borrow().version == version
    }

    fn warn_idle(&self, idle: IdleDeadline) {
        let now = self.inner.runtime.now_ms();
        self.inner.state.borrow_mut().idle_warning = true;
        self.emit(AuthEvent::IdleWarning {
            ends_in_ms: until(idle.ends_at_ms, now),
        });
    }

    /// The deadline passed with no refresh: the server has ended the session (or will, within
    /// the clocks' difference); every tab says so.
    fn end_idle_session(&self, idle: IdleDeadline) {
        self.sign_out(SignOutReason::Idle {
            after_secs: idle.timeout_secs,
        });
    }

    /// For [`Coordinator::catch_up`]: a tab that slept through its deadline ends the session
    /// instead of refreshing it. Returns whether it did.
    pub(super) fn ended_by_idle_deadline(&self) -> bool {
        let passed = {
            let state = self.inner.state.borrow();
            let now = self.inner.runtime.now_ms();
            state
                .token
                .as_ref()
                .and_then(|token| token.idle)
                .filter(|idle| now >= idle.ends_at_ms)
        };
        match passed {
            Some(idle) => {
                self.end_idle_session(idle);
                true
            }
            None => false,
        }
    }
}
