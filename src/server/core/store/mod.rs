//! Where sessions live: refresh families, tower-sessions records, the generated signing key, the
//! revocation log and the sign-in throttle's counters, behind one small trait with three backends
//! chosen by `STORE_URL`.
//!
//! The trait offers primitives only (load, compare-and-swap, delete, append). Every *decision*
//! — rotate, grace replay, reuse; lock a guesser out, pause an account, spend an address's
//! quota — is taken once, in `families.rs`, `throttle/` and `client.rs`, and committed with a
//! conditional write that fails when another writer (another task, another instance) got
//! there first. So every decision is atomic in every backend without three copies of the policy.

pub mod entries;
pub mod memory;
pub mod redis;
mod seen;
pub mod sqlite;
pub mod timed;

use std::{fmt, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

/// The default: an embedded file next to the binary's working directory; nothing to install.
pub const DEFAULT_STORE_URL: &str = "sqlite://tokenflight.db";

/// The client id of the first-party SPA (the demo's cookie flow).
pub const FIRST_PARTY_CLIENT: &str = "tokenflight";

fn first_party_client() -> String {
    FIRST_PARTY_CLIENT.to_owned()
}

/// A refresh family as the store keeps it: plain data, serialised whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyRecord {
    /// The user the family belongs to; never changes.
    pub user_id: String,
    /// The OAuth client the family was issued to; the first-party demo is [`FIRST_PARTY_CLIENT`].
    #[serde(default = "first_party_client")]
    pub client_id: String,
    /// Generation of the current credential; every rotation adds one.
    pub generation: u64,
    /// When the current credential was issued (ms since the Unix epoch): the grace window for
    /// the previous one runs from here.
    pub rotated_at_ms: u64,
    /// When the user signed in (ms since the Unix epoch): the absolute lifetime runs from here.
    pub created_at_ms: u64,
    /// The last login, refresh or grace replay (ms since the Unix epoch): the idle timeout runs
    /// from here.
    pub last_refresh_ms: u64,
    /// The `ver` the next access token gets; tokens are numbered in order, so one cut-off floor
    /// refuses every token issued so far.
    pub next_access_ver: u64,
    /// Refreshes granted (rotations and grace replays), for the demo's usage counter.
    pub refreshes: u64,
    /// The tower-sessions record that mirrors this family, deleted with it.
    pub browser_session: Option<i128>,
    /// The scope an OAuth client was granted (space-separated, RFC 6749 §3.3); empty for the
    /// first-party SPA.
    #[serde(default)]
    pub scope: String,
    /// The browser that signed in, coarsely ("Chromium on Linux"), for the Sessions page.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Refreshes answered from the grace window (outcome `grace_replay` in `/metrics`): a
    /// second tab or a lost response, harmless, shown per session beside the rotations.
    #[serde(default)]
    pub grace_replays: u64,
    /// The audience of the family's access tokens (RFC 8707 `resource`); `None`: this
    /// provider's own API, as for every family before resources existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The DPoP key a public client's family is bound to (RFC 9449 §5): its refresh
    /// credential is refused without a proof of that key — and the family left untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

impl FamilyRecord {
    /// A family of `user_id`'s, issued to `client_id`, started at `now_ms`: generation 0, no
    /// refresh yet, no scope, resource, key or browser record (the caller sets what it has).
    pub fn new(user_id: &str, client_id: &str, now_ms: u64) -> Self {
        Self {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            generation: 0,
            rotated_at_ms: now_ms,
            created_at_ms: now_ms,
            last_refresh_ms: now_ms,
            next_access_ver: 0,
            refreshes: 0,
            browser_session: None,
            scope: String::new(),
            user_agent: None,
            grace_replays: 0,
            audience: None,
            dpop_jkt: None,
        }
    }
}

/// A family with the revision its compare-and-swap must name.
#[derive(Clone, Debug)]
pub struct Versioned {
    /// The family as stored.
    pub family: FamilyRecord,
    /// Its revision: 1 when inserted, one more with every committed write.
    pub rev: u64,
}

/// A family's compare-and-swap: what it writes, its new expiry, the browser-session record the
/// family stops pointing at, deleted in the same atomic step (so a browser that keeps losing its
/// session cookie never leaves a record behind, and no second write is needed), and the one it
/// now points at when this write creates it (a refresh's new record: one store round trip for
/// both, not two). A created id that is taken fails the whole write: never a shared record.
#[derive(Clone, Debug)]
pub struct FamilyWrite {
    /// The family's new state.
    pub family: FamilyRecord,
    /// When the store may forget the family (ms since the Unix epoch): the idle timeout or the
    /// absolute lifetime, whichever ends first.
    pub expires_at_ms: u64,
    /// The browser-session record to delete with this write, if the family lets go of one.
    pub drop_record: Option<i128>,
    /// The browser-session record to create with this write (id, record); the write fails if the
    /// id is taken.
    pub create_record: Option<(i128, StoredRecord)>,
}

/// A backend's own error (sqlx, rusqlite, redis, the file system) as the store's.
fn backend(error: impl fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// The error a write fails with when the record it creates names an id already taken.
fn record_id_taken() -> StoreError {
    StoreError::Backend("a new browser-session record's id is taken".into())
}

/// A decision on a family's stored state (`None`: no such family), returning the write that
/// commits it, or `None` to write nothing. It may be called again when its write loses a race,
/// so it only computes and remembers its outcome.
pub type Decide<'a> = dyn FnMut(Option<&FamilyRecord>) -> Option<FamilyWrite> + Send + 'a;

/// A tower-sessions record: its data as JSON and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// tower-sessions' record, serialised as JSON.
    pub data: String,
    /// When the record expires (ms since the Unix epoch); the sweep deletes it after.
    pub expires_at_ms: u64,
}

/// A throttle entry as the store keeps it: the policy's state as opaque JSON, and the revision
/// its compare-and-swap must name (see [`entries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleEntry {
    /// The policy's state as JSON; only the policy reads it.
    pub body: String,
    /// The revision the next compare-and-swap must name.
    pub rev: u64,
}

