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

    /// `Err(seconds to wait)` while the account is locked.
    pub fn check(&self, account: &str) -> Result<(), u64> {
        let now = self.clock.now_ms();
        match self.lock().get(account).and_then(|f| f.locked_until_ms) {
            Some(until) if now < until => Err((until - now).div_ceil(1000)),
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, account: &str) {
        self.total_failures.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now_ms();
        let window = self.lockout.as_millis() as u64;
        let mut failures = self.lock();
        let entry = failures.entry(account.to_owned()).or_insert(Failures {
            count: 0,
            first_at_ms: now,
            locked_until_ms: None,
        });
        if now >= entry.first_at_ms + window {
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

    #[test]
    fn the_account_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..2 {
            throttle.record_failure("alice");
        }
        assert_eq!(throttle.check("alice"), Ok(()));
        throttle.record_failure("alice");
        assert_eq!(throttle.check("alice"), Err(60));
        clock.advance(Duration::from_secs(59));
        assert_eq!(throttle.check("alice"), Err(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.check("alice"), Ok(()));
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..5 {
            throttle.record_failure("alice");
            clock.advance(Duration::from_secs(31));
        }
        assert_eq!(throttle.check("alice"), Ok(()));
    }

    #[test]
    fn success_resets_the_count_and_other_accounts_are_unaffected() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        throttle.record_failure("alice");
        throttle.record_failure("alice");
        throttle.record_success("alice");
        throttle.record_failure("alice");
        assert_eq!(throttle.check("alice"), Ok(()));
        assert_eq!(throttle.check("admin"), Ok(()));
    }

    #[test]
    fn sweep_forgets_stale_entries() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        throttle.record_failure("ghost");
        clock.advance(Duration::from_secs(61));
        throttle.sweep();
        assert!(throttle.lock().is_empty());
    }
}
