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
