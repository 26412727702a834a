//! Several tabs: one refresh call for all of them, and one sign-out for all of them.

use super::support::*;

// --- 10. several tabs ------------------------------------------------------------------------

#[test]
fn two_tabs_bursting_on_an_expired_token_make_one_refresh_call() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let second_events = record(&second);
    first.sign_in(world.server.mint());
    assert_eq!(second.snapshot().user, Some(alice()), "login is shared");
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let tab = if i % 2 == 0 { &first } else { &second };
            world.start(get_token(tab, paths::ITEMS))
        })
        .collect();
    world.advance(50);

    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    let adopted = count(&second_events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
}

#[test]
fn three_tabs_burst_on_an_expired_token_with_one_refresh_call() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let tabs: Vec<_> = (0..3).map(|_| world.tab(&browser)).collect();
    tabs[2].sign_in(world.server.mint());
    world.server.expire_token();
    let tasks: Vec<_> = tabs
        .iter()
        .flat_map(|tab| (0..3).map(|_| world.start(get_token(tab, paths::ITEMS))))
        .collect();
    world.settle();
    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn signing_out_in_one_tab_ends_the_session_in_the_other() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    let second_endings = session_endings(&second);
    first.sign_in(world.server.mint());

    first.sign_out(SignOutReason::User);

    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
    assert!(first_endings.borrow().is_empty());
    assert_eq!(second.snapshot().user, None);
    let result = world.finish(get_token(&second, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 0);
}

#[test]
fn a_refused_refresh_in_one_tab_ends_the_session_in_the_others() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let second_endings = session_endings(&second);
    first.sign_in(world.server.mint());
    world.server.expire_token();
    world.server.session_revoked.set(true);

    let result = world.finish(get_token(&first, paths::ITEMS));

    assert_eq!(result, Err(AuthError::SessionExpired));
    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
}

#[test]
fn a_new_tab_gets_the_token_from_an_open_tab_without_refreshing() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let open = world.tab(&browser);
    open.sign_in(world.server.mint());
    world.advance(5_000);

    let new = world.tab(&browser);
    let events = record(&new);
    let restored = world.finish(restore(&new));

    assert_eq!(restored, Ok(()));
    assert_eq!(world.refreshes(), 0);
    assert!(events
        .borrow()
        .contains(&AuthEvent::TokenFromOtherTab { token_version: 1 }));
    assert_eq!(new.snapshot().token_expires_at_ms, Some(60_000.0));
    assert_eq!(world.finish(get_token(&new, paths::ITEMS)), Ok("t1".into()));
}

#[test]
fn a_new_tab_rendered_for_another_user_refreshes_instead_of_taking_an_open_tabs_token() {
    // An open tab holds alice's token; the form signed in another user in a new page, whose
    // server render saw that user's cookie.
    let world = World::new();
    let browser = MemoryBrowser::default();
    let open = world.tab(&browser);
    open.sign_in(world.server.mint());
    *world.server.cookie_user.borrow_mut() = Some(admin());
    let new = world.tab(&browser);
    let events = record(&new);
    new.resume(admin());
    let restoring = world.start(restore(&new));
    world.settle();
    assert_eq!(world.refreshes(), 0, "the open tab's answer is not taken");
    world.advance(config().tab_answer_wait_ms);
    assert_eq!(restoring.result(), Ok(()));
    assert_eq!(world.refreshes(), 1);
    assert!(!events
        .borrow()
        .iter()
        .any(|event| matches!(event, AuthEvent::TokenFromOtherTab { .. })));
    assert_eq!(new.snapshot().user, Some(admin()));
    assert_eq!(
        open.snapshot().user,
        Some(alice()),
        "a refresh announced for admin is not taken by alice's tab"
    );
}

#[test]
fn a_refresh_bringing_another_users_token_fails_its_waiters_and_each_tab_learns_at_its_own() {
    // Two tabs of alice's; then the form signed admin in, in a page of its own: the shared
    // cookie now holds admin's session, and alice's tabs learn it at their next refresh.
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    first.sign_in(world.server.mint());
    let events = record(&first);
    let endings = session_endings(&first);
    *world.server.cookie_user.borrow_mut() = Some(admin());
    world.server.expire_token();

    let made_as_alice = world.finish(get_token(&first, paths::ITEMS));

    assert_eq!(made_as_alice, Err(AuthError::SessionExpired));
    assert_eq!(
        world.server.bearers_for(paths::ITEMS),
        [Some("t1".into())],
        "alice's request is not sent again with admin's token"
    );
    assert_eq!(world.refreshes(), 1);
    assert_eq!(user_changes(&events), 1);
    assert_eq!(
        count(&events, |e| matches!(e, AuthEvent::SignedIn { .. })),
        1
    );
    assert!(endings.borrow().is_empty(), "nobody signed out");
    assert_eq!(first.snapshot().user, Some(admin()));
    assert_eq!(
        second.snapshot().user,
        Some(alice()),
        "a refreshed token for another user is not taken"
    );

    let second_events = record(&second);
    let also_as_alice = world.finish(get_token(&second, paths::ITEMS));
    assert_eq!(also_as_alice, Err(AuthError::SessionExpired));
    assert_eq!(user_changes(&second_events), 1);
    assert_eq!(second.snapshot().user, Some(admin()));
    assert_eq!(
        world.finish(get_token(&second, paths::ITEMS)),
        Ok("t3".into())
    );
}

#[test]
fn a_new_tab_alone_refreshes_after_waiting_briefly_for_an_answer() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let alone = world.tab(&browser);
    let restoring = world.start(restore(&alone));
    world.settle();
    assert_eq!(world.refreshes(), 0);
    world.advance(config().tab_answer_wait_ms);
    assert_eq!(restoring.result(), Ok(()));
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn the_single_tab_fallback_refreshes_at_once_and_shares_nothing() {
    let world = World::new();
    let lonely = world.coordinator();
    let restoring = world.start(restore(&lonely));
    world.settle();
    assert_eq!(restoring.result(), Ok(()), "no wait for other tabs");
    let other = world.coordinator();
    assert_eq!(other.snapshot().user, None);
    assert_eq!(world.refreshes(), 1);
}
