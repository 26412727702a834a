//! Idle means the user: the warning, "Stay signed in", the end of an unused session in every
//! tab, and a used session that runs on without a visible interruption.

use super::support::*;

/// The server's idle timeout in these tests: 120 s, so the warning leads by a quarter, 30 s.
const IDLE_S: u64 = 120;

fn world_with_idle_timeout() -> World {
    let world = World::new();
    world.server.idle_timeout_s.set(Some(IDLE_S));
    world
}

#[test]
fn an_untouched_tab_is_warned_then_signed_out_at_the_servers_deadline() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    world.advance(89_999);
    assert_eq!(world.refreshes(), 0, "nobody was there: nothing kept alive");
    assert_eq!(auth.snapshot().idle_ends_at_ms, None);
    world.advance(1);
    assert!(events
        .borrow()
        .contains(&AuthEvent::IdleWarning { ends_in_ms: 30_000 }));
    assert_eq!(auth.snapshot().idle_ends_at_ms, Some(120_000.0));
    world.advance(29_999);
    assert!(auth.snapshot().user.is_some());
    world.advance(1);
    let idle = SignOutReason::Idle { after_secs: IDLE_S };
    assert!(events
        .borrow()
        .contains(&AuthEvent::SignedOut { reason: idle }));
    assert_eq!(*endings.borrow(), [idle]);
    assert_eq!(auth.snapshot().user, None);
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_tab_in_use_keeps_its_session_with_no_warning() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    for _ in 0..60 {
        world.advance(10_000);
        auth.user_active();
    }
    assert!(world.refreshes() >= 10, "{} refreshes", world.refreshes());
    assert!(!events
        .borrow()
        .iter()
        .any(|event| matches!(event, AuthEvent::IdleWarning { .. })));
    assert!(endings.borrow().is_empty());
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn activity_after_the_token_lapsed_still_refreshes_before_the_warning() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let events = record(&auth);
    world.advance(55_000);
    assert!(events
        .borrow()
        .contains(&AuthEvent::LeftToLapse { token_version: 1 }));
    auth.user_active();
    // Twice the lead before the deadline (60 s): the user was there, so a quiet refresh.
    world.advance(5_000);
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().idle_ends_at_ms, None);
    world.advance(100_000);
    assert!(auth.snapshot().user.is_some(), "the deadline moved");
}

#[test]
fn stay_signed_in_answers_the_warning_with_one_refresh() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    world.advance(100_000);
    assert!(auth.snapshot().idle_ends_at_ms.is_some());
    auth.stay_signed_in();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().idle_ends_at_ms, None);
    world.advance(60_000);
    assert!(
        endings.borrow().is_empty(),
        "the deadline is 120 s after the refresh"
    );
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn a_tab_in_use_keeps_an_untouched_tab_signed_in_and_unwarned() {
    let world = world_with_idle_timeout();
    let browser = MemoryBrowser::default();
    let (used, untouched) = (world.tab(&browser), world.tab(&browser));
    used.sign_in(world.server.mint());
    let events = record(&untouched);
    for _ in 0..40 {
        world.advance(10_000);
        used.user_active();
    }
    assert!(untouched.snapshot().user.is_some());
    assert!(!events.borrow().iter().any(|event| matches!(
        event,
        AuthEvent::IdleWarning { .. } | AuthEvent::SignedOut { .. }
    )));
}

#[test]
fn the_idle_end_in_one_tab_is_the_idle_end_in_every_tab() {
    let world = world_with_idle_timeout();
    let browser = MemoryBrowser::default();
    let (first, second) = (world.tab(&browser), world.tab(&browser));
    first.sign_in(world.server.mint());
    let endings = session_endings(&second);
    // Both tabs hold the same deadline; the first tab's timer fires first and tells the
    // second, which must say why the session ended as the first does.
    world.advance(IDLE_S * 1000);
    let idle = SignOutReason::Idle { after_secs: IDLE_S };
    assert_eq!(
        *endings.borrow(),
        [idle],
        "not \"signed out in another tab\""
    );
    assert_eq!(second.snapshot().user, None);
}

#[test]
fn a_tab_that_slept_past_the_deadline_ends_the_session_without_a_refresh_call() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    world.jump(3 * 3_600_000);
    auth.user_active();
    auth.catch_up();
    world.settle();
    assert_eq!(world.refreshes(), 0);
    assert_eq!(
        *endings.borrow(),
        [SignOutReason::Idle { after_secs: IDLE_S }]
    );
}

#[test]
fn a_tab_that_slept_less_than_the_deadline_refreshes_once() {
    let world = World::new();
    world.server.idle_timeout_s.set(Some(8 * 3_600));
    let auth = world.signed_in();
    world.jump(2 * 3_600_000);
    auth.user_active();
    auth.catch_up();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert!(auth.snapshot().user.is_some());
}

// --- coming back after the idle check ------------------------------------------------------
// With IDLE_S = 120: the check at 60 s, the warning at 90 s, the deadline at 120 s.

