//! The mock user store: two made-up users whose passwords are stored the real way, as argon2id
//! hashes with OWASP's parameters (m = 19 MiB, t = 2, p = 1).

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::Semaphore;

use crate::api::auth::User;
use crate::server::core::password::WorkingMemory;

/// A PHC-format password hash. No `Serialize`, and a redacted `Debug`.
#[derive(Clone)]
struct PasswordHashString(&'static str);

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[derive(Clone, Debug)]
struct UserRecord {
    user: User,
    password_hash: PasswordHashString,
}

/// Verified against when the username is unknown, so that costs the same time as a wrong
/// password and response times do not reveal which usernames exist.
const DUMMY_HASH: PasswordHashString = PasswordHashString(
    "$argon2id$v=19$m=19456,t=2,p=1$6hdHoHN8ky3s67ZRkBS5Bw$TlOpdGsMYorvOC0NE2Ikk6repzXEwj3z+fbwVjNY7h4",
);

/// The demo users. Their passwords are on the login page: this is a demo, not a secret.
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
    /// `alice` / `wonderland` (user) and `admin` / `admin-secret` (user, admin).
    pub fn demo(hash_concurrency: usize) -> Self {
        let records = [
            (
                "u-alice",
                "alice",
                &["user"][..],
                "$argon2id$v=19$m=19456,t=2,p=1$Hkeg0znxC+Rww+3NP1n+wA$eAxVp7hTbQJVKCs2M5eEDhDjCZKPEko9P9k5S8xqghk",
            ),
            (
                "u-admin",
                "admin",
                &["user", "admin"][..],
                "$argon2id$v=19$m=19456,t=2,p=1$uN/DCuvkd3n4jumZQEy3Zw$QWNMOkO2Q5GAj3yUgfVAM07cqAx97CkouB+ChYWzCz0",
            ),
        ];
        let by_name = records
            .into_iter()
            .map(|(id, username, roles, hash)| {
                let user = User {
                    id: id.to_owned(),
                    username: username.to_owned(),
                    roles: roles.iter().map(|role| role.to_string()).collect(),
                };
                let record = UserRecord {
                    user,
                    password_hash: PasswordHashString(hash),
                };
                (username.to_owned(), record)
            })
            .collect();
        Self {
            by_name,
            hashing: Arc::new(Semaphore::new(hash_concurrency)),
            memory: Arc::new(WorkingMemory::keeping(hash_concurrency)),
            gauge: Arc::default(),
            log_key: LogKey(rand::random()),
        }
    }

    pub fn by_id(&self, id: &str) -> Option<User> {
        self.by_name
            .values()
            .find(|record| record.user.id == id)
            .map(|record| record.user.clone())
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
            memory.verify(password.as_bytes(), hash.0)
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
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn the_demo_passwords_verify_and_wrong_ones_do_not() {
        let users = UserStore::demo(2);
        let check =
            |name: &'static str, password: &'static str| users.verify(name, password.into(), WAIT);
        let alice = check("alice", "wonderland").await.unwrap().unwrap();
        assert_eq!(alice.roles, ["user"]);
        let admin = check("admin", "admin-secret").await.unwrap().unwrap();
        assert!(admin.has_role("admin"));
        assert_eq!(check("alice", "admin-secret").await, Ok(None));
        assert_eq!(check("mallory", "wonderland").await, Ok(None));
    }

    #[tokio::test]
    async fn a_check_that_finds_no_free_slot_in_time_is_refused_as_busy() {
        let users = UserStore::demo(1);
        let held = users.hashing.clone().try_acquire_owned().unwrap();
        let busy = users.verify("alice", "wonderland".into(), Duration::from_millis(5));
        assert_eq!(busy.await, Err(HashingBusy));
        drop(held);
        let free = users.verify("alice", "wonderland".into(), Duration::ZERO);
        assert!(
            free.await.unwrap().is_some(),
            "a free slot is taken at once"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_keep_at_most_one_working_buffer_per_hashing_slot() {
        let users = Arc::new(UserStore::demo(2));
        let checks = (0..8).map(|i| {
            let users = users.clone();
            let name = if i % 2 == 0 { "alice" } else { "mallory" };
            tokio::spawn(async move { users.verify(name, "wonderland".into(), WAIT).await })
        });
        for check in futures::future::join_all(checks).await {
            check.unwrap().unwrap();
        }
        assert_eq!(users.checks_started(), 8);
        assert!(
            (1..=2).contains(&users.memory.buffers()),
            "{:?}",
            users.memory
        );
        let printed = format!("{users:?}");
        assert!(
            printed.len() < 2_000,
            "no working memory in Debug: {} bytes",
            printed.len()
        );
    }

    #[test]
    fn the_dummy_hash_uses_the_same_parameters_as_real_ones() {
        let users = UserStore::demo(1);
        let params = |hash: &str| hash.split('$').nth(3).unwrap().to_owned();
        for record in users.by_name.values() {
            assert_eq!(params(record.password_hash.0), params(DUMMY_HASH.0));
        }
        assert_eq!(params(DUMMY_HASH.0), "m=19456,t=2,p=1");
    }

    #[test]
    fn unknown_names_are_logged_as_a_stable_tag_never_verbatim() {
        let users = UserStore::demo(1);
        assert_eq!(users.log_name("alice"), "alice");
        let tag = users.log_name("hunter2-my-password");
        assert!(
            tag.starts_with("unknown#") && !tag.contains("hunter2"),
            "{tag}"
        );
        assert_eq!(tag.len(), "unknown#".len() + 8);
        assert_eq!(users.log_name("hunter2-my-password"), tag);
        assert_ne!(users.log_name("hunter3-my-password"), tag);
    }

    #[test]
    fn debug_output_never_shows_a_hash() {
        let printed = format!("{:?}", UserStore::demo(1));
        assert!(!printed.contains("argon2id"), "{printed}");
    }
}
