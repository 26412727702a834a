//! A user's own sessions, as the Sessions page and `GET/DELETE /api/sessions` see them: listed
//! from the store, ended one at a time, each ending the same revocation a logout is.

use super::FamilyRegistry;
use crate::server::core::store::{FamilyRecord, StoreResult};

/// A live session of one user: its id and the family as stored.
#[derive(Clone, Debug)]
pub struct LiveSession {
    /// The session (family) id, as `DELETE /api/sessions/{id}` takes it.
    pub id: String,
    /// The family as stored: client, user agent, times and counters for the Sessions page.
    pub family: FamilyRecord,
}

impl FamilyRegistry {
    /// The user's live sessions, oldest first. Families that expired but were not yet swept,
    /// or that ended between the index read and the load, are left out.
    pub async fn sessions_of(&self, user_id: &str) -> StoreResult<Vec<LiveSession>> {
        let now = self.clock.now_ms();
        let mut listed = self.store.user_families(user_id).await?;
        listed.sort_by(|(a_id, a_created), (b_id, b_created)| {
            (a_created, a_id).cmp(&(b_created, b_id))
        });
        let mut sessions = Vec::with_capacity(listed.len());
        for (id, _) in listed {
            let Some(stored) = self.store.load_family(&id).await? else {
                continue;
            };
            if stored.family.user_id == user_id && now < self.expires_at(&stored.family) {
                sessions.push(LiveSession {
                    id,
                    family: stored.family,
                });
            }
        }
        Ok(sessions)
    }

    /// Ends `session_id` if it is a live session of `user_id`, as a logout would; `false` when
    /// it is not (gone, expired, or someone else's — the caller cannot tell which). A family's
    /// owner never changes, so reading it first and revoking after decides nothing twice.
    pub async fn end_session_of(&self, user_id: &str, session_id: &str) -> StoreResult<bool> {
        let now = self.clock.now_ms();
        let owned = self
            .store
            .load_family(session_id)
            .await?
            .is_some_and(|stored| {
                stored.family.user_id == user_id && now < self.expires_at(&stored.family)
            });
        if owned {
            self.revoke(session_id).await?;
        }
        Ok(owned)
    }
}