fn warnings(events: &RefCell<Vec<AuthEvent>>) -> usize {
    count(events, |event| {
        matches!(event, AuthEvent::IdleWarning { .. })
    })
}

#[test]
fn activity_after_the_check_refreshes_once_with_no_warning_and_no_sign_out() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    world.advance(70_000);
    assert_eq!(world.refreshes(), 0, "nobody there at the check");
    auth.user_active();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::Proactive,
    }));
    world.advance(49_000);
    assert_eq!(world.refreshes(), 1, "one, until the new token's own timer");
    world.advance(6_000);
    assert_eq!(warnings(&events), 0);
    assert!(endings.borrow().is_empty(), "the deadline moved to 190 s");
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn a_refresh_still_out_when_the_warning_is_due_keeps_it_hidden() {
    let world = world_with_idle_timeout();
    world.server.refresh_latency_ms.set(3_000);
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    world.advance(89_000);
    auth.user_active();
    world.advance(2_000);
    assert_eq!(warnings(&events), 0);
    assert_eq!(auth.snapshot().idle_ends_at_ms, None);
    world.advance(35_000);
    assert_eq!(warnings(&events), 0);
    assert!(endings.borrow().is_empty());
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn activity_during_the_warning_refreshes_once_and_withdraws_it() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    world.advance(95_000);
    assert_eq!(warnings(&events), 1);
    auth.user_active();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::StaySignedIn,
    }));
    assert_eq!(auth.snapshot().idle_ends_at_ms, None);
    world.advance(30_000);
    assert!(endings.borrow().is_empty());
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn a_burst_of_activity_after_the_check_makes_one_refresh_call() {
    let world = world_with_idle_timeout();
    world.server.refresh_latency_ms.set(500);
    let auth = world.signed_in();
    world.advance(80_000);
    for _ in 0..100 {
        auth.user_active();
        world.advance(10);
    }
    // Until the new token's proactive timer, 50 s after it arrived.
    world.advance(40_000);
    assert_eq!(world.refreshes(), 1);
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn the_deadline_passing_while_that_refresh_is_in_flight_does_not_sign_out() {
    let world = world_with_idle_timeout();
    world.server.refresh_latency_ms.set(5_000);
    let auth = world.signed_in();
    let (events, endings) = (record(&auth), session_endings(&auth));
    world.advance(118_000);
    auth.user_active();
    world.advance(3_000);
    assert!(endings.borrow().is_empty(), "the refresh is still out");
    world.advance(3_000);
    assert_eq!(world.refreshes(), 1);
    assert!(endings.borrow().is_empty());
    assert!(auth.snapshot().user.is_some());
    assert_eq!(
        auth.snapshot().idle_ends_at_ms,
        None,
        "the new token withdrew it"
    );
    assert_eq!(warnings(&events), 1, "shown before the user came back");
}

#[test]
fn activity_after_the_check_in_one_tab_keeps_an_untouched_tab_signed_in() {
    let world = world_with_idle_timeout();
    world.server.refresh_latency_ms.set(5_000);
    let browser = MemoryBrowser::default();
    let (untouched, used) = (world.tab(&browser), world.tab(&browser));
    untouched.sign_in(world.server.mint());
    let (untouched_endings, used_endings) = (session_endings(&untouched), session_endings(&used));
    world.advance(118_000);
    // The refresh is still out when the untouched tab's deadline passes.
    used.user_active();
    world.advance(10_000);
    assert_eq!(world.refreshes(), 1);
    assert!(untouched_endings.borrow().is_empty());
    assert!(used_endings.borrow().is_empty());
    assert!(untouched.snapshot().user.is_some());
    assert!(used.snapshot().user.is_some());
}

#[test]
fn a_session_over_answer_to_that_refresh_still_signs_out() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    world.server.script_refresh(&[RefreshReply::Refuse]);
    world.advance(100_000);
    auth.user_active();
    world.advance(30_000);
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
    assert_eq!(auth.snapshot().user, None);
}

#[test]
fn a_transient_failure_of_that_refresh_keeps_the_session_for_the_backoff_to_decide() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    let network = RefreshReply::Network;
    world.server.script_refresh(&[network, network, network]);
    world.advance(117_000);
    for _ in 0..100 {
        auth.user_active();
        world.advance(5);
    }
    assert_eq!(world.refreshes(), 1, "retrying is the backoff's job");
    // Fails at 117, 118 and 120 s: offline across the deadline; the retry at 124 s succeeds.
    world.advance(3_500);
    assert!(endings.borrow().is_empty(), "the user is there; offline");
    assert!(auth.snapshot().user.is_some());
    world.advance(10_000);
    assert_eq!(world.refreshes(), 4);
    assert!(endings.borrow().is_empty());
    assert!(auth.snapshot().user.is_some());
}

#[test]
fn activity_after_the_deadline_does_not_refresh() {
    let world = world_with_idle_timeout();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    world.advance(120_000);
    auth.user_active();
    world.advance(1_000);
    assert_eq!(world.refreshes(), 0);
    assert_eq!(
        *endings.borrow(),
        [SignOutReason::Idle { after_secs: IDLE_S }]
    );
}
