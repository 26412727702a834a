//! Time-driven refreshes: the proactive timer shortly before expiry, catching up after a tab slept,
//! and the backoff after a transient failure (the session is kept while offline).

use std::rc::Rc;

use super::state::MIN_PROACTIVE_LIFETIME_MS;
use super::{upgrade, AuthEvent, Coordinator, RefreshReason, Runtime, SignInState, Transport};
use crate::auth::tab_sync::TabSync;

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// Refresh this long before expiry: the configured margin, at most a fifth of the lifetime.
    pub(super) fn margin_ms(&self, lifetime_ms: u64) -> u64 {
        self.inner.config.refresh_margin_ms.min(lifetime_ms / 5)
    }

    pub(super) fn schedule_proactive(&self, version: u64) {
        let delay_ms = {
            let state = self.inner.state.borrow();
            let Some(token) = state.token.as_ref() else {
                return;
            };
            if token.lifetime_ms < MIN_PROACTIVE_LIFETIME_MS {
                return;
            }
            token.lifetime_ms - self.margin_ms(token.lifetime_ms)
        };
        let timer = self.inner.runtime.sleep(delay_ms);
        let coordinator = Rc::downgrade(&self.inner);
        self.inner.runtime.spawn(async move {
            timer.await;
            if let Some(this) = upgrade(&coordinator) {
                this.proactive_timer_fired(version);
            }
        });
    }

    /// A stale timer (the token changed since it was set) does nothing; nor does a timer of a
    /// page nobody used since the token arrived: the token is left to lapse, so an open but
    /// unused tab does not keep its session alive (the next call refreshes it, if there is one).
    pub(super) fn proactive_timer_fired(&self, version: u64) {
        let current = {
            let state = self.inner.state.borrow();
            state.version == version && state.refresh.is_none()
        };
        if !current {
            return;
        }
        if self.used_since_token() {
            self.refresh_in_background(RefreshReason::Proactive);
        } else {
            self.emit(AuthEvent::LeftToLapse {
                token_version: version,
            });
        }
    }

    pub(super) fn catch_up_due(&self) -> bool {
        let state = self.inner.state.borrow();
        if state.sign_in == SignInState::SignedOut || state.refresh.is_some() {
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

    /// Marks the session offline and schedules one background retry; returns its delay.
    pub(super) fn schedule_backoff(&self) -> u64 {
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

    pub(super) fn backoff_timer_fired(&self, generation: u64) {
        let due = {
            let state = self.inner.state.borrow();
            state.backoff_generation == generation
                && state.offline
                && state.refresh.is_none()
                && state.sign_in != SignInState::SignedOut
        };
        if due {
            self.refresh_in_background(RefreshReason::Backoff);
        }
    }

    pub(super) fn go_online(&self) {
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
}
