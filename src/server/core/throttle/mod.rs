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
//!
//! Both live in the store (`STORE_URL`), each change committed with a compare-and-swap
//! ([`entries::decide`]): instances sharing a store share every count, so a guesser cannot
//! multiply their attempts by the number of instances, and a restart does not lift a lockout.
//! The rules themselves are in `policy`.

mod policy;

use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

pub use policy::BACKOFF_CAP;
use policy::{AccountBackoff, PairFailures, Policy};

use crate::server::core::{
    clock::Clock,
    store::{
        entries::{self, Write},
        Store, StoreResult,
    },
};

/// Failure counts per (lower-cased) username, unknown usernames included, so throttling does not
/// reveal which accounts exist.
pub struct LoginThrottle {
    store: Arc<dyn Store>,
    policy: Policy,
    clock: Arc<dyn Clock>,
    total_failures: AtomicU64,
}

impl LoginThrottle {
    /// `max_failures` failures within `lockout` lock an account for one address for `lockout`,
    /// and start the account-wide backoff (`LOGIN_MAX_FAILURES`, `LOGIN_LOCKOUT_SECS`).
    pub fn new(
        store: Arc<dyn Store>,
        max_failures: u32,
        lockout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            policy: Policy {
                max_failures,
                window_ms: lockout.as_millis() as u64,
            },
            clock,
            total_failures: AtomicU64::new(0),
        }
    }

    /// Starts a login attempt: `Ok(Err(seconds to wait))` while this client may not try this
    /// account. Otherwise the attempt is counted as a failure *now*, before the password is
    /// checked, so that parallel guesses are counted too; [`LoginThrottle::record_success`]
    /// wipes the count. `Err` when the store failed: then nothing may be let through.
    pub async fn begin_attempt(
        &self,
        account: &str,
        client: IpAddr,
    ) -> StoreResult<Result<(), u64>> {
        // A plain read: a failure recorded meanwhile on another address is as if it came after.
        let backoff: Option<AccountBackoff> =
            entries::read(self.store.as_ref(), &account_key(account)).await?;
        entries::decide(self.store.as_ref(), &pair_key(account, client), |pair| {
            let now = self.clock.now_ms();
            match self.policy.begin(pair, backoff.as_ref(), now) {
                Ok(pair) => (Ok(()), Some(self.pair_write(pair))),
                Err(wait) => (Err(wait), None),
            }
        })
        .await
    }

    /// The attempt was never decided (no hashing slot came free): it does not count.
    pub async fn abandon_attempt(&self, account: &str, client: IpAddr) -> StoreResult<()> {
        entries::decide(self.store.as_ref(), &pair_key(account, client), |pair| {
            (
                (),
                pair.map(|pair| self.pair_write(self.policy.abandon(pair))),
            )
        })
        .await
    }

    /// The attempt failed (the pair counted it in [`LoginThrottle::begin_attempt`]); the
    /// account-wide backoff grows.
    pub async fn record_failure(&self, account: &str) -> StoreResult<()> {
        self.total_failures.fetch_add(1, Ordering::Relaxed);
        entries::decide(self.store.as_ref(), &account_key(account), |backoff| {
            let backoff = self.policy.fail(backoff, self.clock.now_ms());
            let expires_at_ms = self.policy.backoff_expires_at(&backoff);
            (
                (),
                Some(Write {
                    state: backoff,
                    expires_at_ms,
                }),
            )
        })
        .await
    }

    /// Failed logins on this instance since it started, for the admin stats (like the refresh
    /// counters, this instance's share).
    pub fn total_failures(&self) -> u64 {
        self.total_failures.load(Ordering::Relaxed)
    }

    /// The right password from this client: its failures on this account are forgotten.
    pub async fn record_success(&self, account: &str, client: IpAddr) -> StoreResult<()> {
        entries::decide(self.store.as_ref(), &pair_key(account, client), |pair| {
            let fresh = self.policy.succeed(self.clock.now_ms());
            ((), pair.map(|_| self.pair_write(fresh)))
        })
        .await
    }

    fn pair_write(&self, pair: PairFailures) -> Write<PairFailures> {
        Write {
            expires_at_ms: self.policy.pair_expires_at(&pair),
            state: pair,
        }
    }
}

/// The store key of an account's backoff.
fn account_key(account: &str) -> String {
    format!("account:{account}")
}

