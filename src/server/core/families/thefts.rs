//! Sessions ended by reuse detection, remembered per user for a day, so the Sessions page can
//! show a theft (outcome `reuse_revoked` in `/metrics`) beside the harmless grace replays: the
//! family itself is deleted when reuse revokes it, and with it everything it counted.

use serde::{Deserialize, Serialize};

use super::FamilyRegistry;
use crate::server::core::store::{entries, FamilyRecord, StoreResult};

/// Reuse-ended sessions kept per user (the newest).
const REMEMBERED: usize = 10;
/// How long one is kept.
const KEPT_MS: u64 = 24 * 60 * 60 * 1000;

/// A session reuse detection ended: what it was when its rotated-away credential came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedByReuse {
    /// The ended session's id.
    pub id: String,
    /// The client the family was issued to.
    pub client_id: String,
    /// The browser that signed in, coarsely, if one was seen.
    pub user_agent: Option<String>,
    /// When the session started (ms since the Unix epoch).
    pub created_at_ms: u64,
    /// When reuse was detected and the session revoked (ms since the Unix epoch).
    pub ended_at_ms: u64,
    /// The current credential's generation then: how many rotations the session had.
    pub generation: u64,
    /// Refreshes answered from the grace window before the end: harmless ones, for comparison.
    pub grace_replays: u64,
}

/// The store entry of one user's list (beside the throttle's `account:` and `client:` keys).
fn key(user_id: &str) -> String {
    format!("reuse:{user_id}")
}

impl FamilyRegistry {
    /// Adds a family reuse detection just revoked to its user's list, in one compare-and-swap.
    pub(super) async fn remember_reuse(&self, id: &str, family: &FamilyRecord) -> StoreResult<()> {
        let now = self.clock.now_ms();
        let ended = EndedByReuse {
            id: id.to_owned(),
            client_id: family.client_id.clone(),
            user_agent: family.user_agent.clone(),
            created_at_ms: family.created_at_ms,
            ended_at_ms: now,
            generation: family.generation,
            grace_replays: family.grace_replays,
        };
        entries::decide(
            self.store.as_ref(),
            &key(&family.user_id),
            |stored: Option<Vec<EndedByReuse>>| {
                let mut list = stored.unwrap_or_default();
                list.retain(|kept| now < kept.ended_at_ms + KEPT_MS && kept.id != id);
                list.push(ended.clone());
                let excess = list.len().saturating_sub(REMEMBERED);
                list.drain(..excess);
                let write = entries::Write {
                    state: list,
                    expires_at_ms: now + KEPT_MS,
                };
                ((), Some(write))
            },
        )
        .await
    }

    /// The user's sessions that reuse detection ended in the last day, oldest first.
    pub async fn ended_by_reuse(&self, user_id: &str) -> StoreResult<Vec<EndedByReuse>> {
        let now = self.clock.now_ms();
        let list: Vec<EndedByReuse> = entries::read(self.store.as_ref(), &key(user_id))
            .await?
            .unwrap_or_default();
        Ok(list
            .into_iter()
            .filter(|kept| now < kept.ended_at_ms + KEPT_MS)
            .collect())
    }
}
