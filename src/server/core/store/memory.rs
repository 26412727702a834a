//! `memory://`: the store in this process's memory, for tests and throwaway runs. One lock
//! makes every primitive atomic; nothing survives a restart.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use crate::server::core::store::{
    Cursor, Decide, FamilyRecord, FamilyWrite, Revocation, Store, StoreResult, StoredRecord,
    ThrottleEntry, Versioned,
};

/// The `memory://` store: one process's maps behind one lock, so it cannot be shared by
/// instances.
#[derive(Default)]
pub struct MemoryBackend {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// id → (family, revision, expires_at_ms)
    families: HashMap<String, (FamilyRecord, u64, u64)>,
    records: HashMap<i128, StoredRecord>,
    /// (sequence number, entry); sequence numbers only grow.
    revocations: Vec<(u64, Revocation)>,
    next_seq: u64,
    /// [`Store::keep_once`]'s values, by name.
    kept: HashMap<String, Vec<u8>>,
    /// key → (entry, expires_at_ms)
    throttle: HashMap<String, (ThrottleEntry, u64)>,
}

impl Inner {
    /// A family write at revision `rev` (checked by the caller), with the records it creates
    /// and lets go of, all or nothing.
    fn apply(&mut self, id: &str, rev: u64, write: FamilyWrite) -> StoreResult<()> {
        if let Some((created, record)) = write.create_record {
            if self.records.contains_key(&created) {
                return Err(crate::server::core::store::record_id_taken());
            }
            self.records.insert(created, record);
        }
        if let Some(record) = write.drop_record {
            self.records.remove(&record);
        }
        let stored = (write.family, rev + 1, write.expires_at_ms);
        self.families.insert(id.to_owned(), stored);
        Ok(())
    }
}

impl MemoryBackend {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data: still consistent after a panic elsewhere, and refusing every later
        // request would be worse.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl Store for MemoryBackend {
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>> {
        Ok(self
            .lock()
            .families
            .get(id)
            .map(|(family, rev, _)| Versioned {
                family: family.clone(),
                rev: *rev,
            }))
    }

    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()> {
        self.lock()
            .families
            .insert(id.to_owned(), (family.clone(), 1, expires_at_ms));
        Ok(())
    }

    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool> {
        let mut inner = self.lock();
        if inner.families.get(id).is_none_or(|stored| stored.1 != rev) {
            return Ok(false);
        }
        inner.apply(id, rev, write.clone())?;
        Ok(true)
    }

    /// Decided under the one lock: nobody can write in between, so this never loses.
    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        let mut inner = self.lock();
        let Some(stored) = inner.families.get(id) else {
            decide(None);
            return Ok(true);
        };
        let rev = stored.1;
        if let Some(write) = decide(Some(&stored.0)) {
            inner.apply(id, rev, write)?;
        }
        Ok(true)
    }

    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        Ok(self.lock().families.remove(id).map(|(family, _, _)| family))
    }

    async fn user_families(&self, user_id: &str) -> StoreResult<Vec<(String, u64)>> {
        Ok(self
            .lock()
            .families
            .iter()
            .filter(|(_, (family, _, _))| family.user_id == user_id)
            .map(|(id, (family, _, _))| (id.clone(), family.created_at_ms))
            .collect())
    }

    async fn count_families(&self) -> StoreResult<u64> {
        Ok(self.lock().families.len() as u64)
    }

    async fn load_record(&self, id: i128) -> StoreResult<Option<StoredRecord>> {
        Ok(self.lock().records.get(&id).cloned())
    }

    async fn create_record(&self, id: i128, record: &StoredRecord) -> StoreResult<bool> {
        let mut inner = self.lock();
        if inner.records.contains_key(&id) {
            return Ok(false);
        }
        inner.records.insert(id, record.clone());
        Ok(true)
    }

    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()> {
        self.lock().records.insert(id, record.clone());
        Ok(())
    }

    async fn delete_record(&self, id: i128) -> StoreResult<()> {
        self.lock().records.remove(&id);
        Ok(())
    }

    async fn count_records(&self) -> StoreResult<u64> {
        Ok(self.lock().records.len() as u64)
    }

    async fn publish_revocation(&self, revocation: &Revocation) -> StoreResult<()> {
        let mut inner = self.lock();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        inner.revocations.push((seq, revocation.clone()));
        Ok(())
    }

    async fn revocations_after(&self, cursor: &Cursor) -> StoreResult<(Vec<Revocation>, Cursor)> {
        let after: u64 = cursor.0.parse().unwrap_or(0);
        let inner = self.lock();
        let entries = inner
            .revocations
            .iter()
            .filter(|(seq, _)| *seq > after)
            .map(|(_, entry)| entry.clone())
            .collect();
        Ok((entries, Cursor(inner.next_seq.to_string())))
    }

    async fn load_throttle(&self, key: &str) -> StoreResult<Option<ThrottleEntry>> {
        Ok(self
            .lock()
            .throttle
            .get(key)
            .map(|(entry, _)| entry.clone()))
    }

    async fn replace_throttle(
        &self,
        key: &str,
        rev: Option<u64>,
        body: &str,
        expires_at_ms: u64,
    ) -> StoreResult<bool> {
        let mut inner = self.lock();
        let stored = inner.throttle.get(key).map(|(entry, _)| entry.rev);
        if stored != rev {
            return Ok(false);
        }
        let entry = ThrottleEntry {
            body: body.to_owned(),
            rev: rev.unwrap_or(0) + 1,
        };
        inner
            .throttle
            .insert(key.to_owned(), (entry, expires_at_ms));
        Ok(true)
    }

    async fn keep_once(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        Ok(self
            .lock()
            .kept
            .entry(name.to_owned())
            .or_insert_with(|| candidate.to_vec())
            .clone())
    }

    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>> {
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .families
            .iter()
            .filter(|(_, (_, _, expires))| *expires <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        let removed = expired
            .iter()
            .filter_map(|id| inner.families.remove(id).map(|(family, _, _)| family))
            .collect();
        inner
            .records
            .retain(|_, record| record.expires_at_ms > now_ms);
        inner
            .throttle
            .retain(|_, (_, expires_at_ms)| *expires_at_ms > now_ms);
        inner
            .revocations
            .retain(|(_, entry)| entry.at_ms >= log_horizon_ms);
        Ok(removed)
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }
}
