//! Per-account login throttling: after repeated failures an account answers 429 for a while,
//! whoever asks, so a password cannot be guessed at speed.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use super::clock::Clock;

#[derive(Debug)]
struct Failures {
    count: u32,
    first_at_ms: u64,
    locked_until_ms: Option<u64>,
}

/// Failure counts per (lower-cased) username, unknown usernames included, so throttling does not
/// reveal which accounts exist.
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
    max_failures: u32,
    lockout: Duration,
    clock: Arc<dyn Clock>,
    total_failures: AtomicU64,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, lockout: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            max_failures,
            lockout,
            clock,
            total_failures: AtomicU64::new(0),
        }
    }

    /// Starts a login attempt: `Err(seconds to wait)` while the account is locked. Otherwise the
    /// attempt is counted as a failure *now*, before the password is checked, so that parallel
    /// guesses are counted too; [`LoginThrottle::record_success`] wipes the count.
    pub fn begin_attempt(&self, account: &str) -> Result<(), u64> {
        let now = self.clock.now_ms();
        let window = self.lockout.as_millis() as u64;
        let mut failures = self.lock();
        let entry = failures.entry(account.to_owned()).or_insert(Failures {
            count: 0,
            first_at_ms: now,
            locked_until_ms: None,
        });
        if let Some(until) = entry.locked_until_ms.filter(|until| now < *until) {
            return Err((until - now).div_ceil(1000));
        }
        if now >= entry.first_at_ms + window || entry.locked_until_ms.is_some() {
            *entry = Failures {
                count: 0,
                first_at_ms: now,
                locked_until_ms: None,
            };
        }
        entry.count += 1;
        if entry.count >= self.max_failures {
            entry.locked_until_ms = Some(now + window);
        }
        Ok(())
    }

    /// The attempt failed (it was already counted by [`LoginThrottle::begin_attempt`]).
    pub fn record_failure(&self) {
        self.total_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Failed logins since start-up, for the admin stats.
    pub fn total_failures(&self) -> u64 {
        self.total_failures.load(Ordering::Relaxed)
    }

    pub fn record_success(&self, account: &str) {
        self.lock().remove(account);
    }

    /// Forgets entries whose window and lock have both passed, so the map cannot grow without
    /// bound under a spray of made-up usernames.
    pub fn sweep(&self) {
        let now = self.clock.now_ms();
        let window = self.lockout.as_millis() as u64;
        self.lock().retain(|_, f| {
            now < f.first_at_ms + window || f.locked_until_ms.is_some_and(|until| now < until)
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::clock::ManualClock;

    fn throttle(clock: &ManualClock) -> LoginThrottle {
        LoginThrottle::new(3, Duration::from_secs(60), Arc::new(clock.clone()))
    }

    fn fail(throttle: &LoginThrottle, account: &str) -> Result<(), u64> {
        throttle.begin_attempt(account)?;
        throttle.record_failure();
        Ok(())
    }

    #[test]
    fn the_account_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..3 {
            assert_eq!(fail(&throttle, "alice"), Ok(()));
        }
        assert_eq!(throttle.begin_attempt("alice"), Err(60));
        clock.advance(Duration::from_secs(59));
        assert_eq!(throttle.begin_attempt("alice"), Err(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.begin_attempt("alice"), Ok(()));
        assert_eq!(throttle.total_failures(), 3);
    }

    #[test]
    fn attempts_in_flight_count_before_their_outcome_is_known() {
        let throttle = throttle(&ManualClock::new());
        // Three parallel attempts begin before any of them has failed: the fourth is refused.
        for _ in 0..3 {
            assert_eq!(throttle.begin_attempt("alice"), Ok(()));
        }
        assert!(throttle.begin_attempt("alice").is_err());
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..5 {
            assert_eq!(fail(&throttle, "alice"), Ok(()));
            clock.advance(Duration::from_secs(31));
        }
    }

    #[test]
    fn success_resets_the_count_and_other_accounts_are_unaffected() {
        let throttle = throttle(&ManualClock::new());
        fail(&throttle, "alice").unwrap();
        fail(&throttle, "alice").unwrap();
        throttle.begin_attempt("alice").unwrap();
        throttle.record_success("alice");
        fail(&throttle, "alice").unwrap();
        fail(&throttle, "alice").unwrap();
        assert_eq!(throttle.begin_attempt("alice"), Ok(()));
        assert_eq!(throttle.begin_attempt("admin"), Ok(()));
    }

    #[test]
    fn sweep_forgets_stale_entries() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        fail(&throttle, "ghost").unwrap();
        clock.advance(Duration::from_secs(61));
        throttle.sweep();
        assert!(throttle.lock().is_empty());
    }
}
