//! tower-sessions' `SessionStore` over our [`Store`], so the browser-session records live in the
//! same backend as the families they mirror.
//!
//! Written here rather than taken from crates.io: the published stores (tower-sessions-sqlx-store
//! 0.15, -redis-store 0.16, -moka-store 0.15) implement tower-sessions-core 0.14's trait, not
//! the 0.15 one this app uses, and the trait is four small methods over primitives we have.

use std::{cell::RefCell, fmt, future::Future, sync::Arc};

use quick_cache::sync::Cache;
use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{Error, Result},
    SessionStore,
};

use crate::server::core::store::{Store, StoredRecord};

/// tower-sessions' store for browser-session records, kept in our [`Store`] beside the
/// families they mirror; clones share one cache of just-created records.
#[derive(Clone)]
pub struct SessionRecords {
    store: Arc<dyn Store>,
    /// Records this process just created, by id, with the data and expiry they were created
    /// with: see [`SessionStore::save`] below.
    just_created: Arc<Cache<i128, StoredRecord>>,
}

tokio::task_local! {
    /// Present while [`SessionRecords::holding_back`] runs: the record created or deleted then
    /// is put here instead of written.
    static HELD_BACK: RefCell<HeldBack>;
}

/// What a session's writes inside [`SessionRecords::holding_back`] would have done; the caller
/// does it in the family's own write.
#[derive(Debug, Default)]
pub struct HeldBack {
    /// The record `Session::cycle_id` would have deleted: the browser's previous id.
    pub deleted: Option<i128>,
    /// The record `Session::save` would have created, with the id it now has.
    pub created: Option<(i128, StoredRecord)>,
}

/// Creations remembered until their request ends; far more than run at once. One forgotten
/// early only costs the write it would have saved.
const JUST_CREATED: usize = 4096;

/// How much later than its creation's expiry a save may push a record's and still count as a
/// repeat: the length of a request, not of a user's inactivity.
const REPEAT_WITHIN_MS: u64 = 5_000;

impl SessionRecords {
    /// Records kept in `store`, with nothing yet remembered as just created.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            just_created: Arc::new(Cache::new(JUST_CREATED)),
        }
    }

    /// Runs `writes` (tower-sessions' `Session::cycle_id`, `save`) with the record's creation
    /// and deletion held back, and returns what they would have written. The caller writes it:
    /// the refresh creates the new record and drops the old one in the family's own write, so a
    /// refresh that renews the browser's session id costs one store write, not three. A caller
    /// that does not write the creation must `flush` the session (as a refused refresh does), or
    /// the browser keeps an id that names nothing.
    pub async fn holding_back<E>(
        writes: impl Future<Output = std::result::Result<(), E>>,
    ) -> std::result::Result<HeldBack, E> {
        HELD_BACK
            .scope(RefCell::default(), async {
                writes.await?;
                Ok(HELD_BACK.with(RefCell::take))
            })
            .await
    }
}

impl fmt::Debug for SessionRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionRecords")
    }
}

fn stored(record: &Record) -> Result<StoredRecord> {
    let millis = record.expiry_date.unix_timestamp_nanos() / 1_000_000;
    Ok(StoredRecord {
        data: serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?,
        expires_at_ms: u64::try_from(millis).unwrap_or(0),
    })
}

