//! `sqlite://<file>`: the default store, an embedded SQLite file in WAL mode (readers never
//! wait for the writer), created on first start with the migrations in `migrations/`.
//!
//! SQLite lets one connection write at a time; a second one that tries sleeps in the busy
//! handler (1, 2, 5, 10 … ms) until the lock is free. So every write goes through one writer
//! (`writer`: a connection on its own thread that commits queued writes in groups), and reads
//! use a small async pool beside it (`readers`). A family decision is taken on the copy this
//! process last read or wrote (`store::seen`; read on the pool when there is none) and
//! committed on the writer with a compare-and-swap (`UPDATE … WHERE rev = ?`; a refusal checks
//! the revision the same way), which fails if anyone — this process or another on the same
//! file — wrote the family in between; the decision is then taken again on a fresh read. So a
//! family decision is one write and no read: one hand-off to the writer, a share of one commit.

mod writer;

use std::{str::FromStr, time::Duration};

use rusqlite::{params, Connection, OptionalExtension};
use sqlx::{
    sqlite::{
        SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
    ConnectOptions, Connection as _, Row, SqlitePool,
};

use crate::server::core::store::{
    backend, decode, encode, seen::SeenFamilies, Cursor, Decide, FamilyRecord, FamilyWrite,
    Revocation, Store, StoreError, StoreResult, StoredRecord, ThrottleEntry, Versioned,
};
use writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/server/core/store/migrations");

/// The `sqlite://` store: one writer thread and a pool of readers on one WAL-mode file, which
/// instances on the same machine may share.
pub struct SqliteBackend {
    writer: Writer,
    readers: SqlitePool,
    seen: SeenFamilies,
}

/// Readers beside the writer: WAL lets them read while it writes; more than the two cores
/// here would only queue in the kernel.
const READERS: u32 = 4;

impl SqliteBackend {
    /// Opens (creating and migrating if needed) the file `url` names. Creates it with SQLite's
    /// default permissions: [`StoreUrl::open`](super::StoreUrl::open) makes it `0600` first.
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
            .busy_timeout(Duration::from_secs(5));
        // The file is created and migrated on a connection of its own, before the writer opens.
        let mut migrating = options.connect().await.map_err(backend)?;
        MIGRATOR
            .run(&mut migrating)
            .await
            .map_err(|error| StoreError::Backend(format!("migrations failed: {error}")))?;
        migrating.close().await.map_err(backend)?;
        let writer = Writer::open(options.get_filename())?;
        // `test_before_acquire` off: a ping per checkout is a round trip to the connection's
        // thread, as costly as the statement it guards; a broken connection fails its
        // statement instead, and the pool replaces it.
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self {
            writer,
            readers,
            seen: SeenFamilies::default(),
        })
    }
}

impl SqliteBackend {
    /// Commits a decision taken on revision `rev` of family `id`: the compare-and-swap, the
    /// record the family lets go of and the one it creates, in one write; with no write, only
    /// the check that `rev` is still the stored revision. `false` when another writer got there
    /// first.
    async fn commit(&self, id: &str, rev: u64, write: Option<&FamilyWrite>) -> StoreResult<bool> {
        let change = write
            .map(|write| Ok::<_, StoreError>((encode(&write.family)?, write.expires_at_ms)))
            .transpose()?;
        let (key, dropped) = (id.to_owned(), write.and_then(|write| write.drop_record));
        let created = write.and_then(|write| write.create_record.clone());
        let won = self
            .writer
            .write(move |db| {
                let Some((body, expires_at_ms)) = change else {
                    let stored: Option<i64> = db
                        .prepare_cached("SELECT rev FROM families WHERE id = ?")?
                        .query_row([&key], |row| row.get(0))
                        .optional()?;
                    return Ok(stored == Some(int(rev)));
                };
                let swapped = execute(
                    db,
                    "UPDATE families SET rev = rev + 1, body = ?, expires_at_ms = ? \
                     WHERE id = ? AND rev = ?",
                    params![body, int(expires_at_ms), key, int(rev)],
                )? == 1;
                if !swapped {
                    return Ok(false);
                }
                if let Some(record) = dropped {
                    execute(db, DELETE_RECORD, [record.to_string()])?;
                }
                if let Some((record, stored)) = created {
                    // No `ON CONFLICT`: a taken id fails the write, the family's swap with it.
                    execute(
                        db,
                        "INSERT INTO records (id, data, expires_at_ms) VALUES (?, ?, ?)",
                        params![record.to_string(), stored.data, int(stored.expires_at_ms)],
                    )?;
                }
                Ok(true)
            })
            .await?;
        self.seen.committed(id, rev, write, won);
        Ok(won)
    }
}

const LOAD_FAMILY: &str = "SELECT rev, body FROM families WHERE id = ?";
const DELETE_RECORD: &str = "DELETE FROM records WHERE id = ?";

fn versioned(row: &SqliteRow) -> StoreResult<Versioned> {
    let rev: i64 = row.try_get("rev").map_err(backend)?;
    let body: &str = row.try_get("body").map_err(backend)?;
    Ok(Versioned {
        family: decode(body)?,
        rev: rev as u64,
    })
}

/// SQLite integers are i64; our times and revisions stay far below its maximum.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// One statement on the writer's connection (cached, so it is prepared once per connection).
fn execute(db: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    db.prepare_cached(sql)?.execute(params)
}

