//! This process's view of revoked sessions, so a protected request is checked in memory.
//!
//! Every instance appends its revocations to the store's log and reads everyone's back every
//! [`REVOCATION_POLL`](crate::server::REVOCATION_POLL); its own take effect here at once. An
//! entry is kept only as long as an access token it could affect may live.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use crate::server::core::store::{Cursor, Revocation, Store, StoreResult};

/// Why an access token's session no longer backs it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessRefusal {
    /// The session ended (logout, reuse, revocation): every token of it is refused.
    #[error("the session was revoked")]
    Revoked,
    /// The session lives, but this token was issued before its access tokens were expired
    /// (the demo's "expire access token"); a refresh gets a new one.
    #[error("token predates an expire-access cut-off")]
    CutOff,
}

#[derive(Default)]
pub(super) struct RevocationCache {
    inner: Mutex<Inner>,
    /// Held across the poll's store call, so two polls never apply the log twice.
    cursor: tokio::sync::Mutex<Cursor>,
}

#[derive(Default)]
struct Inner {
    /// session id → (floor, when it was set)
    floors: HashMap<String, (u64, u64)>,
}

impl RevocationCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data: still consistent after a panic elsewhere.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a token of `session_id` at `ver` may pass.
    pub(super) fn admit(&self, session_id: &str, ver: u64) -> Result<(), AccessRefusal> {
        match self.lock().floors.get(session_id) {
            Some((u64::MAX, _)) => Err(AccessRefusal::Revoked),
            Some((floor, _)) if ver < *floor => Err(AccessRefusal::CutOff),
            _ => Ok(()),
        }
    }

    /// Raises the session's floor (floors never go down: entries may arrive twice or late).
    pub(super) fn apply(&self, revocation: &Revocation) {
        let mut inner = self.lock();
        let entry = inner
            .floors
            .entry(revocation.session_id.clone())
            .or_insert((0, revocation.at_ms));
        if revocation.floor >= entry.0 {
            *entry = (revocation.floor, revocation.at_ms.max(entry.1));
        }
    }

    pub(super) async fn sync(&self, store: &dyn Store) -> StoreResult<()> {
        let mut cursor = self.cursor.lock().await;
        let (entries, next) = store.revocations_after(&cursor).await?;
        for entry in &entries {
            self.apply(entry);
        }
        *cursor = next;
        Ok(())
    }

    /// Forgets floors set before `horizon_ms`: no token they bind is alive any more.
    pub(super) fn forget_before(&self, horizon_ms: u64) {
        self.lock().floors.retain(|_, (_, at)| *at >= horizon_ms);
    }
}
