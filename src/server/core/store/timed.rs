//! Every store call, bounded by `STORE_TIMEOUT_MS` and measured, in one place: a hung store
//! (a Redis process stopped with SIGSTOP, a locked SQLite file) turns into a quick
//! [`StoreError::Timeout`] — a 503 for the client — instead of a hung request.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use crate::server::core::store::{
    Cursor, Decide, FamilyRecord, FamilyWrite, Revocation, Store, StoreError, StoreResult,
    StoredRecord, ThrottleEntry, Versioned,
};

/// A [`Store`] whose every call is bounded by a timeout, timed into the
/// `tokenflight_store_seconds` histogram, and logged and counted when it fails.
pub struct Timed {
    inner: Arc<dyn Store>,
    timeout: Duration,
}

impl Timed {
    /// Wraps `inner`; a call that takes longer than `timeout` fails with
    /// [`StoreError::Timeout`].
    pub fn new(inner: Arc<dyn Store>, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        metrics::histogram!("tokenflight_store_seconds", "operation" => operation)
            .record(started.elapsed().as_secs_f64());
        if let Err(error) = &result {
            metrics::counter!("tokenflight_store_errors_total", "operation" => operation)
                .increment(1);
            tracing::warn!(%error, operation, "store call failed");
        }
        result
    }
}

#[async_trait::async_trait]
impl Store for Timed {
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>> {
        self.call("load_family", self.inner.load_family(id)).await
    }

    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()> {
        self.call(
            "insert_family",
            self.inner.insert_family(id, family, expires_at_ms),
        )
        .await
    }

    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool> {
        self.call("replace_family", self.inner.replace_family(id, rev, write))
            .await
    }

    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        self.call("decide_family", self.inner.decide_family(id, decide))
            .await
    }

    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        self.call("remove_family", self.inner.remove_family(id))
            .await
    }

    async fn user_families(&self, user_id: &str) -> StoreResult<Vec<(String, u64)>> {
        self.call("user_families", self.inner.user_families(user_id))
            .await
    }

    async fn count_families(&self) -> StoreResult<u64> {
        self.call("count_families", self.inner.count_families())
            .await
    }

    async fn load_record(&self, id: i128) -> StoreResult<Option<StoredRecord>> {
        self.call("load_record", self.inner.load_record(id)).await
    }

    async fn create_record(&self, id: i128, record: &StoredRecord) -> StoreResult<bool> {
        self.call("create_record", self.inner.create_record(id, record))
            .await
    }

    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()> {
        self.call("save_record", self.inner.save_record(id, record))
            .await
    }

    async fn delete_record(&self, id: i128) -> StoreResult<()> {
        self.call("delete_record", self.inner.delete_record(id))
            .await
    }

    async fn count_records(&self) -> StoreResult<u64> {
        self.call("count_records", self.inner.count_records()).await
    }

    async fn publish_revocation(&self, revocation: &Revocation) -> StoreResult<()> {
        self.call(
            "publish_revocation",
            self.inner.publish_revocation(revocation),
        )
        .await
    }

    async fn revocations_after(&self, cursor: &Cursor) -> StoreResult<(Vec<Revocation>, Cursor)> {
        self.call("revocations_after", self.inner.revocations_after(cursor))
            .await
    }

    async fn load_throttle(&self, key: &str) -> StoreResult<Option<ThrottleEntry>> {
        self.call("load_throttle", self.inner.load_throttle(key))
            .await
    }

    async fn replace_throttle(
        &self,
        key: &str,
        rev: Option<u64>,
        body: &str,
        expires_at_ms: u64,
    ) -> StoreResult<bool> {
        self.call(
            "replace_throttle",
            self.inner.replace_throttle(key, rev, body, expires_at_ms),
        )
        .await
    }

    async fn keep_once(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        self.call("keep_once", self.inner.keep_once(name, candidate))
            .await
    }

    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>> {
        self.call("sweep", self.inner.sweep(now_ms, log_horizon_ms))
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.call("ping", self.inner.ping()).await
    }
}
