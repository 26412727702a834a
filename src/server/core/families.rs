//! Sessions as refresh families: rotation, a grace window for the previous credential, reuse
//! detection (RFC 9700 §4.14.2) and revocation, decided here and committed to the store with a
//! compare-and-swap, so parallel refreshes on any number of instances never fork a family.
//!
//! One file per concern: this one the registry, sessions starting and ending, and the access
//! checks; `rotation` the refresh decision; `credentials` the refresh credential's format and
//! MAC; `sessions` a user's own sessions, listed and ended; `thefts` those reuse ended; `revocations` and `owners` this
//! process's caches.

mod credentials;
mod owners;
mod revocations;
mod rotation;
mod sessions;
#[cfg(test)]
mod tests;
mod thefts;

use std::{
    sync::{atomic::AtomicU64, Arc},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;

use super::faults::{NoFaults, RefreshFaults};
use crate::server::core::{
    clock::Clock,
    keys::DerivedKeys,
    store::{
        FamilyRecord, FamilyWrite, Revocation, Store, StoreError, StoreResult, StoredRecord,
        FIRST_PARTY_CLIENT,
    },
};
pub use credentials::RefreshToken;
use owners::SessionOwners;
pub use revocations::AccessRefusal;
use revocations::RevocationCache;
pub use sessions::LiveSession;
pub use thefts::EndedByReuse;

/// How often one refresh may lose a compare-and-swap to a concurrent one before it gives up
/// with a 503. Each loss means another refresh of the family succeeded, so this is only
/// reached under a storm of far more parallel refreshes than any client sends.
const MAX_RACES: usize = 64;

/// The browser-session record a refresh makes and points its family at, created in the
/// family's own write (so a refresh that gives the browser a new record is still one store
/// step).
#[derive(Clone, Debug)]
pub struct BrowserRecord {
    /// The record's id in the store: tower-sessions' session id, the browser's session cookie.
    pub id: i128,
    /// The record's data and expiry, created in the family's write.
    pub record: StoredRecord,
    /// The browser's previous record, whose deletion was held back for this write: the
    /// family's own record (the browser was in step), which the write drops anyway.
    pub replaces: Option<i128>,
}

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct Grant {
    /// The family's id: the access token's `sid`, and what a revocation names.
    pub session_id: String,
    /// The user the family belongs to: the access token's `sub`.
    pub user_id: String,
    /// The client the family was issued to ([`FIRST_PARTY_CLIENT`] for the demo's cookie).
    pub client_id: String,
    /// The scope granted to that client (empty for the first-party SPA).
    pub scope: String,
    /// The family's current refresh credential (new after a rotation, unchanged after a replay).
    pub refresh_token: RefreshToken,
    /// Sequence number for the access token minted with this grant.
    pub access_ver: u64,
    /// Until the session's absolute lifetime ends: the refresh cookie need not live longer.
    pub session_left: Duration,
    /// When the family started, in seconds since the epoch: for the first-party session, when
    /// its user signed in (an access token's `auth_time`).
    pub started_secs: u64,
    /// The audience of its access tokens (RFC 8707); `None`: this provider's API.
    pub audience: Option<String>,
    /// The DPoP key the family is bound to: its access tokens are too.
    pub dpop_jkt: Option<String>,
}

/// What a family is issued for, beyond its user: the client, the scope and resource it was
/// granted, and the DPoP key it is bound to (RFC 9449 §5), if any.
#[derive(Clone, Copy, Debug, Default)]
pub struct IssuedFor<'a> {
    /// The OAuth client ([`FIRST_PARTY_CLIENT`] for the demo's own session).
    pub client_id: &'a str,
    /// The scope granted, space-separated; empty for the first-party session.
    pub scope: &'a str,
    /// The audience of its tokens (RFC 8707); `None`: this provider's API.
    pub audience: Option<&'a str>,
    /// The key's thumbprint its refresh credential and tokens are bound to.
    pub dpop_jkt: Option<&'a str>,
}

