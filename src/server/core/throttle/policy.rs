//! The throttle's rules as plain functions of (state, now): no store, no clock, so each rule is
//! tested by handing it a time. `mod.rs` loads the state and commits what these return.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest pause the account-wide backoff imposes: bounded, so an attacker can make the real
/// user wait this long at worst, never lock them out.
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Failures of one client address on one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairFailures {
    pub count: u32,
    pub first_at_ms: u64,
    pub locked_until_ms: Option<u64>,
}

/// Failures on one account from every address, and the pause they earned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBackoff {
    pub failures: u32,
    pub first_at_ms: u64,
    pub paused_until_ms: u64,
}

/// `LOGIN_MAX_FAILURES` within a window of `LOGIN_LOCKOUT_SECS`.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub max_failures: u32,
    pub window_ms: u64,
}

impl Policy {
    /// An attempt of this pair begins: the pair's state with the attempt counted, or
    /// `Err(seconds to wait)` while the pair is locked, or paused by the account's backoff
    /// after failing already (then nothing changes).
    pub fn begin(
        &self,
        pair: Option<PairFailures>,
        backoff: Option<&AccountBackoff>,
        now: u64,
    ) -> Result<PairFailures, u64> {
        let mut pair = pair.unwrap_or_else(|| fresh(now));
        if let Some(until) = pair.locked_until_ms.filter(|until| now < *until) {
            return Err(seconds(until - now));
        }
        if now >= pair.first_at_ms + self.window_ms || pair.locked_until_ms.is_some() {
            pair = fresh(now);
        }
        if let Some(backoff) = backoff {
            if pair.count > 0 && now < backoff.paused_until_ms {
                return Err(seconds(backoff.paused_until_ms - now));
            }
        }
        pair.count += 1;
        if pair.count >= self.max_failures {
            pair.locked_until_ms = Some(now + self.window_ms);
        }
        Ok(pair)
    }

    /// The attempt was never decided (no hashing slot came free): it does not count.
    pub fn abandon(&self, mut pair: PairFailures) -> PairFailures {
        pair.count = pair.count.saturating_sub(1);
        if pair.count < self.max_failures {
            pair.locked_until_ms = None;
        }
        pair
    }

    /// The right password from this pair: its failures are forgotten.
    pub fn succeed(&self, now: u64) -> PairFailures {
        fresh(now)
    }

    /// A failure on the account: past `max_failures` in the window, each one doubles the pause.
    pub fn fail(&self, backoff: Option<AccountBackoff>, now: u64) -> AccountBackoff {
        let fresh = AccountBackoff {
            failures: 0,
            first_at_ms: now,
            paused_until_ms: 0,
        };
        let mut backoff = backoff.unwrap_or(fresh);
        if now >= backoff.first_at_ms + self.window_ms && now >= backoff.paused_until_ms {
            backoff = fresh;
        }
        backoff.failures += 1;
        if let Some(excess) = backoff.failures.checked_sub(self.max_failures) {
            let pause = 1000u64 << excess.min(16);
            backoff.paused_until_ms = now + pause.min(BACKOFF_CAP.as_millis() as u64);
        }
        backoff
    }

    /// When the pair's state no longer matters (its window and lock have passed): the store
    /// may forget it then.
    pub fn pair_expires_at(&self, pair: &PairFailures) -> u64 {
        (pair.first_at_ms + self.window_ms).max(pair.locked_until_ms.unwrap_or(0))
    }

    /// When the account's backoff no longer matters (its window and pause have passed).
    pub fn backoff_expires_at(&self, backoff: &AccountBackoff) -> u64 {
        (backoff.first_at_ms + self.window_ms).max(backoff.paused_until_ms)
    }
}

fn fresh(now: u64) -> PairFailures {
    PairFailures {
        count: 0,
        first_at_ms: now,
        locked_until_ms: None,
    }
}

/// Whole seconds for `Retry-After`, rounded up so a client never retries too early.
fn seconds(millis: u64) -> u64 {
    millis.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        max_failures: 3,
        window_ms: 60_000,
    };
    const T0: u64 = 1_000_000;

    /// `n` attempts of one pair at `now`, none of them abandoned.
    fn attempts(n: u32, now: u64) -> PairFailures {
        (0..n)
            .fold(None, |pair, _| Some(POLICY.begin(pair, None, now).unwrap()))
            .unwrap()
    }

    #[test]
    fn the_pair_locks_at_max_failures_for_the_window_then_starts_afresh() {
        let locked = attempts(3, T0);
        assert_eq!(locked.locked_until_ms, Some(T0 + 60_000));
        assert_eq!(POLICY.begin(Some(locked), None, T0), Err(60));
        assert_eq!(POLICY.begin(Some(locked), None, T0 + 59_001), Err(1));
        let after = POLICY.begin(Some(locked), None, T0 + 60_000).unwrap();
        assert_eq!((after.count, after.locked_until_ms), (1, None));
        assert_eq!(POLICY.pair_expires_at(&locked), T0 + 60_000);
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let two = attempts(2, T0);
        let later = POLICY.begin(Some(two), None, T0 + 60_000).unwrap();
        assert_eq!(later.count, 1);
    }

    #[test]
    fn the_account_pause_holds_back_only_pairs_that_failed_already() {
        let backoff = AccountBackoff {
            failures: 3,
            first_at_ms: T0,
            paused_until_ms: T0 + 4_000,
        };
        assert!(
            POLICY.begin(None, Some(&backoff), T0).is_ok(),
            "a clean address"
        );
        let failed_once = attempts(1, T0);
        assert_eq!(POLICY.begin(Some(failed_once), Some(&backoff), T0), Err(4));
        assert!(POLICY
            .begin(Some(failed_once), Some(&backoff), T0 + 4_000)
            .is_ok());
    }

    #[test]
    fn the_pause_doubles_from_one_second_and_stops_at_the_cap() {
        let mut backoff = None;
        let mut pauses = Vec::new();
        for _ in 0..10 {
            let next = POLICY.fail(backoff, T0);
            pauses.push(next.paused_until_ms.saturating_sub(T0) / 1000);
            backoff = Some(next);
        }
        assert_eq!(pauses, [0, 0, 1, 2, 4, 8, 16, 30, 30, 30]);
        let backoff = backoff.unwrap();
        assert_eq!(POLICY.backoff_expires_at(&backoff), T0 + 60_000);
        // Once window and pause have passed, the count starts again.
        assert_eq!(POLICY.fail(Some(backoff), T0 + 60_000).failures, 1);
    }

    #[test]
    fn an_abandoned_attempt_is_uncounted_and_unlocks() {
        let locked = attempts(3, T0);
        let abandoned = POLICY.abandon(locked);
        assert_eq!((abandoned.count, abandoned.locked_until_ms), (2, None));
        assert_eq!(POLICY.abandon(POLICY.succeed(T0)).count, 0);
    }
}
