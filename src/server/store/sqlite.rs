//! `sqlite://<file>`: the default store, an embedded SQLite file in WAL mode (readers never
//! wait for the writer), created on first start with the migrations in `migrations/`.
//!
//! SQLite lets one connection write at a time; a second one that tries sleeps in the busy
//! handler (1, 2, 5, 10 … ms) until the lock is free. So every write goes through one writer
//! connection, queued in this process (`writer`, a pool of one), and reads use a small pool
//! beside it (`readers`). A family decision is one short write transaction on the writer:
//! `BEGIN IMMEDIATE`, read the family, the decision, the conditional `UPDATE … WHERE rev = ?`,
//! `COMMIT`. Another process on the same file still meets SQLite's lock; `busy_timeout` and the
//! compare-and-swap keep that case correct.

use std::{str::FromStr, time::Duration};

use sqlx::{
    sqlite::{
        SqliteAutoVacuum, SqliteConnectOptions, SqliteConnection, SqliteJournalMode,
        SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
    Row, SqlitePool,
};

use super::{
    decode, encode, Cursor, Decide, FamilyRecord, FamilyWrite, Revocation, Store, StoreError,
    StoreResult, StoredRecord, ThrottleEntry, Versioned,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/server/store/migrations");

pub struct SqliteBackend {
    /// The one connection that writes: writes queue here, not in SQLite's busy handler.
    writer: SqlitePool,
    readers: SqlitePool,
}

/// Readers beside the writer: WAL lets them read while it writes; more than the two cores
/// here would only queue in the kernel.
const READERS: u32 = 4;

impl SqliteBackend {
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(backend)?
            .create_if_missing(true)
            // Set before the first table exists (a new file), so the sweep can hand freed pages
            // back to the file system: the file shrinks after a wave of sessions expires.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL syncs at checkpoints only: a power cut may lose the last
            // commits, never corrupt the file; sessions are cheap to redo, latency is not.
            .synchronous(SqliteSynchronous::Normal)
            // Only another process on this file can hold the write lock when the writer wants
            // it (this process queues its writes); the store timeout bounds that wait anyway.
            .busy_timeout(Duration::from_secs(5));
        // `test_before_acquire` off: a ping per checkout is a round trip to the connection's
        // thread, as costly as the statement it guards; a broken connection fails its
        // statement instead, and the pool replaces it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|error| StoreError::Backend(format!("migrations failed: {error}")))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self { writer, readers })
    }
}

const LOAD_FAMILY: &str = "SELECT rev, body FROM families WHERE id = ?";

fn versioned(row: &SqliteRow) -> StoreResult<Versioned> {
    let rev: i64 = row.try_get("rev").map_err(backend)?;
    let body: &str = row.try_get("body").map_err(backend)?;
    Ok(Versioned {
        family: decode(body)?,
        rev: rev as u64,
    })
}

/// The compare-and-swap, and the record the family lets go of; `false` if `rev` is stale.
async fn swap(
    connection: &mut SqliteConnection,
    id: &str,
    rev: u64,
    write: &FamilyWrite,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE families SET rev = rev + 1, body = ?, expires_at_ms = ? \
         WHERE id = ? AND rev = ?",
    )
    .bind(encode(&write.family)?)
    .bind(int(write.expires_at_ms))
    .bind(id)
    .bind(int(rev))
    .execute(&mut *connection)
    .await
    .map_err(backend)?;
    let swapped = done.rows_affected() == 1;
    if let (true, Some(record)) = (swapped, write.drop_record) {
        sqlx::query("DELETE FROM records WHERE id = ?")
            .bind(record.to_string())
            .execute(&mut *connection)
            .await
            .map_err(backend)?;
    }
    Ok(swapped)
}

fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// SQLite integers are i64; our times and revisions stay far below its maximum.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl Store for SqliteBackend {
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>> {
        let row = sqlx::query(LOAD_FAMILY)
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.as_ref().map(versioned).transpose()
    }

    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO families (id, user_id, created_at_ms, expires_at_ms, rev, body) \
             VALUES (?, ?, ?, ?, 1, ?)",
        )
        .bind(id)
        .bind(&family.user_id)
        .bind(int(family.created_at_ms))
        .bind(int(expires_at_ms))
        .bind(encode(family)?)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool> {
        if write.drop_record.is_none() {
            // One statement is its own transaction: no BEGIN and COMMIT to send.
            let mut writer = self.writer.acquire().await.map_err(backend)?;
            return swap(&mut writer, id, rev, write).await;
        }
        let mut transaction = self.writer.begin().await.map_err(backend)?;
        let swapped = swap(&mut transaction, id, rev, write).await?;
        transaction.commit().await.map_err(backend)?;
        Ok(swapped)
    }

    /// The family is read inside the write transaction, so the decision is taken on what is
    /// stored and nobody writes in between: the compare-and-swap cannot lose to this process,
    /// and `IMMEDIATE` takes the file's write lock first, so it cannot lose to another either.
    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        let mut transaction = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        let row = sqlx::query(LOAD_FAMILY)
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(backend)?;
        let stored = row.as_ref().map(versioned).transpose()?;
        let swapped = match (decide(stored.as_ref().map(|stored| &stored.family)), stored) {
            (Some(write), Some(stored)) => swap(&mut transaction, id, stored.rev, &write).await?,
            _ => true,
        };
        // Also when nothing was written: a read-only COMMIT only releases the lock.
        transaction.commit().await.map_err(backend)?;
        Ok(swapped)
    }

    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        let row = sqlx::query("DELETE FROM families WHERE id = ? RETURNING body")
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(backend)?;
        row.map(|row| decode(&row.try_get::<String, _>("body").map_err(backend)?))
            .transpose()
    }

    async fn user_families(&self, user_id: &str) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query("SELECT id, created_at_ms FROM families WHERE user_id = ?")
            .bind(user_id)
            .fetch_all(&self.readers)
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(backend)?;
                let created: i64 = row.try_get("created_at_ms").map_err(backend)?;
                Ok((id, created as u64))
            })
            .collect()
    }

    async fn count_families(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM families")
            .fetch_one(&self.readers)
            .await
            .map_err(backend)?;
        Ok(count as u64)
    }

    async fn load_record(&self, id: i128) -> StoreResult<Option<StoredRecord>> {
        let row = sqlx::query("SELECT data, expires_at_ms FROM records WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.map(|row| {
            let expires: i64 = row.try_get("expires_at_ms").map_err(backend)?;
            Ok(StoredRecord {
                data: row.try_get("data").map_err(backend)?,
                expires_at_ms: expires as u64,
            })
        })
        .transpose()
    }

    async fn create_record(&self, id: i128, record: &StoredRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO records (id, data, expires_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(&record.data)
        .bind(int(record.expires_at_ms))
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO records (id, data, expires_at_ms) VALUES (?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
             expires_at_ms = excluded.expires_at_ms",
        )
        .bind(id.to_string())
        .bind(&record.data)
        .bind(int(record.expires_at_ms))
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn delete_record(&self, id: i128) -> StoreResult<()> {
        sqlx::query("DELETE FROM records WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn count_records(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records")
            .fetch_one(&self.readers)
            .await
            .map_err(backend)?;
        Ok(count as u64)
    }

    async fn publish_revocation(&self, revocation: &Revocation) -> StoreResult<()> {
        sqlx::query("INSERT INTO revocations (session_id, floor, at_ms) VALUES (?, ?, ?)")
            .bind(&revocation.session_id)
            .bind(revocation.floor.to_string())
            .bind(int(revocation.at_ms))
            .execute(&self.writer)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revocations_after(&self, cursor: &Cursor) -> StoreResult<(Vec<Revocation>, Cursor)> {
        let after: i64 = cursor.0.parse().unwrap_or(0);
        let rows = sqlx::query(
            "SELECT seq, session_id, floor, at_ms FROM revocations WHERE seq > ? ORDER BY seq",
        )
        .bind(after)
        .fetch_all(&self.readers)
        .await
        .map_err(backend)?;
        let mut last = after;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            last = row.try_get("seq").map_err(backend)?;
            let floor: String = row.try_get("floor").map_err(backend)?;
            let at_ms: i64 = row.try_get("at_ms").map_err(backend)?;
            entries.push(Revocation {
                session_id: row.try_get("session_id").map_err(backend)?,
                floor: floor
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("revocation floor {floor:?}")))?,
                at_ms: at_ms as u64,
            });
        }
        Ok((entries, Cursor(last.to_string())))
    }

    async fn load_throttle(&self, key: &str) -> StoreResult<Option<ThrottleEntry>> {
        let row = sqlx::query("SELECT rev, body FROM throttle WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.map(|row| {
            let rev: i64 = row.try_get("rev").map_err(backend)?;
            Ok(ThrottleEntry {
                body: row.try_get("body").map_err(backend)?,
                rev: rev as u64,
            })
        })
        .transpose()
    }

    async fn replace_throttle(
        &self,
        key: &str,
        rev: Option<u64>,
        body: &str,
        expires_at_ms: u64,
    ) -> StoreResult<bool> {
        let statement = match rev {
            Some(rev) => sqlx::query(
                "UPDATE throttle SET rev = rev + 1, body = ?, expires_at_ms = ? \
                 WHERE key = ? AND rev = ?",
            )
            .bind(body)
            .bind(int(expires_at_ms))
            .bind(key)
            .bind(int(rev)),
            None => sqlx::query(
                "INSERT INTO throttle (body, expires_at_ms, key, rev) VALUES (?, ?, ?, 1) \
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(body)
            .bind(int(expires_at_ms))
            .bind(key),
        };
        let done = statement.execute(&self.writer).await.map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_key(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ('signing-key', ?) ON CONFLICT DO NOTHING",
        )
        .bind(candidate)
        .execute(&self.writer)
        .await
        .map_err(backend)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = 'signing-key'")
            .fetch_one(&self.writer)
            .await
            .map_err(backend)
    }

    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>> {
        let bodies: Vec<String> =
            sqlx::query_scalar("DELETE FROM families WHERE expires_at_ms <= ? RETURNING body")
                .bind(int(now_ms))
                .fetch_all(&self.writer)
                .await
                .map_err(backend)?;
        for (statement, bound) in [
            ("DELETE FROM records WHERE expires_at_ms <= ?", now_ms),
            ("DELETE FROM throttle WHERE expires_at_ms <= ?", now_ms),
            ("DELETE FROM revocations WHERE at_ms < ?", log_horizon_ms),
        ] {
            sqlx::query(statement)
                .bind(int(bound))
                .execute(&self.writer)
                .await
                .map_err(backend)?;
        }
        // Freed pages back to the file system, then the write-ahead log (which now holds the
        // deletions) folded in and truncated: after a wave of expiries both files shrink.
        for pragma in [
            "PRAGMA incremental_vacuum",
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ] {
            sqlx::query(pragma)
                .execute(&self.writer)
                .await
                .map_err(backend)?;
        }
        bodies.iter().map(|body| decode(body)).collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.readers)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