/// One entry of the revocation log: access tokens of `session_id` with `ver < floor` are dead.
/// `u64::MAX` revokes them all (logout, reuse, revoke-session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The session (family) whose access tokens are refused.
    pub session_id: String,
    /// Tokens with a `ver` below this are refused; floors only ever rise.
    pub floor: u64,
    /// When it was published (ms since the Unix epoch): forgotten once no access token it could
    /// refuse can still be alive.
    pub at_ms: u64,
}

/// Where a reader of the revocation log stopped; opaque to everyone but its backend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor(pub String);

/// Why a store call failed. Never the client's fault: handlers answer 503 with `Retry-After`,
/// and the detail is logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No answer within `STORE_TIMEOUT_MS` (the duration): a hung Redis, a locked SQLite file.
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    /// The backend reported an error (connection, I/O, SQL), or a write lost too many races.
    #[error("the store failed: {0}")]
    Backend(String),
    /// Stored data this version cannot decode: written by another version, or damaged.
    #[error("the store holds data this version cannot read: {0}")]
    Corrupt(String),
}

/// What every store call returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// The store's primitives. Timeouts and metrics are added once, by [`timed::Timed`].
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The family and its revision, if stored; one that expired may be returned until the sweep,
    /// so callers check its lifetimes themselves.
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>>;
    /// Adds a new family at revision 1.
    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()>;
    /// Replaces the family only if its stored revision is still `rev` (the conditional
    /// `UPDATE … WHERE rev = ?`), and deletes `write.drop_record` with it; `false` when another
    /// writer got there first or it is gone.
    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool>;
    /// Reads the family and commits what `decide` makes of it, as one atomic step; `false` when
    /// another writer got there first (call again: `decide` then sees what it wrote). This
    /// default reads, then compare-and-swaps (SQLite: a read beside the writer, the swap in its
    /// next group commit); a backend that can hold the family while the decision is taken (the
    /// memory store's lock) or commit it in one round trip (Redis's script) does that instead.
    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        let stored = self.load_family(id).await?;
        match (decide(stored.as_ref().map(|stored| &stored.family)), stored) {
            (Some(write), Some(stored)) => self.replace_family(id, stored.rev, &write).await,
            _ => Ok(true),
        }
    }
    /// Deletes a family whatever its revision; returns it if it existed.
    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>>;
    /// The user's families as (id, created_at_ms), for `MAX_SESSIONS_PER_USER`.
    async fn user_families(&self, user_id: &str) -> StoreResult<Vec<(String, u64)>>;
    /// Families not yet swept (expired ones may linger until the next sweep).
    async fn count_families(&self) -> StoreResult<u64>;

    /// The browser-session record `id`, if stored (expired ones too, until the sweep).
    async fn load_record(&self, id: i128) -> StoreResult<Option<StoredRecord>>;
    /// Adds a record unless the id is taken; `false` when it is.
    async fn create_record(&self, id: i128, record: &StoredRecord) -> StoreResult<bool>;
    /// Writes the record, whether or not it exists (tower-sessions' `save`).
    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()>;
    /// Deletes the record; one that does not exist is no error.
    async fn delete_record(&self, id: i128) -> StoreResult<()>;
    /// Records stored, expired ones included until the sweep (tests check nothing leaks).
    async fn count_records(&self) -> StoreResult<u64>;

    /// Appends to the revocation log every instance polls, so they refuse the tokens too.
    async fn publish_revocation(&self, revocation: &Revocation) -> StoreResult<()>;
    /// Log entries after `cursor` (all retained ones for the default cursor), and the new cursor.
    async fn revocations_after(&self, cursor: &Cursor) -> StoreResult<(Vec<Revocation>, Cursor)>;

    /// The throttle entry under `key`, if any. One that expired may still be returned until the
    /// sweep (or Redis's TTL) removes it: its policy knows when its state went stale.
    async fn load_throttle(&self, key: &str) -> StoreResult<Option<ThrottleEntry>>;
    /// Writes the throttle entry only if its stored revision is still `rev` — with `None`, only
    /// if there is no entry — and keeps it until `expires_at_ms`. `false` when another writer
    /// got there first.
    async fn replace_throttle(
        &self,
        key: &str,
        rev: Option<u64>,
        body: &str,
        expires_at_ms: u64,
    ) -> StoreResult<bool>;

    /// Stores `candidate` under `name` unless a value is stored there already; returns the
    /// stored one. So every instance and every restart agrees without set-up, the first to ask
    /// winning: the generated signing secret and key (`signing-key`, `es256-key`) and the time
    /// this token format first started on the store (`token-format`, the upgrade window).
    async fn keep_once(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;

    /// Deletes families, records and throttle entries that expired by `now_ms`, and log entries
    /// older than `log_horizon_ms` (no access token they could affect is still alive). Returns
    /// the deleted families, whose browser-session records the caller deletes with them.
    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>>;
    /// A cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// The parsed `STORE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory://`: this process only; nothing survives a restart.
    Memory,
    /// The sqlx connection URL, e.g. `sqlite://tokenflight.db`.
    Sqlite(String),
    /// e.g. `redis://127.0.0.1:6379/0`.
    Redis(String),
}

