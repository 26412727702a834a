use std::sync::atomic::Ordering;

use super::*;
use crate::{
    api::demo::DemoFaults,
    server::core::{clock::ManualClock, faults::DemoFaultSwitches, store::memory::MemoryBackend},
};

const GRACE: Duration = Duration::from_secs(10);

fn registry(clock: &ManualClock) -> FamilyRegistry {
    registry_with_limit(clock, 10)
}

/// A registry that asks the demo's fault switches, and the switches.
fn registry_with_faults(clock: &ManualClock) -> (FamilyRegistry, Arc<DemoFaultSwitches>) {
    let faults = Arc::new(DemoFaultSwitches::new(Arc::new(clock.clone())));
    (registry(clock).with_faults(faults.clone()), faults)
}

fn registry_with_limit(clock: &ManualClock, max_per_user: usize) -> FamilyRegistry {
    let lifetimes = Lifetimes {
        grace: GRACE,
        idle: Duration::from_secs(1800),
        absolute: Duration::from_secs(43_200),
        access: Duration::from_secs(60),
    };
    FamilyRegistry::new(
        Arc::new(MemoryBackend::default()),
        vec![42; 32],
        lifetimes,
        max_per_user,
        Arc::new(clock.clone()),
    )
}

#[tokio::test]
async fn the_current_credential_rotates_to_a_new_one() {
    let registry = registry(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    let first = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    assert_ne!(first.refresh_token, login.refresh_token);
    let second = registry
        .refresh(first.refresh_token.as_str())
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(second.access_ver > first.access_ver);
}

#[tokio::test]
async fn the_previous_credential_inside_the_grace_window_gets_the_current_one_back() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let login = registry.start("u1", None).await.unwrap();
    let rotated = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    clock.advance(GRACE - Duration::from_millis(1));
    let replay = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    assert_eq!(replay.refresh_token, rotated.refresh_token);
    // The replay rotated nothing: the current credential still works.
    assert!(registry
        .refresh(rotated.refresh_token.as_str())
        .await
        .is_ok());
}

#[tokio::test]
async fn the_previous_credential_after_the_grace_window_revokes_the_family() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let login = registry.start("u1", None).await.unwrap();
    let rotated = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    clock.advance(GRACE);
    assert_eq!(
        registry
            .refresh(login.refresh_token.as_str())
            .await
            .unwrap_err(),
        RefreshRefusal::Reused
    );
    assert_eq!(
        registry
            .refresh(rotated.refresh_token.as_str())
            .await
            .unwrap_err(),
        RefreshRefusal::UnknownSession
    );
    assert!(registry
        .check_access(&login.session_id, rotated.access_ver)
        .is_err());
}

