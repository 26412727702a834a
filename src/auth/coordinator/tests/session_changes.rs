//! A session that changes while a refresh is under way: late answers are discarded.

use super::support::*;

// --- 11. a session that changes while a refresh is under way ---------------------------------

#[test]
fn a_refresh_answering_after_sign_out_is_discarded_whatever_it_says() {
    for answer in [
        RefreshReply::Mint,
        RefreshReply::Refuse,
        RefreshReply::Unavailable,
    ] {
        let world = World::new();
        let auth = world.signed_in();
        let events = record(&auth);
        let endings = session_endings(&auth);
        world.server.expire_token();
        world.server.refresh_latency_ms.set(50);
        world.server.script_refresh(&[answer]);
        let waiting = world.start(get_token(&auth, paths::ITEMS));
        world.settle();
        assert!(auth.snapshot().refreshing, "{answer:?}");

        auth.sign_out(SignOutReason::User);
        world.advance(50);

        assert_eq!(
            waiting.result(),
            Err(AuthError::SessionExpired),
            "{answer:?}"
        );
        let snapshot = auth.snapshot();
        assert_eq!(snapshot.user, None, "{answer:?}");
        assert_eq!(snapshot.token_expires_at_ms, None, "{answer:?}");
        assert!(!snapshot.offline, "{answer:?}");
        assert!(endings.borrow().is_empty(), "{answer:?}");
        let sign_outs = count(&events, |e| matches!(e, AuthEvent::SignedOut { .. }));
        assert_eq!(sign_outs, 1, "{answer:?}");
        let resurrected = count(&events, |e| {
            matches!(
                e,
                AuthEvent::RefreshSucceeded { .. } | AuthEvent::Offline { .. }
            )
        });
        assert_eq!(resurrected, 0, "{answer:?}");

        let after = world.finish(get_token(&auth, paths::ITEMS));
        assert_eq!(after, Err(AuthError::Unauthorized), "{answer:?}");
        world.advance(120_000);
        assert_eq!(world.refreshes(), 1, "{answer:?}");
        assert_eq!(world.server.sends(), 1, "{answer:?}");
    }
}

#[test]
fn a_refresh_answering_after_another_tab_signed_out_is_not_shared() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    first.sign_in(world.server.mint());
    let second_events = record(&second);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);
    let waiting = world.start(get_token(&first, paths::ITEMS));
    world.settle();

    second.sign_out(SignOutReason::User);
    world.advance(50);

    assert_eq!(waiting.result(), Err(AuthError::SessionExpired));
    assert_eq!(first.snapshot().user, None);
    assert_eq!(
        second.snapshot().user,
        None,
        "no token came after the sign-out"
    );
    let shared = count(&second_events, |e| {
        matches!(e, AuthEvent::TokenFromOtherTab { .. })
    });
    assert_eq!(shared, 0);
    assert_eq!(*first_endings.borrow(), [SignOutReason::OtherTab]);
}

#[test]
fn a_refresh_answering_after_a_new_sign_in_gives_its_waiters_the_new_token() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);
    let waiting = world.start(get_token(&auth, paths::ITEMS));
    world.settle();

    auth.sign_in(world.server.mint());
    world.advance(50);

    assert_eq!(waiting.result(), Ok("t3".into()), "t2 was minted too late");
    assert_eq!(
        world.server.bearers_for(paths::ITEMS),
        [Some("t1".into()), Some("t3".into())]
    );
    assert_eq!(auth.snapshot().token_version, 2);
    let adopted = count(&events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into())
    );
}

#[test]
fn a_sign_in_as_someone_else_while_a_refresh_waits_fails_only_the_requests_made_before_it() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);
    let made_as_alice = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    // Made while the refresh is out: it waits for it before its first send.
    let also_as_alice = world.start(get_token(&auth, paths::ITEMS));
    world.settle();

    *world.server.cookie_user.borrow_mut() = Some(admin());
    auth.sign_in(world.server.mint());
    let made_as_admin = world.start(get_token(&auth, paths::USAGE));
    world.settle();
    world.advance(50);

    assert_eq!(made_as_alice.result(), Err(AuthError::SessionExpired));
    assert_eq!(also_as_alice.result(), Err(AuthError::SessionExpired));
    assert_eq!(
        world.server.bearers_for(paths::ITEMS),
        [Some("t1".into())],
        "alice's requests are not sent (again) as admin"
    );
    assert_eq!(
        count(&events, |e| matches!(e, AuthEvent::RequestFailed { .. })),
        2,
        "a timeline sees alice's requests end"
    );
    assert_eq!(
        made_as_admin.result(),
        Ok("t3".into()),
        "admin's request waited for the same refresh and took admin's token"
    );
    assert_eq!(auth.snapshot().user, Some(admin()));
}

#[test]
fn a_request_whose_401_comes_after_a_sign_in_as_someone_else_is_not_sent_again() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    let slow = world.start(get_token(&auth, SLOW_PATH));
    world.settle();

    *world.server.cookie_user.borrow_mut() = Some(admin());
    auth.sign_in(world.server.mint());
    world.advance(SLOW_LATENCY_MS);

    assert_eq!(slow.result(), Err(AuthError::SessionExpired));
    assert_eq!(
        world.server.bearers_for(SLOW_PATH),
        [Some("t1".into())],
        "alice's request is not sent again as admin"
    );
    assert_eq!(
        count(&events, |e| matches!(e, AuthEvent::Retried { .. })),
        0
    );
    assert_eq!(world.refreshes(), 0);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
}

// --- subscriptions ----------------------------------------------------------------------------

#[test]
fn an_unsubscribed_listener_hears_nothing_more_and_the_count_returns() {
    let world = World::new();
    let auth = world.coordinator();
    let before = auth.subscription_count();
    let heard = Rc::new(Cell::new(0));
    let ear = heard.clone();
    let listener = auth.subscribe(move |_| ear.set(ear.get() + 1));
    let hook = auth.on_session_ended(|_| {});
    assert_eq!(auth.subscription_count(), before + 2);

    auth.sign_in(world.server.mint());
    let after_sign_in = heard.get();
    assert!(after_sign_in > 0);
    auth.unsubscribe(listener);
    auth.unsubscribe(hook);
    auth.unsubscribe(hook); // twice: nothing happens
    auth.sign_out(SignOutReason::User);

    assert_eq!(heard.get(), after_sign_in);
    assert_eq!(auth.subscription_count(), before);
}
