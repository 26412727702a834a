//! One refresh however many requests fail, never cancelled by a caller, never reused.

use super::support::*;

// --- 2. single flight ------------------------------------------------------------------------

#[test]
fn twenty_concurrent_401s_cause_exactly_one_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    // All twenty are on the wire before the first 401 comes back.
    let tasks: Vec<_> = (0..20)
        .map(|_| world.start(get_token(&auth, SLOW_PATH)))
        .collect();
    world.settle();
    assert_eq!(world.server.sends(), 20);
    world.advance(SLOW_LATENCY_MS);
    assert_eq!(world.refreshes(), 1);
    assert!(auth.snapshot().refreshing);
    world.advance(50 + SLOW_LATENCY_MS);

    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 40);
    let served = events.borrow().iter().find_map(|e| match e {
        AuthEvent::RefreshSucceeded { waiters, .. } => Some(waiters.len()),
        _ => None,
    });
    assert_eq!(served, Some(20));
}

#[test]
fn dropping_the_first_caller_does_not_cancel_the_shared_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let (first, first_handle) = abortable(get_token(&auth, paths::ITEMS));
    let first = world.start(first);
    let others: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();
    first_handle.abort();
    world.settle();
    assert_eq!(first.result(), Err(Aborted));
    world.advance(50);

    for task in &others {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().token_version, 2);
}

#[test]
fn a_finished_refresh_is_never_reused_for_a_later_401() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into())
    );
    assert_eq!(world.refreshes(), 2);
}
