//! Messages that cross a sign-out, and a login that must not race a refresh.

use super::support::*;

// --- 12. messages that cross a sign-out, and a login that must not race a refresh ------------

/// How a tab came to be signed out.
#[derive(Clone, Copy, Debug)]
enum SignedOutBy {
    ThisTab,
    OtherTab,
    RefusedRefresh,
}

/// A token message as another tab would send it.
fn announced(kind: fn(String, u64, User) -> TabMessage, tokens: TokenResponse) -> TabMessage {
    kind(tokens.access_token, tokens.expires_in * 1000, tokens.user)
}

fn refreshed(access_token: String, expires_in_ms: u64, user: User) -> TabMessage {
    TabMessage::TokenRefreshed(SharedToken {
        access_token,
        expires_in_ms,
        user,
        idle: None,
    })
}

fn signed_in(access_token: String, expires_in_ms: u64, user: User) -> TabMessage {
    TabMessage::SignedIn(SharedToken {
        access_token,
        expires_in_ms,
        user,
        idle: None,
    })
}

#[test]
fn a_signed_out_tab_ignores_a_refreshed_token_that_crossed_its_sign_out_but_adopts_a_sign_in() {
    for way in [
        SignedOutBy::ThisTab,
        SignedOutBy::OtherTab,
        SignedOutBy::RefusedRefresh,
    ] {
        let world = World::new();
        let browser = MemoryBrowser::default();
        let first = world.tab(&browser);
        let second = world.tab(&browser);
        first.sign_in(world.server.mint());
        match way {
            SignedOutBy::ThisTab => second.sign_out(SignOutReason::User),
            SignedOutBy::OtherTab => first.sign_out(SignOutReason::User),
            SignedOutBy::RefusedRefresh => {
                world.server.expire_token();
                world.server.session_revoked.set(true);
                let refused = world.finish(get_token(&second, paths::ITEMS));
                assert_eq!(refused, Err(AuthError::SessionExpired), "{way:?}");
            }
        }
        assert_eq!(second.snapshot().user, None, "{way:?}");
        let events = record(&second);
        let endings = session_endings(&second);
        let (sends, refreshes) = (world.server.sends(), world.refreshes());

        // A refresh, or an answer to `TokenWanted`, from a tab that had not heard of the sign-out
        // yet. The server would still take the token: adopting it would show.
        second.on_tab_message(announced(refreshed, world.server.mint()));

        assert_eq!(second.snapshot().user, None, "{way:?}");
        assert_eq!(second.snapshot().token_expires_at_ms, None, "{way:?}");
        assert!(events.borrow().is_empty(), "{way:?}: {:?}", events.borrow());
        let after = world.finish(get_token(&second, paths::ITEMS));
        assert_eq!(after, Err(AuthError::Unauthorized), "{way:?}");
        world.advance(120_000);
        assert_eq!(world.server.sends(), sends, "{way:?}: nothing sent with it");
        assert_eq!(world.refreshes(), refreshes, "{way:?}: no refresh either");

        // A new login in another tab does sign it in again.
        let login = world.server.mint();
        let token = login.access_token.clone();
        second.on_tab_message(announced(signed_in, login));

        assert_eq!(second.snapshot().user, Some(alice()), "{way:?}");
        let adopted = count(&events, |e| {
            matches!(e, AuthEvent::TokenFromOtherTab { .. })
        });
        assert_eq!(adopted, 1, "{way:?}");
        let result = world.finish(get_token(&second, paths::ITEMS));
        assert_eq!(result, Ok(token), "{way:?}");
        assert_eq!(world.refreshes(), refreshes, "{way:?}");
        assert!(endings.borrow().is_empty(), "{way:?}");
    }
}

