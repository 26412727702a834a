//! A refused refresh ends the session once; a transient one never does, and is retried.

use super::support::*;

// --- 6. refresh failures ---------------------------------------------------------------------

#[test]
fn a_refused_refresh_signs_out_once_and_fails_every_waiter() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    let endings = session_endings(&auth);
    world.server.expire_token();
    world.server.session_revoked.set(true);

    let tasks: Vec<_> = (0..5)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();

    for task in &tasks {
        assert_eq!(task.result(), Err(AuthError::SessionExpired));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
    let sign_outs = count(&events, |e| matches!(e, AuthEvent::SignedOut { .. }));
    assert_eq!(sign_outs, 1);
    assert_eq!(auth.snapshot().user, None);
}

#[test]
fn a_transient_refresh_failure_never_signs_out() {
    for failure in [
        RefreshReply::Unavailable,
        RefreshReply::Network,
        RefreshReply::Hang,
    ] {
        let world = World::new();
        let auth = world.signed_in();
        let events = record(&auth);
        let endings = session_endings(&auth);
        world.server.expire_token();
        world.server.script_refresh(&[failure; 20]);

        let tasks: Vec<_> = (0..3)
            .map(|_| world.start(get_token(&auth, paths::ITEMS)))
            .collect();
        world.advance(config().refresh_timeout_ms);

        for task in &tasks {
            assert!(matches!(task.result(), Err(AuthError::Transient(_))));
        }
        let snapshot = auth.snapshot();
        assert_eq!(snapshot.user, Some(alice()), "{failure:?}");
        assert!(snapshot.offline, "{failure:?}");
        assert!(endings.borrow().is_empty(), "{failure:?}");
        assert_eq!(
            count(&events, |e| matches!(e, AuthEvent::SignedOut { .. })),
            0
        );
    }
}

#[test]
fn after_a_transient_failure_the_refresh_is_retried_with_backoff_until_online() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.script_refresh(&[RefreshReply::Network; 5]);

    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert!(matches!(result, Err(AuthError::Transient(_))));
    for (delay, calls_after) in [(1_000, 2), (2_000, 3), (4_000, 4), (8_000, 5), (8_000, 6)] {
        world.advance(delay - 1);
        assert_eq!(world.refreshes(), calls_after - 1, "not before {delay} ms");
        world.advance(1);
        assert_eq!(world.refreshes(), calls_after, "after {delay} ms");
    }

    let delays: Vec<u64> = events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            AuthEvent::Offline { retry_in_ms } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 8_000]);
    assert_eq!(events.borrow().last(), Some(&AuthEvent::Online));
    assert!(!auth.snapshot().offline);
    world.advance(30_000);
    assert_eq!(world.refreshes(), 6, "no retry once online");
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
}
