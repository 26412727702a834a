//! The mock user store: two made-up users whose passwords are stored the real way, as argon2id
//! hashes with OWASP's parameters (m = 19 MiB, t = 2, p = 1).

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::api::auth::User;

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
    checks_in_flight: AtomicUsize,
    /// Most password checks ever running at once (admin stats; proves the bound holds).
    peak_checks: AtomicUsize,
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
            checks_in_flight: AtomicUsize::new(0),
            peak_checks: AtomicUsize::new(0),
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
    pub async fn verify(&self, username: &str, password: String) -> Option<User> {
        let record = self.by_name.get(username);
        let hash = record.map_or(DUMMY_HASH, |record| record.password_hash.clone());
        let _permit = self.hashing.acquire().await.ok()?;
        let _running = CheckInFlight::start(self);
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(hash.0).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        record.filter(|_| matches).map(|record| record.user.clone())
    }

    /// The most password checks that ever ran at once.
    pub fn peak_concurrent_checks(&self) -> u64 {
        self.peak_checks.load(Ordering::SeqCst) as u64
    }
}

/// Counts a password check while it runs, also when the request is dropped half-way.
struct CheckInFlight<'a>(&'a AtomicUsize);

impl<'a> CheckInFlight<'a> {
    fn start(users: &'a UserStore) -> Self {
        let running = users.checks_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        users.peak_checks.fetch_max(running, Ordering::SeqCst);
        Self(&users.checks_in_flight)
    }
}

impl Drop for CheckInFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_passwords_verify_and_wrong_ones_do_not() {
        let users = UserStore::demo(2);
        let alice = users.verify("alice", "wonderland".into()).await.unwrap();
        assert_eq!(alice.roles, ["user"]);
        assert!(users
            .verify("admin", "admin-secret".into())
            .await
            .unwrap()
            .has_role("admin"));
        assert!(users.verify("alice", "admin-secret".into()).await.is_none());
        assert!(users.verify("mallory", "wonderland".into()).await.is_none());
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
    fn debug_output_never_shows_a_hash() {
        let printed = format!("{:?}", UserStore::demo(1));
        assert!(!printed.contains("argon2id"), "{printed}");
    }
}