/// See [`FamilyRegistry::page_access`].
#[derive(Debug)]
pub struct PageAccess {
    /// The user the session belongs to: the token's `sub`.
    pub user_id: String,
    /// The number of the session's latest access token, which the page's token shares, so an
    /// "expire access token" cut-off reaches it too.
    pub access_ver: u64,
    /// When the session started, in seconds since the epoch: when its user signed in.
    pub started_secs: u64,
    /// Until the session's absolute lifetime ends: the page's token must not outlive it.
    pub session_left: Duration,
    /// Until the idle timeout ends the session unless it is refreshed.
    pub idle_left: Duration,
}

/// Why a refresh was refused. The client sees `invalid_grant` for all but the two 503s.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    /// Not a credential of ours: wrong format, or a MAC no current or previous key made.
    #[error("malformed or forged credential")]
    Malformed,
    /// A genuine credential whose family is gone: signed out, revoked, or expired and swept.
    #[error("no such session (signed out, revoked or expired)")]
    UnknownSession,
    /// The family ran past its idle timeout or absolute lifetime; it is deleted now.
    #[error("session expired")]
    Expired,
    /// An older credential, or the previous one after the grace window: a sign of theft
    /// (RFC 9700 §4.14.2), so the whole family is revoked.
    #[error("rotated-away credential presented: family revoked")]
    Reused,
    /// A credential issued to another client (RFC 6749 §6: refresh tokens are bound to theirs).
    #[error("the credential was issued to another client")]
    WrongClient,
    /// A credential of a family bound to a DPoP key, presented without a proof of that key
    /// (RFC 9449 §5): refused before the decision, so the family is left as it was — a thief
    /// without the key can neither use it nor, by a reuse, sign its owner out.
    #[error("the credential is bound to another DPoP key")]
    WrongKey,
    /// A demo fault: the refresh endpoint pretends to be down.
    #[error("refresh temporarily unavailable (demo fault)")]
    Unavailable,
    /// The store timed out or failed; the family is untouched and may be refreshed later.
    #[error("the session store is unavailable")]
    StoreUnavailable,
}

impl From<StoreError> for RefreshRefusal {
    fn from(_: StoreError) -> Self {
        // The detail was logged where it happened (store::timed).
        Self::StoreUnavailable
    }
}

/// Lifetimes that govern every family.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// `REFRESH_GRACE_SECS`: how long after a rotation the previous credential still gets the
    /// current one back (concurrent tabs, a lost response) instead of counting as reuse.
    pub grace: Duration,
    /// `SESSION_IDLE_TIMEOUT_SECS`: a family not refreshed for this long ends.
    pub idle: Duration,
    /// `SESSION_ABSOLUTE_TIMEOUT_SECS`: a family ends this long after its login, refreshed or not.
    pub absolute: Duration,
    /// How long an access token lives: revocations are remembered that long.
    pub access: Duration,
}

/// Counters for `GET /api/admin/stats` (this instance's share).
#[derive(Debug, Default)]
pub struct FamilyStats {
    /// Refreshes granted, rotations and grace replays alike.
    pub refreshes: AtomicU64,
    /// Families revoked because a rotated-away credential came back.
    pub reuse_detected: AtomicU64,
}

/// All refresh families, in the store, with this process's view of revocations.
pub struct FamilyRegistry {
    store: Arc<dyn Store>,
    keys: DerivedKeys,
    lifetimes: Lifetimes,
    max_per_user: usize,
    clock: Arc<dyn Clock>,
    revoked: RevocationCache,
    owners: SessionOwners,
    /// This instance's counters since it started (not shared through the store).
    pub stats: FamilyStats,
    faults: Arc<dyn RefreshFaults>,
}