/// The store key of a (client, account) pair's failures. An address never contains `/`, so
/// the first one ends it whatever the username holds.
fn pair_key(account: &str, client: IpAddr) -> String {
    format!("pair:{client}/{account}")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::server::core::{clock::ManualClock, store::memory::MemoryBackend};

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));

    fn throttle(clock: &ManualClock) -> LoginThrottle {
        let store = Arc::new(MemoryBackend::default());
        LoginThrottle::new(store, 3, Duration::from_secs(60), Arc::new(clock.clone()))
    }

    async fn begin(throttle: &LoginThrottle, account: &str, client: IpAddr) -> Result<(), u64> {
        throttle.begin_attempt(account, client).await.unwrap()
    }

    async fn fail(throttle: &LoginThrottle, account: &str, client: IpAddr) -> Result<(), u64> {
        begin(throttle, account, client).await?;
        throttle.record_failure(account).await.unwrap();
        Ok(())
    }

    #[tokio::test]
    async fn the_pair_locks_after_max_failures_and_unlocks_after_the_lockout() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..3 {
            assert_eq!(fail(&throttle, "alice", ATTACKER).await, Ok(()));
        }
        assert_eq!(begin(&throttle, "alice", ATTACKER).await, Err(60));
        clock.advance(Duration::from_secs(59));
        assert_eq!(begin(&throttle, "alice", ATTACKER).await, Err(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(begin(&throttle, "alice", ATTACKER).await, Ok(()));
        assert_eq!(throttle.total_failures(), 3);
    }

    #[tokio::test]
    async fn a_locked_out_attacker_does_not_lock_the_account_for_another_address() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..20 {
            let _ = fail(&throttle, "alice", ATTACKER).await;
            clock.advance(Duration::from_millis(100));
        }
        assert!(begin(&throttle, "alice", ATTACKER).await.is_err());
        assert_eq!(begin(&throttle, "alice", HOME).await, Ok(()));
    }

    #[tokio::test]
    async fn the_account_wide_backoff_doubles_is_capped_and_spares_addresses_without_failures() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        // Ten addresses, one guess each: the account reaches its threshold, then backs off.
        let guesser = |n: u8| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n));
        for n in 0..10 {
            assert_eq!(fail(&throttle, "alice", guesser(n)).await, Ok(()));
        }
        // 10 failures, threshold 3: the pause is 2^7 s, capped at 30 s.
        assert_eq!(begin(&throttle, "alice", guesser(0)).await, Err(30));
        assert_eq!(begin(&throttle, "alice", HOME).await, Ok(()));
        clock.advance(BACKOFF_CAP);
        assert_eq!(begin(&throttle, "alice", guesser(0)).await, Ok(()));
    }

    #[tokio::test]
    async fn attempts_in_flight_count_before_their_outcome_is_known() {
        let throttle = throttle(&ManualClock::new());
        // Three parallel attempts begin before any of them has failed: the fourth is refused.
        for _ in 0..3 {
            assert_eq!(begin(&throttle, "alice", HOME).await, Ok(()));
        }
        assert!(begin(&throttle, "alice", HOME).await.is_err());
    }

    #[tokio::test]
    async fn an_abandoned_attempt_does_not_count() {
        let throttle = throttle(&ManualClock::new());
        for _ in 0..10 {
            begin(&throttle, "alice", HOME).await.unwrap();
            throttle.abandon_attempt("alice", HOME).await.unwrap();
        }
        assert_eq!(begin(&throttle, "alice", HOME).await, Ok(()));
    }

    #[tokio::test]
    async fn failures_spread_wider_than_the_window_do_not_lock() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        for _ in 0..5 {
            assert_eq!(fail(&throttle, "alice", HOME).await, Ok(()));
            clock.advance(Duration::from_secs(31));
        }
    }

    #[tokio::test]
    async fn success_resets_the_count_and_other_accounts_are_unaffected() {
        let throttle = throttle(&ManualClock::new());
        fail(&throttle, "alice", HOME).await.unwrap();
        fail(&throttle, "alice", HOME).await.unwrap();
        begin(&throttle, "alice", HOME).await.unwrap();
        throttle.record_success("alice", HOME).await.unwrap();
        assert_eq!(begin(&throttle, "alice", HOME).await, Ok(()));
        assert_eq!(begin(&throttle, "admin", HOME).await, Ok(()));
    }

    #[tokio::test]
    async fn the_sweep_forgets_entries_whose_window_has_passed() {
        let clock = ManualClock::new();
        let throttle = throttle(&clock);
        fail(&throttle, "ghost", ATTACKER).await.unwrap();
        let stored = |key: String| {
            let store = throttle.store.clone();
            async move { store.load_throttle(&key).await.unwrap() }
        };
        assert!(stored(pair_key("ghost", ATTACKER)).await.is_some());
        clock.advance(Duration::from_secs(60));
        throttle.store.sweep(clock.now_ms(), 0).await.unwrap();
        assert_eq!(stored(pair_key("ghost", ATTACKER)).await, None);
        assert_eq!(stored(account_key("ghost")).await, None);
    }
}
