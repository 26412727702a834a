//! Sign-in throttling that slows guessing without handing an attacker a way to lock the real
//! user out (OWASP Authentication cheat sheet, "Account lockout").
//!
//! Two counters, both started *before* the password is checked so parallel guesses count:
//! - per account **and client address**: `max_failures` failures within `lockout` lock that pair
//!   for `lockout`. Guessing from one address is slowed; the same account from any other address
//!   (the real user at home, in the office) is untouched.
//! - per account, across addresses: once the account has `max_failures` failures in the window,
//!   every further failure doubles a pause (1 s, 2 s, 4 s, … at most [`BACKOFF_CAP`]) that applies
//!   only to addresses which have *already failed* on this account. A distributed guesser gets one
//!   free try per address, then waits; a user who types the right password from an address with
//!   no failures is never held back, and one who mistyped waits at most the cap.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use super::clock::Clock;

/// The longest pause the account-wide backoff imposes: bounded, so an attacker can make the real
/// user wait this long at worst, never lock them out.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Failures {
    count: u32,
    first_at_ms: u64,
    locked_until_ms: Option<u64>,
}

#[derive(Debug)]
struct AccountBackoff {
    failures: u32,
    first_at_ms: u64,
    paused_until_ms: u64,
}

#[derive(Default)]
struct Entries {
    pairs: HashMap<(String, IpAddr), Failures>,
    accounts: HashMap<String, AccountBackoff>,
}

