//! Which user each live session belongs to, as this process has seen it. An access token counts
//! only while its `sid` names a live session *of its `sub`*: a token minted with a leaked key
//! for `sub=admin` and a made-up `sid` (or alice's) must not pass for admin's.

use quick_cache::sync::Cache;

use super::FamilyRegistry;
use crate::server::core::store::StoreResult;

/// Sessions remembered at once; a forgotten one is looked up in the store again.
const CAPACITY: usize = 10_000;

/// session id → user id, for sessions this process started, refreshed or looked up. Only live
/// sessions are remembered; revocation is the revocation log's business, checked beside this.
pub(super) struct SessionOwners(Cache<String, String>);

impl Default for SessionOwners {
    fn default() -> Self {
        Self(Cache::new(CAPACITY))
    }
}

impl SessionOwners {
    pub(super) fn remember(&self, session_id: &str, user_id: &str) {
        self.0.insert(session_id.to_owned(), user_id.to_owned());
    }

    pub(super) fn forget(&self, session_id: &str) {
        self.0.remove(session_id);
    }

    pub(super) fn owner(&self, session_id: &str) -> Option<String> {
        self.0.get(session_id)
    }

    fn is_owner(&self, session_id: &str, user_id: &str) -> bool {
        self.0.get(session_id).is_some_and(|owner| owner == user_id)
    }
}

impl FamilyRegistry {
    /// Whether `session_id` names a live session of `user_id`: from memory for a session seen
    /// before (every token this instance mints), else from the store, once per session.
    pub async fn belongs_to(&self, session_id: &str, user_id: &str) -> StoreResult<bool> {
        if self.owners.is_owner(session_id, user_id) {
            return Ok(true);
        }
        let now = self.clock.now_ms();
        let owner = self
            .store
            .load_family(session_id)
            .await?
            .filter(|stored| now < self.expires_at(&stored.family))
            .map(|stored| stored.family.user_id);
        let Some(owner) = owner else {
            return Ok(false);
        };
        self.owners.remember(session_id, &owner);
        Ok(owner == user_id)
    }
}