impl StoreUrl {
    /// Reads `memory://`, `sqlite://<file>` or `redis://…` (`rediss://` for TLS); an in-memory
    /// SQLite is refused, since the store's connections could not share it.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let raw = raw.trim();
        if raw == "memory://" {
            return Ok(Self::Memory);
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://tokenflight.db");
            }
            // The writer and the readers are separate connections: in memory, each would open
            // a database of its own, and the writer's tables would be invisible to the rest.
            if path.starts_with(":memory:") || path.contains("mode=memory") {
                return Err(
                    "SQLite in memory cannot be shared by the store's connections; \
                            use memory:// for a store in memory",
                );
            }
            return Ok(Self::Sqlite(raw.to_owned()));
        }
        if raw.starts_with("redis://") || raw.starts_with("rediss://") {
            ::redis::Client::open(raw).map_err(|_| "not a valid redis:// URL")?;
            return Ok(Self::Redis(raw.to_owned()));
        }
        Err("expected memory://, sqlite://<file> or redis://host:port/db")
    }

    /// Opens the store (creating the SQLite file and applying migrations if needed).
    pub async fn open(&self) -> StoreResult<Arc<dyn Store>> {
        Ok(match self {
            Self::Memory => Arc::new(memory::MemoryBackend::default()),
            Self::Sqlite(url) => {
                create_private_file(url)?;
                Arc::new(sqlite::SqliteBackend::open(url).await?)
            }
            Self::Redis(url) => Arc::new(redis::RedisBackend::connect(url, "tf").await?),
        })
    }
}

/// Creates a missing SQLite file readable by its owner only (`0600`), before SQLite creates it
/// `0644`: without `JWT_SECRET` it holds the signing key, and always every live session. SQLite
/// gives its `-wal` and `-shm` files the database file's permissions. An existing file is left
/// as its operator made it.
fn create_private_file(url: &str) -> StoreResult<()> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(backend)?;
    let path = options.get_filename();
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(backend(format_args!("{}: {error}", path.display()))),
    }
}

impl fmt::Debug for StoreUrl {
    /// A Redis URL may carry a password: only the scheme is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory://"),
            Self::Sqlite(url) => f.write_str(url),
            Self::Redis(_) => f.write_str("redis://<redacted>"),
        }
    }
}

fn encode(family: &FamilyRecord) -> StoreResult<String> {
    serde_json::to_string(family).map_err(|error| StoreError::Corrupt(error.to_string()))
}

fn decode(body: &str) -> StoreResult<FamilyRecord> {
    serde_json::from_str(body).map_err(|error| StoreError::Corrupt(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_to_their_backend() {
        assert!(matches!(StoreUrl::parse("memory://"), Ok(StoreUrl::Memory)));
        assert!(matches!(
            StoreUrl::parse("sqlite://tokenflight.db"),
            Ok(StoreUrl::Sqlite(_))
        ));
        assert!(matches!(
            StoreUrl::parse("redis://127.0.0.1:6379/0"),
            Ok(StoreUrl::Redis(_))
        ));
        for bad in [
            "",
            "sqlite://",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
            "postgres://x",
            "memory",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_redis_url_never_shows_its_password() {
        let url = StoreUrl::parse("redis://:hunter2@127.0.0.1:6379/0").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
