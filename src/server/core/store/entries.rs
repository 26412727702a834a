//! Typed throttle entries over the store's compare-and-swap: load the state, decide in plain
//! Rust, commit only if nobody wrote in between, otherwise decide again on what they wrote.
//! The sign-in throttle and the per-address limit commit every decision through here, so any
//! number of instances on one store count every attempt exactly once — never read-then-write.

use std::time::Duration;

use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};

use crate::server::core::store::{Store, StoreError, StoreResult};

/// How often one decision may lose its compare-and-swap before it gives up (a 503 for the
/// client). Each loss means another attempt on the same key was counted; with the waits of
/// [`lost_a_race`], 200 sign-ins at once from one address (`scripts/bench.sh`) all get through
/// on SQLite, the slowest writer, with room to spare.
const MAX_RACES: usize = 128;

/// What a decision writes back: the new state, kept until `expires_at_ms`, after which the
/// state is as good as absent (the store may forget it).
pub struct Write<S> {
    /// The state to store, serialised as JSON.
    pub state: S,
    /// When the store may forget the entry (ms since the Unix epoch).
    pub expires_at_ms: u64,
}

/// The state under `key`, if any (a plain read, for a decision that writes elsewhere).
pub async fn read<S: DeserializeOwned>(store: &dyn Store, key: &str) -> StoreResult<Option<S>> {
    store
        .load_throttle(key)
        .await?
        .map(|entry| decode(&entry.body))
        .transpose()
}

/// Runs `decide` on the state under `key` (`None` when there is none) and commits the state it
/// returns with a compare-and-swap, running it again on what the winner wrote whenever another
/// writer got there first. Returns the answer of the decision that was committed (or that
/// wrote nothing).
pub async fn decide<S, T>(
    store: &dyn Store,
    key: &str,
    mut decide: impl FnMut(Option<S>) -> (T, Option<Write<S>>),
) -> StoreResult<T>
where
    S: Serialize + DeserializeOwned,
{
    for race in 0..MAX_RACES {
        if race > 0 {
            lost_a_race(race).await;
        }
        let stored = store.load_throttle(key).await?;
        let rev = stored.as_ref().map(|entry| entry.rev);
        let state = stored.map(|entry| decode(&entry.body)).transpose()?;
        let (answer, write) = decide(state);
        let Some(Write {
            state,
            expires_at_ms,
        }) = write
        else {
            return Ok(answer);
        };
        let body = serde_json::to_string(&state)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        if store
            .replace_throttle(key, rev, &body, expires_at_ms)
            .await?
        {
            return Ok(answer);
        }
    }
    // Not the key: it carries a username as typed, and people type passwords into that field.
    let error = StoreError::Backend(format!("a throttle entry lost {MAX_RACES} races in a row"));
    tracing::warn!(%error, "sign-in refused: its count could not be committed");
    Err(error)
}

/// Waits a random while after a lost compare-and-swap, up to twice as long after each further
/// loss (at most 32 ms): a crowd of attempts on one key (an office behind one address, all
/// signing in at nine) spreads out instead of losing to each other in lockstep.
async fn lost_a_race(race: usize) {
    let ceiling_us = 1000u64 << race.min(5);
    let wait = Duration::from_micros(rand::thread_rng().gen_range(0..ceiling_us));
    tokio::time::sleep(wait).await;
}

fn decode<S: DeserializeOwned>(body: &str) -> StoreResult<S> {
    serde_json::from_str(body).map_err(|error| StoreError::Corrupt(error.to_string()))
}
