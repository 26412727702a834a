//! Sessions as refresh families: rotation, a grace window for the previous credential, reuse
//! detection (RFC 9700 §4.14.2) and revocation, all decided under one lock.
//!
//! A refresh credential is `<session id>.<generation>.<mac>`, where the MAC is an HMAC over the
//! first two parts. Nothing secret is stored: the server re-derives the credential of any
//! generation, so it can hand back the family's *current* one during a grace replay, and the
//! generation alone tells current, previous and older credentials apart.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::clock::Clock;
use crate::api::demo::DemoFaults;

type HmacSha256 = Hmac<Sha256>;

/// A refresh credential. Its `Debug` is redacted so it cannot leak into a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct Grant {
    pub session_id: String,
    pub user_id: String,
    /// The family's current refresh credential (new after a rotation, unchanged after a replay).
    pub refresh_token: RefreshToken,
    /// Sequence number for the access token minted with this grant.
    pub access_ver: u64,
    /// Until the session's absolute lifetime ends: the refresh cookie need not live longer.
    pub session_left: Duration,
}

/// Why a refresh was refused. The client sees `invalid_grant` for all but `Unavailable`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefreshRefusal {
    #[error("malformed or forged credential")]
    Malformed,
    #[error("no such session (signed out, revoked or expired)")]
    UnknownSession,
    #[error("session expired")]
    Expired,
    #[error("rotated-away credential presented: family revoked")]
    Reused,
    /// A demo fault: the refresh endpoint pretends to be down.
    #[error("refresh temporarily unavailable (demo fault)")]
    Unavailable,
}

/// Why an access token's session no longer backs it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessRefusal {
    #[error("no such session")]
    UnknownSession,
    #[error("token predates an expire-access cut-off")]
    CutOff,
}

/// Lifetimes that govern every family.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub grace: Duration,
    pub idle: Duration,
    pub absolute: Duration,
}

/// Counters for `GET /api/admin/stats`.
#[derive(Debug, Default)]
pub struct FamilyStats {
    pub refreshes: AtomicU64,
    pub reuse_detected: AtomicU64,
}

struct Family {
    user_id: String,
    /// Generation of the current credential; every rotation adds one.
    generation: u64,
    rotated_at_ms: u64,
    created_at_ms: u64,
    last_refresh_ms: u64,
    /// Access tokens with `ver` below this are refused (demo: "expire access token").
    access_floor: u64,
    next_access_ver: u64,
    refreshes: u64,
    faults: DemoFaults,
    /// The tower-sessions record that mirrors this family, deleted with it.
    browser_session: Option<tower_sessions::session::Id>,
}

impl Family {
    fn mint_access_ver(&mut self) -> u64 {
        let ver = self.next_access_ver;
        self.next_access_ver += 1;
        ver
    }
}

/// All live refresh families.
pub struct FamilyRegistry {
    families: Mutex<HashMap<String, Family>>,
    /// Browser-session records of families removed during a refresh, deleted by the next sweep.
    orphans: Mutex<Vec<tower_sessions::session::Id>>,
    key: Vec<u8>,
    lifetimes: Lifetimes,
    clock: Arc<dyn Clock>,
    pub stats: FamilyStats,
}

impl FamilyRegistry {
    /// `key` signs refresh credentials; it must be secret and at least 32 bytes.
    pub fn new(key: Vec<u8>, lifetimes: Lifetimes, clock: Arc<dyn Clock>) -> Self {
        Self {
            families: Mutex::new(HashMap::new()),
            orphans: Mutex::new(Vec::new()),
            key,
            lifetimes,
            clock,
            stats: FamilyStats::default(),
        }
    }

    /// Starts a new family for a user who just proved their password.
    pub fn start(&self, user_id: &str) -> Grant {
        let now = self.clock.now_ms();
        let session_id = random_id();
        let mut family = Family {
            user_id: user_id.to_owned(),
            generation: 0,
            rotated_at_ms: now,
            created_at_ms: now,
            last_refresh_ms: now,
            access_floor: 0,
            next_access_ver: 0,
            refreshes: 0,
            faults: DemoFaults::default(),
            browser_session: None,
        };
        let access_ver = family.mint_access_ver();
        self.lock().insert(session_id.clone(), family);
        Grant {
            refresh_token: self.credential(&session_id, 0),
            session_id,
            user_id: user_id.to_owned(),
            access_ver,
            session_left: self.lifetimes.absolute,
        }
    }