/// Failure counts per (lower-cased) username, unknown usernames included, so throttling does not
/// reveal which accounts exist.
pub struct LoginThrottle {
    entries: Mutex<Entries>,
    max_failures: u32,
    lockout: Duration,
    clock: Arc<dyn Clock>,
    total_failures: AtomicU64,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, lockout: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::default(),
            max_failures,
            lockout,
            clock,
            total_failures: AtomicU64::new(0),
        }
    }

    /// Starts a login attempt: `Err(seconds to wait)` while this client may not try this account.
    /// Otherwise the attempt is counted as a failure *now*, before the password is checked, so
    /// that parallel guesses are counted too; [`LoginThrottle::record_success`] wipes the count.
    pub fn begin_attempt(&self, account: &str, client: IpAddr) -> Result<(), u64> {
        let now = self.clock.now_ms();
        let window = self.window_ms();
        let mut entries = self.lock();
        let entries = &mut *entries;
        let pair = entries
            .pairs
            .entry((account.to_owned(), client))
            .or_insert(Failures {
                count: 0,
                first_at_ms: now,
                locked_until_ms: None,
            });
        if let Some(until) = pair.locked_until_ms.filter(|until| now < *until) {
            return Err((until - now).div_ceil(1000));
        }
        if now >= pair.first_at_ms + window || pair.locked_until_ms.is_some() {
            *pair = Failures {
                count: 0,
                first_at_ms: now,
                locked_until_ms: None,
            };
        }
        if let Some(backoff) = entries.accounts.get(account) {
            if pair.count > 0 && now < backoff.paused_until_ms {
                return Err((backoff.paused_until_ms - now).div_ceil(1000));
            }
        }
        pair.count += 1;
        if pair.count >= self.max_failures {
            pair.locked_until_ms = Some(now + window);
        }
        Ok(())
    }

    /// The attempt was never decided (no hashing slot came free): it does not count.
    pub fn abandon_attempt(&self, account: &str, client: IpAddr) {
        if let Some(pair) = self.lock().pairs.get_mut(&(account.to_owned(), client)) {
            pair.count = pair.count.saturating_sub(1);
            if pair.count < self.max_failures {
                pair.locked_until_ms = None;
            }
        }
    }

    /// The attempt failed (the pair counted it in [`LoginThrottle::begin_attempt`]); the
    /// account-wide backoff grows.
    pub fn record_failure(&self, account: &str) {
        self.total_failures.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now_ms();
        let window = self.window_ms();
        let mut entries = self.lock();
        let backoff = entries
            .accounts
            .entry(account.to_owned())
            .or_insert(AccountBackoff {
                failures: 0,
                first_at_ms: now,
                paused_until_ms: 0,
            });
        if now >= backoff.first_at_ms + window && now >= backoff.paused_until_ms {
            *backoff = AccountBackoff {
                failures: 0,
                first_at_ms: now,
                paused_until_ms: 0,
            };
        }
        backoff.failures += 1;
        if let Some(excess) = backoff.failures.checked_sub(self.max_failures) {
            let pause = 1000u64 << excess.min(16);
            backoff.paused_until_ms = now + pause.min(BACKOFF_CAP.as_millis() as u64);
        }
    }

    /// Failed logins since start-up, for the admin stats.
    pub fn total_failures(&self) -> u64 {
        self.total_failures.load(Ordering::Relaxed)
    }

    /// The right password from this client: its failures on this account are forgotten.
    pub fn record_success(&self, account: &str, client: IpAddr) {
        self.lock().pairs.remove(&(account.to_owned(), client));
    }

    /// Forgets entries whose window and lock have both passed, so the maps cannot grow without
    /// bound under a spray of made-up usernames.
    pub fn sweep(&self) {
        let now = self.clock.now_ms();
        let window = self.window_ms();
        let mut entries = self.lock();
        entries.pairs.retain(|_, f| {
            now < f.first_at_ms + window || f.locked_until_ms.is_some_and(|until| now < until)
        });
        entries
            .accounts
            .retain(|_, b| now < b.first_at_ms + window || now < b.paused_until_ms);
    }

    fn window_ms(&self) -> u64 {
        self.lockout.as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::server::clock::ManualClock;

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));

    fn throttle(clock: &ManualClock) -> LoginThrottle {
        LoginThrottle::new(3, Duration::from_secs(60), Arc::new(clock.clone()))
    }

    fn fail(throttle: &LoginThrottle, account: &str, client: IpAddr) -> Result<(), u64> {
        throttle.begin_attempt(account, client)?;
        throttle.record_failure(account);
        Ok(())
    }

    #[test]
    fn the_pair_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..3 {
            assert_eq!(fail(&throttle, "alice", ATTACKER), Ok(()));
        }
        assert_eq!(throttle.begin_attempt("alice", ATTACKER), Err(60));
        clock.advance(Duration::from_secs(59));
        assert_eq!(throttle.begin_attempt("alice", ATTACKER), Err(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(throttle.begin_attempt("alice", ATTACKER), Ok(()));
        assert_eq!(throttle.total_failures(), 3);
    }

    #[test]
    fn a_locked_out_attacker_does_not_lock_the_account_for_another_address() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..20 {
            let _ = fail(&throttle, "alice", ATTACKER);
            clock.advance(Duration::from_millis(100));
        }
        assert!(throttle.begin_attempt("alice", ATTACKER).is_err());
        assert_eq!(throttle.begin_attempt("alice", HOME), Ok(()));
    }

    #[test]
    fn the_account_wide_backoff_doubles_is_capped_and_spares_addresses_without_failures() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        // Ten addresses, one guess each: the account reaches its threshold, then backs off.
        let guesser = |n: u8| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n));
        for n in 0..10 {
            assert_eq!(fail(&throttle, "alice", guesser(n)), Ok(()));
        }
        // 10 failures, threshold 3: the pause is 2^7 s, capped at 30 s.
        assert_eq!(throttle.begin_attempt("alice", guesser(0)), Err(30));
        assert_eq!(throttle.begin_attempt("alice", HOME), Ok(()));
        clock.advance(BACKOFF_CAP);
        assert_eq!(throttle.begin_attempt("alice", guesser(0)), Ok(()));
    }

    #[test]
    fn attempts_in_flight_count_before_their_outcome_is_known() {
        let throttle = throttle(&ManualClock::new());
        // Three parallel attempts begin before any of them has failed: the fourth is refused.
        for _ in 0..3 {
            assert_eq!(throttle.begin_attempt("alice", HOME), Ok(()));
        }
        assert!(throttle.begin_attempt("alice", HOME).is_err());
    }

    #[test]
    fn an_abandoned_attempt_does_not_count() {
        let throttle = throttle(&ManualClock::new());
        for _ in 0..10 {
            throttle.begin_attempt("alice", HOME).unwrap();
            throttle.abandon_attempt("alice", HOME);
        }
        assert_eq!(throttle.begin_attempt("alice", HOME), Ok(()));
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..5 {
            assert_eq!(fail(&throttle, "alice", HOME), Ok(()));
            clock.advance(Duration::from_secs(31));
        }
    }

    #[test]
    fn success_resets_the_count_and_other_accounts_are_unaffected() {
        let throttle = throttle(&ManualClock::new());
        fail(&throttle, "alice", HOME).unwrap();
        fail(&throttle, "alice", HOME).unwrap();
        throttle.begin_attempt("alice", HOME).unwrap();
        throttle.record_success("alice", HOME);
        assert_eq!(throttle.begin_attempt("alice", HOME), Ok(()));
        assert_eq!(throttle.begin_attempt("admin", HOME), Ok(()));
    }

    #[test]
    fn sweep_forgets_stale_entries() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        fail(&throttle, "ghost", ATTACKER).unwrap();
        clock.advance(Duration::from_secs(61));
        throttle.sweep();
        let entries = throttle.lock();
        assert!(entries.pairs.is_empty() && entries.accounts.is_empty());
    }
}