impl FamilyRegistry {
    /// `keys` sign refresh credentials (the signing key) and verify them (previous keys too, so
    /// rotating the secret keeps sessions alive); secret, at least 32 bytes. A user keeps at most
    /// `max_per_user` live sessions.
    pub fn new(
        store: Arc<dyn Store>,
        keys: impl Into<DerivedKeys>,
        lifetimes: Lifetimes,
        max_per_user: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            keys: keys.into(),
            lifetimes,
            max_per_user,
            clock,
            revoked: RevocationCache::default(),
            owners: SessionOwners::default(),
            stats: FamilyStats::default(),
            faults: Arc::new(NoFaults),
        }
    }

    /// The same registry, asking `faults` in each refresh decision (the demo's switches; see
    /// `server::http::faults`).
    pub fn with_faults(self, faults: Arc<dyn RefreshFaults>) -> Self {
        Self { faults, ..self }
    }

    /// Starts a new family for a user who just proved their password, from a browser described
    /// by `user_agent` (see `server::http::user_agent`); beyond `MAX_SESSIONS_PER_USER`, the user's
    /// oldest sessions are revoked.
    pub async fn start(&self, user_id: &str, user_agent: Option<String>) -> StoreResult<Grant> {
        let first_party = IssuedFor {
            client_id: FIRST_PARTY_CLIENT,
            ..IssuedFor::default()
        };
        self.start_for_client(random_id(), user_id, first_party, user_agent)
            .await
    }

    /// A fresh session id, for a family whose id must be known before it starts (an
    /// authorization code names the family it is exchanged for, so a replay can revoke it).
    pub fn new_session_id() -> String {
        random_id()
    }

    /// [`start`](Self::start) for an OAuth client, under `session_id`, for what it was
    /// granted: the same family, rotation and lifetimes as the first-party cookie's.
    pub async fn start_for_client(
        &self,
        session_id: String,
        user_id: &str,
        issued: IssuedFor<'_>,
        user_agent: Option<String>,
    ) -> StoreResult<Grant> {
        let now = self.clock.now_ms();
        let mut family = FamilyRecord {
            scope: issued.scope.to_owned(),
            user_agent,
            audience: issued.audience.map(str::to_owned),
            dpop_jkt: issued.dpop_jkt.map(str::to_owned),
            ..FamilyRecord::new(user_id, issued.client_id, now)
        };
        let access_ver = mint_access_ver(&mut family);
        self.store
            .insert_family(&session_id, &family, self.expires_at(&family))
            .await?;
        let mut sessions = self.store.user_families(user_id).await?;
        if sessions.len() > self.max_per_user {
            sessions.sort_by_key(|(id, created)| (*created, id != &session_id));
            let excess = sessions.len() - self.max_per_user;
            for (oldest, _) in sessions.into_iter().take(excess) {
                tracing::info!(session_id = %oldest, "session limit reached; oldest revoked");
                self.revoke(&oldest).await?;
            }
        }
        self.owners.remember(&session_id, user_id);
        Ok(Grant {
            refresh_token: self.credential(&session_id, 0),
            session_id,
            user_id: user_id.to_owned(),
            client_id: issued.client_id.to_owned(),
            scope: issued.scope.to_owned(),
            access_ver,
            session_left: self.lifetimes.absolute,
            started_secs: now / 1000,
            audience: issued.audience.map(str::to_owned),
            dpop_jkt: issued.dpop_jkt.map(str::to_owned),
        })
    }

    /// Whether an access token with sequence number `ver` is still backed by its session.
    /// Answered from this process's memory: no store round trip on a protected request.
    pub fn check_access(&self, session_id: &str, ver: u64) -> Result<(), AccessRefusal> {
        self.revoked.admit(session_id, ver)
    }

    /// What an access token minted for a page render of a live session carries: the number of
    /// the session's latest token (so "expire access token" cuts it off with the others) and
    /// the time the session has left. Read only: a page render rotates nothing and writes
    /// nothing. `None` when the session is gone or has expired.
    pub async fn page_access(&self, session_id: &str) -> StoreResult<Option<PageAccess>> {
        let now = self.clock.now_ms();
        Ok(self
            .store
            .load_family(session_id)
            .await?
            .filter(|stored| now < self.expires_at(&stored.family))
            .map(|stored| PageAccess {
                user_id: stored.family.user_id.clone(),
                access_ver: stored.family.next_access_ver.saturating_sub(1),
                started_secs: stored.family.created_at_ms / 1000,
                session_left: self.remaining_lifetime(&stored.family, now),
                idle_left: self.idle_left(&stored.family, now),
            }))
    }

    /// Whether the session exists and has not expired.
    pub async fn is_active(&self, session_id: &str) -> StoreResult<bool> {
        Ok(self.page_access(session_id).await?.is_some())
    }

    /// Ends a session everywhere: its refresh credentials stop working at once, its access
    /// tokens here at once and on other instances at their next revocation poll.
    pub async fn revoke(&self, session_id: &str) -> StoreResult<()> {
        self.cut_off(session_id, u64::MAX).await?;
        self.remove(session_id).await
    }

    /// Deletes a family and the browser-session record that mirrors it.
    async fn remove(&self, session_id: &str) -> StoreResult<()> {
        self.owners.forget(session_id);
        if let Some(record) = self
            .store
            .remove_family(session_id)
            .await?
            .and_then(|family| family.browser_session)
        {
            self.store.delete_record(record).await?;
        }
        Ok(())
    }

    /// Refuses the session's access tokens below `floor`, here at once and elsewhere via the log.
    async fn cut_off(&self, session_id: &str, floor: u64) -> StoreResult<()> {
        let revocation = Revocation {
            session_id: session_id.to_owned(),
            floor,
            at_ms: self.clock.now_ms(),
        };
        self.revoked.apply(&revocation);
        self.store.publish_revocation(&revocation).await
    }

    /// Reads revocations published by any instance since the last call (see `spawn_housekeeping`).
    pub async fn sync_revocations(&self) -> StoreResult<()> {
        self.revoked.sync(self.store.as_ref()).await
    }

    fn remaining_lifetime(&self, family: &FamilyRecord, now: u64) -> Duration {
        let ends_at = family.created_at_ms + self.lifetimes.absolute.as_millis() as u64;
        Duration::from_millis(ends_at.saturating_sub(now))
    }

    fn idle_left(&self, family: &FamilyRecord, now: u64) -> Duration {
        let ends_at = family.last_refresh_ms + self.lifetimes.idle.as_millis() as u64;
        Duration::from_millis(ends_at.saturating_sub(now))
    }

    /// `SESSION_IDLE_TIMEOUT_SECS`: a login or refresh leaves this long before the session ends
    /// unless refreshed again.
    pub fn idle_timeout(&self) -> Duration {
        self.lifetimes.idle
    }

    /// When the family ends unless refreshed: idle timeout or absolute lifetime, whichever
    /// comes first. Also the store's expiry for it.
    fn expires_at(&self, family: &FamilyRecord) -> u64 {
        let idle = family.last_refresh_ms + self.lifetimes.idle.as_millis() as u64;
        let absolute = family.created_at_ms + self.lifetimes.absolute.as_millis() as u64;
        idle.min(absolute)
    }

    /// Refuses every access token of the session issued so far; refresh still works.
    pub async fn expire_access(&self, session_id: &str) -> StoreResult<bool> {
        let Some(stored) = self.store.load_family(session_id).await? else {
            return Ok(false);
        };
        // Tokens are numbered in order, so the floor only needs to be at least this high; a
        // concurrent refresh minting one more changes nothing for the tokens that exist now.
        self.cut_off(session_id, stored.family.next_access_ver)
            .await?;
        Ok(true)
    }

    /// Remembers which tower-sessions record mirrors the family, and deletes the one it
    /// replaces: a browser that lost its session cookie must not leave a record per refresh.
    pub async fn attach_browser_session(&self, session_id: &str, id: i128) -> StoreResult<()> {
        self.update(session_id, |family| {
            family.browser_session.replace(id).filter(|old| *old != id)
        })
        .await?;
        Ok(())
    }

    /// The user a session belongs to, if it exists: from memory for a session this process has
    /// seen (a session's user never changes), else from the store. A remembered session that
    /// ended since is refused by the refresh this serves, which then forgets what it made.
    pub async fn owner(&self, session_id: &str) -> StoreResult<Option<String>> {
        if let Some(user_id) = self.owners.owner(session_id) {
            return Ok(Some(user_id));
        }
        Ok(self
            .store
            .load_family(session_id)
            .await?
            .map(|stored| stored.family.user_id))
    }

    /// The family as stored, if it exists and has not expired, and when it ends unless
    /// refreshed (introspection, userinfo).
    pub async fn live_family(&self, session_id: &str) -> StoreResult<Option<(FamilyRecord, u64)>> {
        let now = self.clock.now_ms();
        Ok(self
            .store
            .load_family(session_id)
            .await?
            .map(|stored| {
                let ends = self.expires_at(&stored.family);
                (stored.family, ends)
            })
            .filter(|(_, ends)| now < *ends))
    }

    /// The live family a refresh credential is the *current* credential of, without using it
    /// (RFC 7662 introspection: a rotated-away or forged credential is not active).
    pub async fn current_family_of(
        &self,
        presented: &str,
    ) -> StoreResult<Option<(String, FamilyRecord, u64)>> {
        let Ok((session_id, generation)) = self.authenticate(presented) else {
            return Ok(None);
        };
        Ok(self
            .live_family(&session_id)
            .await?
            .filter(|(family, _)| family.generation == generation)
            .map(|(family, ends)| (session_id, family, ends)))
    }

    /// Refreshes performed in this session so far.
    pub async fn refresh_count(&self, session_id: &str) -> StoreResult<u64> {
        Ok(self
            .store
            .load_family(session_id)
            .await?
            .map_or(0, |stored| stored.family.refreshes))
    }

    /// Families in the store, on every instance; expired ones count until the next sweep.
    pub async fn active_count(&self) -> StoreResult<u64> {
        self.store.count_families().await
    }

    /// Purges expired families and records (and the throttle's expired entries) from the store
    /// and forgets revocations no live access token can be affected by.
    pub async fn sweep(&self) -> StoreResult<()> {
        let now = self.clock.now_ms();
        // An access token lives less than its TTL + 1 s (`exp` is rounded up to a whole second,
        // see `TokenIssuer::issue_within`); one more second covers clock skew between the
        // instance that stamped a revocation and the one that issued the token.
        let horizon = now.saturating_sub(self.lifetimes.access.as_millis() as u64 + 2000);
        self.revoked.forget_before(horizon);
        for family in self.store.sweep(now, horizon).await? {
            if let Some(record) = family.browser_session {
                self.store.delete_record(record).await?;
            }
        }
        Ok(())
    }

    /// Applies `change` in one store decision, taken again if a concurrent write got there
    /// first; `change` returns the browser-session record the family lets go of, deleted with
    /// the write. `false` when there is no such family.
    async fn update(
        &self,
        session_id: &str,
        mut change: impl FnMut(&mut FamilyRecord) -> Option<i128> + Send,
    ) -> StoreResult<bool> {
        for _ in 0..MAX_RACES {
            let mut found = false;
            let committed = self
                .store
                .decide_family(session_id, &mut |stored| {
                    let mut family = stored?.clone();
                    found = true;
                    let dropped = change(&mut family);
                    Some(self.write(family, dropped, None))
                })
                .await?;
            if committed {
                return Ok(found);
            }
        }
        Err(StoreError::Backend(format!(
            "family update lost {MAX_RACES} races in a row"
        )))
    }

    fn write(
        &self,
        family: FamilyRecord,
        drop_record: Option<i128>,
        create_record: Option<(i128, StoredRecord)>,
    ) -> FamilyWrite {
        FamilyWrite {
            expires_at_ms: self.expires_at(&family),
            family,
            drop_record,
            create_record,
        }
    }
}

fn mint_access_ver(family: &mut FamilyRecord) -> u64 {
    let ver = family.next_access_ver;
    family.next_access_ver += 1;
    ver
}

/// 128 random bits, URL-safe.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