fn backend(error: crate::server::core::store::StoreError) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SessionRecords {
    /// A fresh id on collision (128 random bits make one unlikely, but never silently shared).
    async fn create(&self, record: &mut Record) -> Result<()> {
        let value = stored(record)?;
        let held = HELD_BACK.try_with(|held| {
            held.borrow_mut().created = Some((record.id.0, value.clone()));
        });
        if held.is_ok() {
            self.just_created.insert(record.id.0, value);
            return Ok(());
        }
        while !self
            .store
            .create_record(record.id.0, &value)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        self.just_created.insert(record.id.0, value);
        Ok(())
    }

    /// A handler that needs its record's id during the request (the refresh, which names it in
    /// the family's write) creates it with `Session::save`; tower-sessions then saves the same
    /// record again when the response leaves, because the session is still marked modified.
    /// That second write would repeat the first (its expiry later by the request's remaining
    /// milliseconds), so it is skipped: once, and only while the data is what was created and
    /// the expiry moved by no more than a request's length.
    async fn save(&self, record: &Record) -> Result<()> {
        let value = stored(record)?;
        let repeats = |(_, created): (i128, StoredRecord)| {
            created.data == value.data
                && value.expires_at_ms <= created.expires_at_ms + REPEAT_WITHIN_MS
        };
        if self.just_created.remove(&record.id.0).is_some_and(repeats) {
            return Ok(());
        }
        self.store
            .save_record(record.id.0, &value)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(value) = self.store.load_record(id.0).await.map_err(backend)? else {
            return Ok(None);
        };
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(value.expires_at_ms) * 1_000_000)
                .map_err(|e| Error::Decode(e.to_string()))?;
        // Expired but not yet swept: as good as gone.
        if expiry_date <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&value.data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        if HELD_BACK
            .try_with(|held| held.borrow_mut().deleted = Some(id.0))
            .is_ok()
        {
            return Ok(());
        }
        self.store.delete_record(id.0).await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tower_sessions::cookie::time::Duration;

    use super::*;
    use crate::server::core::store::memory::MemoryBackend;

    fn record(value: &str, expires_in: Duration) -> Record {
        Record {
            id: Id::default(),
            data: HashMap::from([("k".to_owned(), serde_json::json!(value))]),
            expiry_date: OffsetDateTime::now_utc() + expires_in,
        }
    }

    /// The store is emptied behind the adapter's back, so whether a save wrote shows.
    async fn stored_after_save(records: &SessionRecords, saved: &Record) -> bool {
        records.store.delete_record(saved.id.0).await.unwrap();
        records.save(saved).await.unwrap();
        records.load(&saved.id).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn the_save_that_repeats_a_creation_is_skipped_once() {
        let records = SessionRecords::new(Arc::new(MemoryBackend::default()));
        let mut created = record("a", Duration::hours(1));
        records.create(&mut created).await.unwrap();
        assert!(records.load(&created.id).await.unwrap().is_some());
        assert!(!stored_after_save(&records, &created).await, "a repeat");
        assert!(stored_after_save(&records, &created).await, "only once");
    }

    #[tokio::test]
    async fn a_creation_held_back_is_handed_to_the_caller_not_written() {
        let records = SessionRecords::new(Arc::new(MemoryBackend::default()));
        let mut created = record("a", Duration::hours(1));
        let held = SessionRecords::holding_back(records.create(&mut created))
            .await
            .unwrap();
        let (id, stored) = held.created.expect("the record it would have created");
        assert_eq!((id, stored.data.as_str()), (created.id.0, r#"{"k":"a"}"#));
        assert_eq!(held.deleted, None);
        assert!(records.load(&created.id).await.unwrap().is_none());
        // Outside the scope, creation writes again.
        records.create(&mut created).await.unwrap();
        assert!(records.load(&created.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_deletion_held_back_is_handed_to_the_caller_not_done() {
        let records = SessionRecords::new(Arc::new(MemoryBackend::default()));
        let mut kept = record("a", Duration::hours(1));
        records.create(&mut kept).await.unwrap();
        let held = SessionRecords::holding_back(records.delete(&kept.id))
            .await
            .unwrap();
        assert_eq!(held.deleted, Some(kept.id.0));
        assert!(records.load(&kept.id).await.unwrap().is_some());
        // Outside the scope, deletion deletes again.
        records.delete(&kept.id).await.unwrap();
        assert!(records.load(&kept.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_save_with_other_data_or_a_later_expiry_is_written() {
        let records = SessionRecords::new(Arc::new(MemoryBackend::default()));
        let mut created = record("a", Duration::hours(1));
        records.create(&mut created).await.unwrap();
        let changed = Record {
            data: record("b", Duration::hours(1)).data,
            ..created.clone()
        };
        assert!(stored_after_save(&records, &changed).await);

        let mut created = record("a", Duration::hours(1));
        records.create(&mut created).await.unwrap();
        let extended = Record {
            expiry_date: created.expiry_date + Duration::minutes(1),
            ..created.clone()
        };
        assert!(stored_after_save(&records, &extended).await);
    }
}
