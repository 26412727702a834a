//! Page load: restoring and resuming a session with one refresh.

use super::support::*;

// --- 8. restore ------------------------------------------------------------------------------

#[test]
fn restore_and_concurrent_requests_share_one_refresh() {
    let world = World::new();
    let auth = world.coordinator();
    world.server.refresh_latency_ms.set(30);
    let restoring = world.start(restore(&auth));
    let tasks: Vec<_> = (0..5)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.advance(30);

    assert_eq!(restoring.result(), Ok(()));
    for task in &tasks {
        assert_eq!(task.result(), Ok("t1".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 5);
}

#[test]
fn resume_then_restore_refreshes_once_and_installs_the_token() {
    let world = World::new();
    let auth = world.coordinator();
    auth.resume(alice());
    assert_eq!(auth.snapshot().user, Some(alice()));
    assert_eq!(auth.snapshot().token_expires_at_ms, None);
    world.server.refresh_latency_ms.set(30);
    let restoring = world.start(restore(&auth));
    let tasks: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.advance(30);

    assert_eq!(restoring.result(), Ok(()));
    for task in &tasks {
        assert_eq!(task.result(), Ok("t1".into()));
    }
    assert_eq!(world.refreshes(), 1);
    let snapshot = auth.snapshot();
    assert_eq!(snapshot.user, Some(alice()));
    assert_eq!(snapshot.token_version, 1);
    assert_eq!(snapshot.token_expires_at_ms, Some(30.0 + 60_000.0));
}

#[test]
fn resume_then_a_refused_refresh_ends_the_session_and_fails_every_waiter() {
    let world = World::new();
    let auth = world.coordinator();
    let events = record(&auth);
    let endings = session_endings(&auth);
    auth.resume(alice());
    world.server.session_revoked.set(true);

    let tasks: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();

    for task in &tasks {
        assert_eq!(task.result(), Err(AuthError::SessionExpired));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 0);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
    let expired = count(&events, |e| {
        matches!(
            e,
            AuthEvent::RefreshFailed {
                kind: RefreshFailureKind::SessionExpired,
                ..
            }
        )
    });
    assert_eq!(expired, 1);
    let sign_outs = count(&events, |e| {
        *e == AuthEvent::SignedOut {
            reason: SignOutReason::SessionExpired,
        }
    });
    assert_eq!(sign_outs, 1);
    assert_eq!(auth.snapshot().user, None);
}

#[test]
fn resume_then_a_refused_restore_signs_out_the_other_tabs() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    let second_endings = session_endings(&second);
    first.resume(alice());
    second.resume(alice());
    world.server.session_revoked.set(true);

    let restoring = world.start(restore(&first));
    world.advance(config().tab_answer_wait_ms);

    assert_eq!(restoring.result(), Err(AuthError::SessionExpired));
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*first_endings.borrow(), [SignOutReason::SessionExpired]);
    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
    assert_eq!(second.snapshot().user, None);
}

#[test]
fn resume_leaves_a_token_already_held_alone() {
    let world = World::new();
    let auth = world.signed_in();
    let bob = User {
        id: "u2".into(),
        username: "bob".into(),
        roles: vec![],
    };
    auth.resume(bob);
    assert_eq!(auth.snapshot().user, Some(alice()));
    assert_eq!(auth.snapshot().token_version, 1);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.refreshes(), 0);
}

// --- the page's own token ---------------------------------------------------------------------

#[test]
fn a_token_from_the_page_is_used_at_once_with_no_refresh_call() {
    let world = World::new();
    let auth = world.coordinator();
    let events = record(&auth);
    auth.resume_with_token(world.server.mint());

    assert_eq!(auth.snapshot().user, Some(alice()));
    assert_eq!(auth.snapshot().token_expires_at_ms, Some(60_000.0));
    let tasks: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    assert_eq!(world.finish(restore(&auth)), Ok(()));
    for task in &tasks {
        assert_eq!(task.result(), Ok("t1".into()));
    }
    assert_eq!(world.refreshes(), 0);
    assert_eq!(
        count(&events, |e| matches!(e, AuthEvent::TokenFromPage { .. })),
        1
    );
}

#[test]
fn a_token_from_the_page_that_died_on_the_way_costs_one_refresh() {
    let world = World::new();
    let auth = world.coordinator();
    auth.resume_with_token(world.server.mint());
    world.server.expire_token(); // "expire access token" between render and hydration
    let tasks: Vec<_> = (0..5)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.advance(1);

    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_token_from_the_page_leaves_a_token_already_held_alone() {
    let world = World::new();
    let auth = world.signed_in();
    let stale = TokenResponse {
        access_token: "from-the-page".into(),
        token_type: "Bearer".into(),
        expires_in: LIFETIME_S,
        user: alice(),
        idle_expires_in: None,
        idle_timeout: None,
    };
    auth.resume_with_token(stale);
    assert_eq!(auth.snapshot().token_version, 1);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
}