#[async_trait::async_trait]
impl Store for SqliteBackend {
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>> {
        let row = sqlx::query(LOAD_FAMILY)
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        let stored = row.as_ref().map(versioned).transpose()?;
        self.seen.loaded(id, stored.as_ref());
        Ok(stored)
    }

    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()> {
        let (key, user_id, body) = (id.to_owned(), family.user_id.clone(), encode(family)?);
        let created_at_ms = int(family.created_at_ms);
        self.writer
            .write(move |db| {
                execute(
                    db,
                    "INSERT INTO families (id, user_id, created_at_ms, expires_at_ms, rev, body) \
                     VALUES (?, ?, ?, ?, 1, ?)",
                    params![key, user_id, created_at_ms, int(expires_at_ms), body],
                )
            })
            .await?;
        self.seen.inserted(id, family);
        Ok(())
    }

    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool> {
        self.commit(id, rev, Some(write)).await
    }

    /// One write, no read, when this process has seen the family's latest revision: the
    /// decision is taken on that copy and committed only if the stored revision is still it.
    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        let commit =
            async |rev, write: Option<FamilyWrite>| self.commit(id, rev, write.as_ref()).await;
        self.seen
            .decide(id, decide, self.load_family(id), commit)
            .await
    }

    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        self.seen.forget(id);
        let id = id.to_owned();
        let body: Option<String> = self
            .writer
            .write(move |db| {
                db.prepare_cached("DELETE FROM families WHERE id = ? RETURNING body")?
                    .query_row([id], |row| row.get(0))
                    .optional()
            })
            .await?;
        body.map(|body| decode(&body)).transpose()
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
        let (id, data, expires_at_ms) = (id.to_string(), record.data.clone(), record.expires_at_ms);
        let created = self
            .writer
            .write(move |db| {
                execute(
                    db,
                    "INSERT INTO records (id, data, expires_at_ms) VALUES (?, ?, ?) \
                     ON CONFLICT (id) DO NOTHING",
                    params![id, data, int(expires_at_ms)],
                )
            })
            .await?;
        Ok(created == 1)
    }

    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()> {
        let (id, data, expires_at_ms) = (id.to_string(), record.data.clone(), record.expires_at_ms);
        self.writer
            .write(move |db| {
                execute(
                    db,
                    "INSERT INTO records (id, data, expires_at_ms) VALUES (?, ?, ?) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, \
                     expires_at_ms = excluded.expires_at_ms",
                    params![id, data, int(expires_at_ms)],
                )
            })
            .await?;
        Ok(())
    }

    async fn delete_record(&self, id: i128) -> StoreResult<()> {
        let id = id.to_string();
        self.writer
            .write(move |db| execute(db, DELETE_RECORD, [id]))
            .await?;
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
        let session_id = revocation.session_id.clone();
        let (floor, at_ms) = (revocation.floor.to_string(), int(revocation.at_ms));
        self.writer
            .write(move |db| {
                execute(
                    db,
                    "INSERT INTO revocations (session_id, floor, at_ms) VALUES (?, ?, ?)",
                    params![session_id, floor, at_ms],
                )
            })
            .await?;
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
        let (key, body, expires_at_ms) = (key.to_owned(), body.to_owned(), int(expires_at_ms));
        let written = self
            .writer
            .write(move |db| match rev {
                Some(rev) => execute(
                    db,
                    "UPDATE throttle SET rev = rev + 1, body = ?, expires_at_ms = ? \
                     WHERE key = ? AND rev = ?",
                    params![body, expires_at_ms, key, int(rev)],
                ),
                None => execute(
                    db,
                    "INSERT INTO throttle (body, expires_at_ms, key, rev) VALUES (?, ?, ?, 1) \
                     ON CONFLICT (key) DO NOTHING",
                    params![body, expires_at_ms, key],
                ),
            })
            .await?;
        Ok(written == 1)
    }

    async fn keep_once(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let (name, candidate) = (name.to_owned(), candidate.to_vec());
        self.writer
            .write(move |db| {
                execute(
                    db,
                    "INSERT INTO secrets (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![name, candidate],
                )?;
                db.query_row("SELECT value FROM secrets WHERE name = ?", [name], |row| {
                    row.get(0)
                })
            })
            .await
    }

    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>> {
        let (now, horizon) = (int(now_ms), int(log_horizon_ms));
        let bodies: Vec<String> = self
            .writer
            .write(move |db| {
                let bodies = db
                    .prepare_cached("DELETE FROM families WHERE expires_at_ms <= ? RETURNING body")?
                    .query_map([now], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                execute(db, "DELETE FROM records WHERE expires_at_ms <= ?", [now])?;
                execute(db, "DELETE FROM throttle WHERE expires_at_ms <= ?", [now])?;
                execute(db, "DELETE FROM revocations WHERE at_ms < ?", [horizon])?;
                // Freed pages back to the file system (one row per page freed, none wanted).
                db.prepare_cached("PRAGMA incremental_vacuum")?
                    .query_map([], |_| Ok(()))?
                    .for_each(drop);
                Ok(bodies)
            })
            .await?;
        // Then the write-ahead log, which now holds the deletions, folded in and truncated:
        // after a wave of expiries both files shrink.
        self.writer.checkpoint().await?;
        bodies.iter().map(|body| decode(body)).collect()
    }

    /// The readers, and the writer thread: a store that can be read but not written must not
    /// pass `/readyz`.
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.readers)
            .await
            .map_err(backend)?;
        self.writer
            .write(|db| db.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}

#[cfg(test)]
mod tests;
