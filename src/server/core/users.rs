//! The user store: the built-in `alice` and `admin`, or the users of `USERS_FILE` (see
//! [`users::file`](mod@file)) with the claims they carry. Passwords are stored the real way, as
//! argon2 hashes (OWASP's parameters, m = 19 MiB, t = 2, p = 1, for the built-in users and plain
//! file passwords).

pub mod claims;
pub mod file;

use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::api::auth::User;
use crate::server::core::password::WorkingMemory;

pub use file::{UserEntry, UsersFileError};

/// A PHC-format password hash. No `Serialize`, and a redacted `Debug`.
#[derive(Clone)]
struct PasswordHashString(Cow<'static, str>);

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[derive(Clone, Debug)]
struct UserRecord {
    user: User,
    password_hash: PasswordHashString,
    /// The user's own claims (`USERS_FILE`); none for the built-in users.
    claims: Map<String, Value>,
}

/// Verified against when the username is unknown, so that costs the same time as a wrong
/// password and response times do not reveal which usernames exist.
const DUMMY_HASH: PasswordHashString = PasswordHashString(Cow::Borrowed(
    "$argon2id$v=19$m=19456,t=2,p=1$6hdHoHN8ky3s67ZRkBS5Bw$TlOpdGsMYorvOC0NE2Ikk6repzXEwj3z+fbwVjNY7h4",
));

/// The prefix of every user's id (`sub`): `u-alice`, `u-carol`.
const ID_PREFIX: &str = "u-";

/// Who may sign in, keyed by username. The built-in users' passwords are on the login page: this
/// is a demo, not a secret.
#[derive(Debug)]
pub struct UserStore {
    by_name: HashMap<String, UserRecord>,
    /// Bounds concurrent hashing: each verification holds ~19 MiB and a blocking thread.
    hashing: Arc<Semaphore>,
    /// argon2's 19 MiB, kept for reuse: at most one buffer per hashing slot (see `password`).
    memory: Arc<WorkingMemory>,
    /// Password checks running now and at most ever (admin stats; proves the bound holds).
    gauge: Arc<HashGauge>,
    /// Random per process: log tags of unknown names cannot be reversed by hashing guesses.
    log_key: LogKey,
}

/// The key behind [`UserStore::log_name`]'s tags, kept out of `Debug`.
struct LogKey([u8; 32]);

impl fmt::Debug for LogKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogKey(<redacted>)")
    }
}

impl UserStore {
    /// The users of `USERS_FILE`, or the built-in ones ([`UserStore::demo`]) when it lists none
    /// (it was not given: a file must list at least one user). At most `hash_concurrency`
    /// password checks run at once.
    pub fn new(entries: &[UserEntry], hash_concurrency: usize) -> Self {
        if entries.is_empty() {
            return Self::demo(hash_concurrency);
        }
        let records = entries.iter().map(|entry| UserRecord {
            user: User {
                id: format!("{ID_PREFIX}{}", entry.username),
                username: entry.username.clone(),
                roles: entry.roles.clone(),
            },
            password_hash: entry.password_hash.clone(),
            claims: entry.claims.clone(),
        });
        Self::with_records(records, hash_concurrency)
    }

    /// `alice` / `wonderland` (user) and `admin` / `admin-secret` (user, admin).
    pub fn demo(hash_concurrency: usize) -> Self {
        let records = [
            (
                "alice",
                &["user"][..],
                "$argon2id$v=19$m=19456,t=2,p=1$Hkeg0znxC+Rww+3NP1n+wA$eAxVp7hTbQJVKCs2M5eEDhDjCZKPEko9P9k5S8xqghk",
            ),
            (
                "admin",
                &["user", "admin"][..],
                "$argon2id$v=19$m=19456,t=2,p=1$uN/DCuvkd3n4jumZQEy3Zw$QWNMOkO2Q5GAj3yUgfVAM07cqAx97CkouB+ChYWzCz0",
            ),
        ];
        let records = records
            .into_iter()
            .map(|(username, roles, hash)| UserRecord {
                user: User {
                    id: format!("{ID_PREFIX}{username}"),
                    username: username.to_owned(),
                    roles: roles.iter().map(|role| role.to_string()).collect(),
                },
                password_hash: PasswordHashString(Cow::Borrowed(hash)),
                claims: Map::new(),
            });
        Self::with_records(records, hash_concurrency)
    }

    fn with_records(records: impl Iterator<Item = UserRecord>, hash_concurrency: usize) -> Self {
        Self {
            by_name: records
                .map(|record| (record.user.username.clone(), record))
                .collect(),
            hashing: Arc::new(Semaphore::new(hash_concurrency)),
            memory: Arc::new(WorkingMemory::keeping(hash_concurrency)),
            gauge: Arc::default(),
            log_key: LogKey(rand::random()),
        }
    }