    /// Exchanges a refresh credential, atomically:
    /// - the current credential rotates to a new one;
    /// - the immediately previous one, inside the grace window, gets the current one back and
    ///   rotates nothing (concurrent tabs, a lost response);
    /// - anything older, or the previous one after the window, is reuse: the family is revoked.
    pub fn refresh(&self, presented: &str) -> Result<Grant, RefreshRefusal> {
        let (session_id, generation) = self.authenticate(presented)?;
        let now = self.clock.now_ms();
        let mut families = self.lock();
        let family = families
            .get_mut(&session_id)
            .ok_or(RefreshRefusal::UnknownSession)?;
        if self.is_expired(family, now) {
            self.remove(&mut families, &session_id);
            return Err(RefreshRefusal::Expired);
        }
        let grace_ms = self.lifetimes.grace.as_millis() as u64;
        let rotate = generation == family.generation;
        // The demo can switch the grace window off for one family (`DemoFaults::grace_window`).
        let replay = family.faults.grace_window
            && generation + 1 == family.generation
            && now < family.rotated_at_ms + grace_ms;
        if !rotate && !replay {
            // Reuse is decided before any demo fault, so a replayed credential can never hide
            // behind a 503.
            self.remove(&mut families, &session_id);
            self.stats.reuse_detected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%session_id, "refresh credential reuse detected; session revoked");
            return Err(RefreshRefusal::Reused);
        }
        if family.faults.failing_refreshes > 0 {
            family.faults.failing_refreshes -= 1;
            return Err(RefreshRefusal::Unavailable);
        }
        if rotate {
            family.generation += 1;
            family.rotated_at_ms = now;
        }
        // A grace replay rotates nothing: it gets the current credential back.
        family.last_refresh_ms = now;
        family.refreshes += 1;
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        let access_ver = family.mint_access_ver();
        let current = family.generation;
        let user_id = family.user_id.clone();
        let session_left = self.remaining_lifetime(family, now);
        drop(families);
        Ok(Grant {
            refresh_token: self.credential(&session_id, current),
            session_id,
            user_id,
            access_ver,
            session_left,
        })
    }

    /// Whether an access token with sequence number `ver` is still backed by its session.
    pub fn check_access(&self, session_id: &str, ver: u64) -> Result<(), AccessRefusal> {
        let now = self.clock.now_ms();
        let families = self.lock();
        let family = families
            .get(session_id)
            .filter(|family| !self.is_expired(family, now))
            .ok_or(AccessRefusal::UnknownSession)?;
        if ver < family.access_floor {
            return Err(AccessRefusal::CutOff);
        }
        Ok(())
    }

    /// Whether the session exists and has not expired (used to render the first paint).
    pub fn is_active(&self, session_id: &str) -> bool {
        let now = self.clock.now_ms();
        self.lock()
            .get(session_id)
            .is_some_and(|family| !self.is_expired(family, now))
    }

    /// Ends a session: its refresh credentials and access tokens stop working at once.
    /// Returns the browser-session record to delete, if any.
    pub fn revoke(&self, session_id: &str) -> Option<tower_sessions::session::Id> {
        self.lock()
            .remove(session_id)
            .and_then(|family| family.browser_session)
    }

    /// Removes a family whose end nobody is waiting to clean up (expiry or reuse found during a
    /// refresh): its browser-session record is queued for the next [`FamilyRegistry::sweep`].
    fn remove(&self, families: &mut HashMap<String, Family>, session_id: &str) {
        if let Some(record) = families.remove(session_id).and_then(|f| f.browser_session) {
            self.orphans
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(record);
        }
    }

    fn remaining_lifetime(&self, family: &Family, now: u64) -> Duration {
        let ends_at = family.created_at_ms + self.lifetimes.absolute.as_millis() as u64;
        Duration::from_millis(ends_at.saturating_sub(now))
    }

    /// The session id a credential names, if its MAC is genuine (used by logout, which must
    /// work even with an already rotated-away credential).
    pub fn session_of(&self, presented: &str) -> Option<String> {
        self.authenticate(presented)
            .ok()
            .map(|(session_id, _)| session_id)
    }

    /// Refuses every access token of the session issued so far; refresh still works.
    pub fn expire_access(&self, session_id: &str) -> bool {
        self.with_family(session_id, |family| {
            family.access_floor = family.next_access_ver
        })
    }

    /// Remembers which tower-sessions record mirrors the family.
    pub fn attach_browser_session(&self, session_id: &str, id: tower_sessions::session::Id) {
        self.with_family(session_id, |family| family.browser_session = Some(id));
    }

    pub fn set_faults(&self, session_id: &str, faults: DemoFaults) -> bool {
        self.with_family(session_id, |family| family.faults = faults)
    }

    pub fn faults(&self, session_id: &str) -> DemoFaults {
        self.lock()
            .get(session_id)
            .map(|family| family.faults.clone())
            .unwrap_or_default()
    }

    /// Refreshes performed in this session so far.
    pub fn refresh_count(&self, session_id: &str) -> u64 {
        self.lock()
            .get(session_id)
            .map_or(0, |family| family.refreshes)
    }

    pub fn active_count(&self) -> u64 {
        self.lock().len() as u64
    }

    /// Drops expired families; returns their browser-session records so the caller can delete
    /// them from the session store too.
    pub fn sweep(&self) -> Vec<tower_sessions::session::Id> {
        let now = self.clock.now_ms();
        let mut orphans =
            std::mem::take(&mut *self.orphans.lock().unwrap_or_else(|p| p.into_inner()));
        let mut families = self.lock();
        families.retain(|_, family| {
            let keep = !self.is_expired(family, now);
            if !keep {
                orphans.extend(family.browser_session);
            }
            keep
        });
        orphans
    }

    fn is_expired(&self, family: &Family, now: u64) -> bool {
        let idle = self.lifetimes.idle.as_millis() as u64;
        let absolute = self.lifetimes.absolute.as_millis() as u64;
        now >= family.last_refresh_ms + idle || now >= family.created_at_ms + absolute
    }

    fn with_family(&self, session_id: &str, change: impl FnOnce(&mut Family)) -> bool {
        self.lock().get_mut(session_id).map(change).is_some()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Family>> {
        // A panic while holding the lock leaves plain data behind, still consistent enough to
        // serve; refusing every later request would be worse.
        self.families
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn credential(&self, session_id: &str, generation: u64) -> RefreshToken {
        let payload = format!("{session_id}.{generation}");
        let mac = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        RefreshToken(format!("{payload}.{mac}"))
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any size");
        mac.update(payload.as_bytes());
        mac
    }

    /// Checks the MAC (in constant time) and splits a credential into session id and generation.
    fn authenticate(&self, presented: &str) -> Result<(String, u64), RefreshRefusal> {
        let (payload, mac) = presented
            .rsplit_once('.')
            .ok_or(RefreshRefusal::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| RefreshRefusal::Malformed)?;
        self.mac(payload)
            .verify_slice(&mac)
            .map_err(|_| RefreshRefusal::Malformed)?;
        let (session_id, generation) = payload.split_once('.').ok_or(RefreshRefusal::Malformed)?;
        let generation = generation.parse().map_err(|_| RefreshRefusal::Malformed)?;
        Ok((session_id.to_owned(), generation))
    }
}

/// 128 random bits, URL-safe.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::clock::ManualClock;

    const GRACE: Duration = Duration::from_secs(10);

    fn registry(clock: &ManualClock) -> FamilyRegistry {
        let lifetimes = Lifetimes {
            grace: GRACE,
            idle: Duration::from_secs(1800),
            absolute: Duration::from_secs(43_200),
        };
        FamilyRegistry::new(vec![42; 32], lifetimes, Arc::new(clock.clone()))
    }

    #[test]
    fn the_current_credential_rotates_to_a_new_one() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let first = registry.refresh(login.refresh_token.as_str()).unwrap();
        assert_ne!(first.refresh_token, login.refresh_token);
        let second = registry.refresh(first.refresh_token.as_str()).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert!(second.access_ver > first.access_ver);
    }

    #[test]
    fn the_previous_credential_inside_the_grace_window_gets_the_current_one_back() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let login = registry.start("u1");
        let rotated = registry.refresh(login.refresh_token.as_str()).unwrap();
        clock.advance(GRACE - Duration::from_millis(1));
        let replay = registry.refresh(login.refresh_token.as_str()).unwrap();
        assert_eq!(replay.refresh_token, rotated.refresh_token);
        // The replay rotated nothing: the current credential still works.
        assert!(registry.refresh(rotated.refresh_token.as_str()).is_ok());
    }

    #[test]
    fn the_previous_credential_after_the_grace_window_revokes_the_family() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let login = registry.start("u1");
        let rotated = registry.refresh(login.refresh_token.as_str()).unwrap();
        clock.advance(GRACE);
        assert_eq!(
            registry.refresh(login.refresh_token.as_str()).unwrap_err(),
            RefreshRefusal::Reused
        );
        assert_eq!(
            registry
                .refresh(rotated.refresh_token.as_str())
                .unwrap_err(),
            RefreshRefusal::UnknownSession
        );
        assert!(registry
            .check_access(&login.session_id, rotated.access_ver)
            .is_err());
    }

    #[test]
    fn an_older_credential_is_reuse_even_inside_the_grace_window() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let first = registry.refresh(login.refresh_token.as_str()).unwrap();
        registry.refresh(first.refresh_token.as_str()).unwrap();
        assert_eq!(
            registry.refresh(login.refresh_token.as_str()).unwrap_err(),
            RefreshRefusal::Reused
        );
        assert_eq!(registry.stats.reuse_detected.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_forged_or_truncated_credential_is_malformed() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let token = login.refresh_token.as_str();
        let (session_id, _) = token.split_once('.').unwrap();
        for forged in [
            "",
            "x",
            "a.b.c",
            &format!("{session_id}.0.AAAA"),
            &token[..token.len() - 1],
        ] {
            assert_eq!(
                registry.refresh(forged).unwrap_err(),
                RefreshRefusal::Malformed,
                "{forged}"
            );
        }
    }

    #[test]
    fn a_session_idle_for_too_long_cannot_refresh() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let login = registry.start("u1");
        clock.advance(Duration::from_secs(1800));
        assert_eq!(
            registry.refresh(login.refresh_token.as_str()).unwrap_err(),
            RefreshRefusal::Expired
        );
    }

    #[test]
    fn a_session_ends_at_its_absolute_lifetime_however_active() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let mut token = registry.start("u1").refresh_token;
        for _ in 0..(43_200 / 1200) {
            clock.advance(Duration::from_secs(1200));
            match registry.refresh(token.as_str()) {
                Ok(grant) => token = grant.refresh_token,
                Err(refusal) => return assert_eq!(refusal, RefreshRefusal::Expired),
            }
        }
        panic!("the session outlived its absolute lifetime");
    }

    #[test]
    fn expire_access_cuts_off_tokens_issued_so_far_but_not_later_ones() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        assert!(registry.expire_access(&login.session_id));
        assert_eq!(
            registry.check_access(&login.session_id, login.access_ver),
            Err(AccessRefusal::CutOff)
        );
        let refreshed = registry.refresh(login.refresh_token.as_str()).unwrap();
        assert_eq!(
            registry.check_access(&login.session_id, refreshed.access_ver),
            Ok(())
        );
    }

    #[test]
    fn a_failing_refresh_fault_answers_unavailable_n_times_and_rotates_nothing() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let faults = DemoFaults {
            failing_refreshes: 2,
            ..DemoFaults::default()
        };
        registry.set_faults(&login.session_id, faults);
        for _ in 0..2 {
            assert_eq!(
                registry.refresh(login.refresh_token.as_str()).unwrap_err(),
                RefreshRefusal::Unavailable
            );
        }
        assert!(registry.refresh(login.refresh_token.as_str()).is_ok());
    }

    #[test]
    fn reuse_is_detected_even_while_refreshes_are_failing() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let rotated = registry.refresh(login.refresh_token.as_str()).unwrap();
        registry.refresh(rotated.refresh_token.as_str()).unwrap();
        registry.set_faults(
            &login.session_id,
            DemoFaults {
                failing_refreshes: 5,
                ..DemoFaults::default()
            },
        );
        assert_eq!(
            registry.refresh(login.refresh_token.as_str()).unwrap_err(),
            RefreshRefusal::Reused
        );
    }

    #[test]
    fn a_grant_knows_how_long_the_session_has_left() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let login = registry.start("u1");
        assert_eq!(login.session_left, Duration::from_secs(43_200));
        clock.advance(Duration::from_secs(200));
        let refreshed = registry.refresh(login.refresh_token.as_str()).unwrap();
        assert_eq!(refreshed.session_left, Duration::from_secs(43_000));
    }

    #[test]
    fn a_family_removed_by_reuse_leaves_its_browser_session_for_the_sweep() {
        let registry = registry(&ManualClock::new());
        let login = registry.start("u1");
        let record = tower_sessions::session::Id::default();
        registry.attach_browser_session(&login.session_id, record);
        let rotated = registry.refresh(login.refresh_token.as_str()).unwrap();
        registry.refresh(rotated.refresh_token.as_str()).unwrap();
        assert!(registry.refresh(login.refresh_token.as_str()).is_err());
        assert_eq!(registry.sweep(), vec![record]);
        assert!(
            registry.sweep().is_empty(),
            "each record is handed out once"
        );
    }

    #[test]
    fn sweep_drops_expired_families_only() {
        let clock = ManualClock::new();
        let registry = registry(&clock);
        let old = registry.start("u1");
        clock.advance(Duration::from_secs(1000));
        let fresh = registry.start("u2");
        clock.advance(Duration::from_secs(900));
        registry.sweep();
        assert!(!registry.is_active(&old.session_id));
        assert!(registry.is_active(&fresh.session_id));
        assert_eq!(registry.active_count(), 1);
    }
}
