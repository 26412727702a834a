//! tower-sessions' `SessionStore` over our [`Store`], so the browser-session records live in the
//! same backend as the families they mirror.
//!
//! Written here rather than taken from crates.io: the published stores (tower-sessions-sqlx-store
//! 0.15, -redis-store 0.16, -moka-store 0.15) implement tower-sessions-core 0.14's trait, not
//! the 0.15 one this app uses, and the trait is four small methods over primitives we have.

use std::{fmt, sync::Arc};

use tower_sessions::{
    cookie::time::OffsetDateTime,
    session::{Id, Record},
    session_store::{Error, Result},
    SessionStore,
};

use super::{Store, StoredRecord};

#[derive(Clone)]
pub struct SessionRecords {
    store: Arc<dyn Store>,
}

impl SessionRecords {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
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

fn backend(error: super::StoreError) -> Error {
    Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SessionRecords {
    /// A fresh id on collision (128 random bits make one unlikely, but never silently shared).
    async fn create(&self, record: &mut Record) -> Result<()> {
        let value = stored(record)?;
        while !self
            .store
            .create_record(record.id.0, &value)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .save_record(record.id.0, &stored(record)?)
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
        self.store.delete_record(id.0).await.map_err(backend)
    }
}