#[test]
fn a_tab_whose_session_is_unknown_or_active_still_adopts_a_refreshed_token() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let unknown = world.tab(&browser);
    let active = world.tab(&browser);
    active.resume(alice());
    world.server.mint();
    let newer = world.server.mint();
    let token = newer.access_token.clone();

    let message = announced(refreshed, newer);
    unknown.on_tab_message(message.clone());
    active.on_tab_message(message);

    for tab in [&unknown, &active] {
        assert_eq!(
            world.finish(get_token(tab, paths::ITEMS)),
            Ok(token.clone())
        );
    }
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_login_in_one_tab_signs_in_a_tab_that_had_signed_out() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    first.sign_in(world.server.mint());
    first.sign_out(SignOutReason::User);
    assert_eq!(second.snapshot().user, None);
    let events = record(&second);

    first.sign_in(world.server.mint());

    assert_eq!(second.snapshot().user, Some(alice()));
    assert!(events
        .borrow()
        .contains(&AuthEvent::TokenFromOtherTab { token_version: 3 }));
    assert_eq!(
        world.finish(get_token(&second, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_login_is_announced_as_signed_in_and_a_refresh_or_an_answer_as_token_refreshed() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let auth = world.tab(&browser);
    let spy = browser.open_tab();
    let heard = Rc::new(RefCell::new(Vec::new()));
    {
        let heard = heard.clone();
        spy.on_message(move |message| heard.borrow_mut().push(message));
    }

    auth.sign_in(world.server.mint());
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    spy.publish(TabMessage::TokenWanted);

    let heard: Vec<(&str, String)> = heard
        .borrow()
        .iter()
        .map(|message| match message {
            TabMessage::SignedIn(token) => ("signed in", token.access_token.clone()),
            TabMessage::TokenRefreshed(token) => ("refreshed", token.access_token.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        heard,
        [
            ("signed in", "t1".to_owned()),
            ("refreshed", "t2".to_owned()),
            ("refreshed", "t2".to_owned())
        ]
    );
}

/// A login call for [`Coordinator::sign_in_with`] that records when it is first polled.
fn login_call(
    world: &World,
    polled: &Rc<Cell<bool>>,
) -> impl Future<Output = Result<TokenResponse, String>> + 'static {
    let (server, polled) = (world.server.clone(), polled.clone());
    async move {
        polled.set(true);
        Ok(server.mint())
    }
}

fn sign_in_with<S: TabSync>(
    coordinator: &TestCoordinator<S>,
    login: impl Future<Output = Result<TokenResponse, String>> + 'static,
) -> impl Future<Output = Result<User, String>> + 'static {
    let coordinator = coordinator.clone();
    async move { coordinator.sign_in_with(login).await }
}

#[test]
fn sign_in_with_calls_login_only_after_the_refresh_in_flight_answered() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.refresh_latency_ms.set(50);
    auth.user_active();
    world.advance(50_000);
    assert!(auth.snapshot().refreshing, "the proactive refresh is out");
    assert_eq!(world.refreshes(), 1);

    let polled = Rc::new(Cell::new(false));
    let signing_in = world.start(sign_in_with(&auth, login_call(&world, &polled)));
    world.advance(49);
    assert!(!polled.get(), "the login waits for the refresh's answer");
    assert!(!signing_in.is_done());
    world.advance(1);

    assert!(polled.get());
    assert_eq!(signing_in.result(), Ok(alice()));
    let order: Vec<&str> = events
        .borrow()
        .iter()
        .filter_map(|event| match event {
            AuthEvent::RefreshSucceeded { adopted: false, .. } => Some("refreshed"),
            AuthEvent::SignedIn { .. } => Some("signed in"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["refreshed", "signed in"]);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into()),
        "the login's token, not the refresh's t2"
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t3".into())]);
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn sign_in_with_waits_for_a_refresh_holding_the_lock_in_another_tab() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    first.sign_in(world.server.mint());
    world.server.refresh_latency_ms.set(50);
    first.user_active();
    world.advance(50_000);
    assert!(first.snapshot().refreshing);
    let second = world.tab(&browser);

    let polled = Rc::new(Cell::new(false));
    let signing_in = world.start(sign_in_with(&second, login_call(&world, &polled)));
    world.advance(49);
    assert!(!polled.get(), "one auth call per browser at a time");
    world.advance(1);

    assert_eq!(signing_in.result(), Ok(alice()));
    for tab in [&first, &second] {
        assert_eq!(world.finish(get_token(tab, paths::ITEMS)), Ok("t3".into()));
    }
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_refresh_started_during_sign_in_with_adopts_the_login_token() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let auth = world.tab(&browser);
    auth.sign_in(world.server.mint());
    world.server.expire_token();
    let events = record(&auth);
    let (answer, answered) = oneshot::channel::<()>();
    let login = {
        let server = world.server.clone();
        async move {
            let _ = answered.await;
            Ok::<_, String>(server.mint())
        }
    };
    let signing_in = world.start(sign_in_with(&auth, login));
    world.settle();
    let request = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    assert!(auth.snapshot().refreshing, "the 401 started a refresh");
    assert_eq!(
        world.refreshes(),
        0,
        "it waits for the lock the login holds"
    );

    let _ = answer.send(());
    world.settle();

    assert_eq!(signing_in.result(), Ok(alice()));
    assert_eq!(request.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 0, "the login's token was adopted");
    let adopted = count(&events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
}

#[test]
fn a_failed_sign_in_with_hands_back_the_login_error_and_changes_nothing() {
    let world = World::new();
    let auth = world.coordinator();
    let events = record(&auth);
    let login = async { Err::<TokenResponse, _>("Wrong username or password.".to_owned()) };

    let result = world.finish(sign_in_with(&auth, login));

    assert_eq!(result, Err("Wrong username or password.".to_owned()));
    assert_eq!(auth.snapshot().user, None);
    assert_eq!(auth.snapshot().token_version, 0);
    assert!(events.borrow().is_empty());
}
