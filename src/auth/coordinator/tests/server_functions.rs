//! The server-function path (`execute_raw`, used by `AuthClient`): the same single flight and
//! retry-once as REST calls, with the final answer handed back for the function to decode.

use super::support::*;

/// A server-function call as `AuthClient` makes it: status and body, whatever the status.
fn call_server_fn<S: TabSync>(
    coordinator: &TestCoordinator<S>,
    path: &str,
) -> impl Future<Output = Result<(u16, String), AuthError>> + 'static {
    let coordinator = coordinator.clone();
    let request = ApiRequest::get(path);
    async move {
        let response = coordinator.execute_raw(request).await?;
        Ok((response.status, response.body))
    }
}

#[test]
fn server_function_calls_and_rest_calls_share_one_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let rest: Vec<_> = (0..10)
        .map(|_| world.start(get_token(&auth, SLOW_PATH)))
        .collect();
    let server_fns: Vec<_> = (0..10)
        .map(|_| world.start(call_server_fn(&auth, SLOW_PATH)))
        .collect();
    world.advance(SLOW_LATENCY_MS + 50 + SLOW_LATENCY_MS);

    assert_eq!(world.refreshes(), 1, "one refresh for both kinds of call");
    for task in &rest {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    for task in &server_fns {
        assert_eq!(task.result(), Ok((200, "\"t2\"".into())));
    }
    assert_eq!(world.server.sends(), 40, "every call sent twice, no more");
}

#[test]
fn a_server_function_401_on_the_retry_is_handed_back_and_not_retried_again() {
    let world = World::new();
    let auth = world.signed_in();
    world
        .server
        .script(&[Reply::InvalidToken, Reply::InvalidToken, Reply::Ok]);
    let (status, _) = world
        .finish(call_server_fn(&auth, paths::ITEMS))
        .expect("the final answer");
    assert_eq!(status, 401);
    assert_eq!(world.server.sends(), 2);
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_server_function_403_is_handed_back_without_a_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    let (status, _) = world
        .finish(call_server_fn(&auth, paths::ADMIN))
        .expect("the final answer");
    assert_eq!(status, 403);
    assert_eq!(world.server.sends(), 1);
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_refused_refresh_ends_the_session_for_server_functions_like_any_request() {
    let world = World::new();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    world.server.expire_token();
    world.server.session_revoked.set(true);

    let calls: Vec<_> = (0..3)
        .map(|_| world.start(call_server_fn(&auth, paths::ITEMS)))
        .collect();
    let rest = world.start(get_token(&auth, paths::ITEMS));
    world.settle();

    for call in &calls {
        assert_eq!(call.result(), Err(AuthError::SessionExpired));
    }
    assert_eq!(rest.result(), Err(AuthError::SessionExpired));
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
}