    /// Every id is `u-<username>`, so this is a map lookup, not a search: it runs on every
    /// authenticated request.
    pub fn by_id(&self, id: &str) -> Option<User> {
        self.record_of(id).map(|record| record.user.clone())
    }

    /// The user's own claims that the space-separated `scope` releases (OIDC Core §5.4, see
    /// [`claims`]): what userinfo and ID tokens add to the ones the provider sets.
    pub fn claims(&self, id: &str, scope: &str) -> Map<String, Value> {
        self.record_of(id)
            .map(|record| claims::released(&record.claims, scope))
            .unwrap_or_default()
    }

    /// The user's own claims named in `names` (`ACCESS_TOKEN_CLAIMS`) for an access token:
    /// for an OAuth client only those its granted `scope` releases, as in its ID tokens; the
    /// first-party session (`None`) gets them all.
    pub fn access_token_claims(
        &self,
        id: &str,
        scope: Option<&str>,
        names: &[String],
    ) -> Map<String, Value> {
        let Some(record) = self.record_of(id).filter(|_| !names.is_empty()) else {
            return Map::new();
        };
        let named = record
            .claims
            .iter()
            .filter(|(name, _)| names.contains(name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        match scope {
            Some(scope) => claims::released(&named, scope),
            None => named,
        }
    }

    fn record_of(&self, id: &str) -> Option<&UserRecord> {
        let username = id.strip_prefix(ID_PREFIX)?;
        self.by_name.get(username)
    }

    /// Checks a password off the async runtime, with bounded concurrency. Unknown users are
    /// checked against a dummy hash so they cost the same as a wrong password.
    ///
    /// The hashing slot is taken *into* the blocking job and released only when argon2 is done:
    /// a client that hangs up drops this future, but not the job, so the slot must go with the
    /// job or disconnect floods would run unbounded hashes. Waiting for a slot is bounded by
    /// `queue_timeout`, so a saturated server answers "busy" instead of queueing for ever.
    pub async fn verify(
        &self,
        username: &str,
        password: String,
        queue_timeout: Duration,
    ) -> Result<Option<User>, HashingBusy> {
        let record = self.by_name.get(username);
        let hash = record.map_or(DUMMY_HASH, |record| record.password_hash.clone());
        let permit = tokio::time::timeout(queue_timeout, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| HashingBusy)?
            .map_err(|_| HashingBusy)?;
        let gauge = self.gauge.clone();
        let memory = self.memory.clone();
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = gauge.start();
            memory.verify(password.as_bytes(), &hash.0)
        })
        .await
        .unwrap_or(false);
        Ok(record.filter(|_| matches).map(|record| record.user.clone()))
    }

    /// How a sign-in's account appears in the log: a real account by its name; anything else as
    /// a short keyed hash, since an unknown "username" is often a password typed in the wrong
    /// field. Equal inputs give equal tags, so repeated attempts can still be correlated.
    pub fn log_name(&self, account: &str) -> String {
        if self.by_name.contains_key(account) {
            return account.to_owned();
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.log_key.0).expect("any key size");
        mac.update(account.as_bytes());
        let tag = mac.finalize().into_bytes();
        let hex: String = tag[..4].iter().map(|byte| format!("{byte:02x}")).collect();
        format!("unknown#{hex}")
    }

    /// The most password checks that ever ran at once.
    pub fn peak_concurrent_checks(&self) -> u64 {
        self.gauge.peak.load(Ordering::SeqCst) as u64
    }

    /// Password checks begun since start-up (argon2 jobs that got a slot).
    pub fn checks_started(&self) -> usize {
        self.gauge.started.load(Ordering::SeqCst)
    }

    /// Password checks running right now (argon2 jobs, whether or not their client is still
    /// there).
    pub fn checks_in_flight(&self) -> usize {
        self.gauge.running.load(Ordering::SeqCst)
    }
}

/// No hashing slot came free within the queue timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingBusy;

/// Counts argon2 jobs while they run, measured inside the blocking job itself so that jobs
/// orphaned by a disconnected client are still counted.
#[derive(Debug, Default)]
struct HashGauge {
    running: AtomicUsize,
    peak: AtomicUsize,
    started: AtomicUsize,
}

impl HashGauge {
    fn start(self: Arc<Self>) -> CheckInFlight {
        self.started.fetch_add(1, Ordering::SeqCst);
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(running, Ordering::SeqCst);
        CheckInFlight(self)
    }
}

/// One running check; un-counts itself when the job ends, however it ends.
struct CheckInFlight(Arc<HashGauge>);

impl Drop for CheckInFlight {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;
