//! Refreshing before expiry, catching up after a tab slept, and replacing an expired token.

use super::support::*;

// --- 7. proactive refresh --------------------------------------------------------------------

#[test]
fn the_token_of_a_page_in_use_is_refreshed_shortly_before_it_expires() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.advance(20_000);
    auth.user_active();
    // 60 s token, margin min(10 s, 20 %) = 10 s: refreshed at 50 s.
    world.advance(29_999);
    assert_eq!(world.refreshes(), 0);
    world.advance(1);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::Proactive
    }));
    assert_eq!(auth.snapshot().token_version, 2);
    assert_eq!(auth.snapshot().token_expires_at_ms, Some(110_000.0));
}

#[test]
fn a_401_during_the_proactive_refresh_joins_it() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.refresh_latency_ms.set(100);
    auth.user_active();
    world.advance(49_950);
    // Sent with t1; the proactive refresh starts (and rotates t1 away) before it answers.
    let slow = world.start(get_token(&auth, SLOW_PATH));
    world.advance(100);
    assert!(!slow.is_done(), "its 401 waits for the proactive refresh");
    assert!(auth.snapshot().refreshing);
    world.advance(50 + SLOW_LATENCY_MS);
    assert_eq!(slow.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_stale_proactive_timer_does_not_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    world.advance(30_000);
    auth.sign_in(world.server.mint());
    auth.user_active();
    world.advance(20_000);
    assert_eq!(world.refreshes(), 0, "the first token's timer is stale");
    world.advance(29_999);
    assert_eq!(world.refreshes(), 0);
    world.advance(1);
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn the_token_of_a_page_nobody_used_is_left_to_lapse_and_the_next_call_refreshes() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.advance(60_000);
    assert_eq!(
        world.refreshes(),
        0,
        "an untouched page keeps nothing alive"
    );
    assert!(events
        .borrow()
        .contains(&AuthEvent::LeftToLapse { token_version: 1 }));
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn activity_before_the_token_arrived_does_not_count() {
    let world = World::new();
    let auth = world.coordinator();
    auth.user_active();
    world.advance(1_000);
    auth.sign_in(world.server.mint());
    world.advance(60_000);
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn catch_up_refreshes_a_token_that_expired_while_the_tab_slept() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    auth.catch_up();
    world.settle();
    assert_eq!(world.refreshes(), 0, "a fresh token is left alone");

    world.jump(70_000);
    auth.catch_up();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::CatchUp
    }));
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
}

#[test]
fn an_expired_token_is_replaced_before_sending() {
    let world = World::new();
    let auth = world.signed_in();
    world.jump(61_000);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t2".into())]);
}
