//! Typed throttle entries over the store's compare-and-swap: load the state, decide in plain
//! Rust, commit only if nobody wrote in between, otherwise decide again on what they wrote.
//! The sign-in throttle and the per-address limit commit every decision through here, so any
//! number of instances on one store count every attempt exactly once — never read-then-write.

use serde::{de::DeserializeOwned, Serialize};

use super::{Store, StoreError, StoreResult};

/// How often one decision may lose its compare-and-swap before it gives up (a 503 for the
/// client). Each loss means another attempt on the same key was counted, so this is only
/// reached under far more parallel attempts on one key than any guesser gets past the limits.
const MAX_RACES: usize = 64;

/// What a decision writes back: the new state, kept until `expires_at_ms`, after which the
/// state is as good as absent (the store may forget it).
pub struct Write<S> {
    pub state: S,
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
    for _ in 0..MAX_RACES {
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
    Err(StoreError::Backend(format!(
        "a throttle entry lost {MAX_RACES} races in a row"
    )))
}

fn decode<S: DeserializeOwned>(body: &str) -> StoreResult<S> {
    serde_json::from_str(body).map_err(|error| StoreError::Corrupt(error.to_string()))
}