#[tokio::test]
async fn an_older_credential_is_reuse_even_inside_the_grace_window() {
    let registry = registry(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    let first = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    registry
        .refresh(first.refresh_token.as_str())
        .await
        .unwrap();
    assert_eq!(
        registry
            .refresh(login.refresh_token.as_str())
            .await
            .unwrap_err(),
        RefreshRefusal::Reused
    );
    assert_eq!(registry.stats.reuse_detected.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_forged_or_truncated_credential_is_malformed() {
    let registry = registry(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
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
            registry.refresh(forged).await.unwrap_err(),
            RefreshRefusal::Malformed,
            "{forged}"
        );
    }
}

#[tokio::test]
async fn a_session_idle_for_too_long_cannot_refresh() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let login = registry.start("u1", None).await.unwrap();
    clock.advance(Duration::from_secs(1800));
    assert_eq!(
        registry
            .refresh(login.refresh_token.as_str())
            .await
            .unwrap_err(),
        RefreshRefusal::Expired
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let mut token = registry.start("u1", None).await.unwrap().refresh_token;
    for _ in 0..(43_200 / 1200) {
        clock.advance(Duration::from_secs(1200));
        match registry.refresh(token.as_str()).await {
            Ok(grant) => token = grant.refresh_token,
            Err(refusal) => return assert_eq!(refusal, RefreshRefusal::Expired),
        }
    }
    panic!("the session outlived its absolute lifetime");
}

#[tokio::test]
async fn expire_access_cuts_off_tokens_issued_so_far_but_not_later_ones() {
    let registry = registry(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    assert!(registry.expire_access(&login.session_id).await.unwrap());
    assert_eq!(
        registry.check_access(&login.session_id, login.access_ver),
        Err(AccessRefusal::CutOff)
    );
    let refreshed = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    assert_eq!(
        registry.check_access(&login.session_id, refreshed.access_ver),
        Ok(())
    );
}

#[tokio::test]
async fn a_failing_refresh_fault_answers_unavailable_n_times_and_rotates_nothing() {
    let (registry, switches) = registry_with_faults(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    let faults = DemoFaults {
        failing_refreshes: 2,
        ..DemoFaults::default()
    };
    switches.set(&login.session_id, faults);
    let before = registry.store.load_family(&login.session_id).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            registry
                .refresh(login.refresh_token.as_str())
                .await
                .unwrap_err(),
            RefreshRefusal::Unavailable
        );
    }
    // Review finding of #23: the faults lived in the family record, and each failure was a
    // write to it. The security core's record is now untouched by them.
    let after = registry.store.load_family(&login.session_id).await.unwrap();
    assert_eq!(after.map(|v| v.rev), before.map(|v| v.rev));
    assert!(registry.refresh(login.refresh_token.as_str()).await.is_ok());
}

#[tokio::test]
async fn reuse_is_detected_even_while_refreshes_are_failing() {
    let (registry, switches) = registry_with_faults(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    let rotated = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    registry
        .refresh(rotated.refresh_token.as_str())
        .await
        .unwrap();
    let faults = DemoFaults {
        failing_refreshes: 5,
        ..DemoFaults::default()
    };
    switches.set(&login.session_id, faults);
    assert_eq!(
        registry
            .refresh(login.refresh_token.as_str())
            .await
            .unwrap_err(),
        RefreshRefusal::Reused
    );
}

#[tokio::test]
async fn a_grant_knows_how_long_the_session_has_left() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let login = registry.start("u1", None).await.unwrap();
    assert_eq!(login.session_left, Duration::from_secs(43_200));
    clock.advance(Duration::from_secs(200));
    let refreshed = registry
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    assert_eq!(refreshed.session_left, Duration::from_secs(43_000));
}

#[tokio::test]
async fn sweep_drops_expired_families_only() {
    let clock = ManualClock::new();
    let registry = registry(&clock);
    let old = registry.start("u1", None).await.unwrap();
    clock.advance(Duration::from_secs(1000));
    let fresh = registry.start("u2", None).await.unwrap();
    clock.advance(Duration::from_secs(900));
    registry.sweep().await.unwrap();
    assert!(!registry.is_active(&old.session_id).await.unwrap());
    assert!(registry.is_active(&fresh.session_id).await.unwrap());
    assert_eq!(registry.active_count().await.unwrap(), 1);
}

#[tokio::test]
async fn signing_in_beyond_the_limit_revokes_the_oldest_session() {
    let clock = ManualClock::new();
    let registry = registry_with_limit(&clock, 2);
    let oldest = registry.start("u1", None).await.unwrap();
    clock.advance(Duration::from_secs(1));
    let middle = registry.start("u1", None).await.unwrap();
    clock.advance(Duration::from_secs(1));
    let newest = registry.start("u1", None).await.unwrap();
    registry.start("u2", None).await.unwrap();
    assert!(!registry.is_active(&oldest.session_id).await.unwrap());
    assert_eq!(
        registry.check_access(&oldest.session_id, oldest.access_ver),
        Err(AccessRefusal::Revoked)
    );
    assert!(registry.is_active(&middle.session_id).await.unwrap());
    assert!(registry.is_active(&newest.session_id).await.unwrap());
    assert_eq!(registry.active_count().await.unwrap(), 3);
}

/// A browser that sends its session record back gets a new one in the family's own write,
/// which drops the old one: the family's record, or, when another refresh of the family (a tab
/// sharing the cookies) had replaced it first, the record the browser sent as well.
#[tokio::test]
async fn a_refresh_drops_the_browser_record_it_replaces() {
    let registry = registry(&ManualClock::new());
    let login = registry.start("u1", None).await.unwrap();
    let record = StoredRecord {
        data: "{}".into(),
        expires_at_ms: registry.clock.now_ms() + 3_600_000,
    };
    let renewing = |id, replaces| BrowserRecord {
        id,
        record: record.clone(),
        replaces,
    };
    let exists = async |id| registry.store.load_record(id).await.unwrap().is_some();

    let first = registry
        .refresh_attaching(login.refresh_token.as_str(), Some(&renewing(1, None)))
        .await
        .unwrap();
    assert!(exists(1).await);

    // In step: the browser sends record 1, the family's own.
    let second = registry
        .refresh_attaching(first.refresh_token.as_str(), Some(&renewing(2, Some(1))))
        .await
        .unwrap();
    assert!(!exists(1).await && exists(2).await);

    // The browser sends record 7, which another refresh replaced by 2: both go.
    assert!(registry.store.create_record(7, &record).await.unwrap());
    registry
        .refresh_attaching(second.refresh_token.as_str(), Some(&renewing(3, Some(7))))
        .await
        .unwrap();
    assert!(!exists(7).await && !exists(2).await && exists(3).await);
}
