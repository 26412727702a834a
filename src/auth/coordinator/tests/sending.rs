//! Attaching the token, following token versions, retrying at most once, and timeouts.

use super::support::*;

// --- 1. the bearer ---------------------------------------------------------------------------

#[test]
fn attaches_the_in_memory_token_as_bearer() {
    let world = World::new();
    let auth = world.signed_in();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t1".into())]);
    assert_eq!(world.refreshes(), 0);
}

// --- 3. token versions -----------------------------------------------------------------------

#[test]
fn a_401_for_an_already_replaced_token_retries_without_refreshing() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();

    let slow = world.start(get_token(&auth, SLOW_PATH));
    let fast = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    assert_eq!(fast.result(), Ok("t2".into()));
    world.advance(SLOW_LATENCY_MS);
    world.advance(SLOW_LATENCY_MS);

    assert_eq!(slow.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 1);
    let slow_retry = events.borrow().iter().any(|e| {
        *e == AuthEvent::Retried {
            request_id: 1,
            with_refresh: false,
        }
    });
    assert!(slow_retry, "the slow request reused the new token");
}

#[test]
fn a_request_started_during_a_refresh_waits_for_the_new_token() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let first = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    let late = world.start(get_token(&auth, paths::USAGE));
    world.settle();
    assert!(world.server.bearers_for(paths::USAGE).is_empty());
    world.advance(50);

    assert_eq!(first.result(), Ok("t2".into()));
    assert_eq!(late.result(), Ok("t2".into()));
    assert_eq!(world.server.bearers_for(paths::USAGE), [Some("t2".into())]);
    assert_eq!(world.refreshes(), 1);
}

// --- 4. at most one retry --------------------------------------------------------------------

#[test]
fn a_401_on_the_retry_is_final() {
    let world = World::new();
    let auth = world.signed_in();
    world
        .server
        .script(&[Reply::InvalidToken, Reply::InvalidToken, Reply::Ok]);
    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 2);
    assert_eq!(world.refreshes(), 1);
}

/// What a request must end in, with how many sends and refresh calls, for a script.
fn expected(first: Reply, refresh: RefreshReply, second: Reply) -> (&'static str, usize, usize) {
    let kind = |reply| match reply {
        Reply::Ok | Reply::Model => "ok",
        Reply::InvalidToken | Reply::NoErrorChallenge => "unauthorized",
        Reply::Forbidden => "forbidden",
        Reply::ServerError | Reply::Network | Reply::Hang => "transient",
    };
    match (kind(first), refresh) {
        ("unauthorized", RefreshReply::Mint) => (kind(second), 2, 1),
        ("unauthorized", RefreshReply::Refuse) => ("session_expired", 1, 1),
        ("unauthorized", _) => ("transient", 1, 1),
        (outcome, _) => (outcome, 1, 0),
    }
}

fn kind_of(result: &Result<ApiResponse, AuthError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AuthError::Unauthorized) => "unauthorized",
        Err(AuthError::Forbidden) => "forbidden",
        Err(AuthError::Transient(_)) => "transient",
        Err(AuthError::SessionExpired) => "session_expired",
        Err(_) => "other",
    }
}

#[test]
fn every_answer_sequence_ends_within_two_sends_and_one_refresh() {
    let replies = [
        Reply::Ok,
        Reply::InvalidToken,
        Reply::NoErrorChallenge,
        Reply::Forbidden,
        Reply::ServerError,
        Reply::Network,
    ];
    let refreshes = [
        RefreshReply::Mint,
        RefreshReply::Refuse,
        RefreshReply::Unavailable,
        RefreshReply::Network,
    ];
    let mut cases = 0;
    for first in replies {
        for refresh in refreshes {
            for second in replies {
                let world = World::new();
                let auth = world.signed_in();
                // More answers than any request may use: a loop would consume them.
                world.server.script(&[first, second, first, second]);
                world.server.script_refresh(&[refresh, refresh, refresh]);
                let request = ApiRequest::get(paths::ITEMS);
                let result = world.finish(async move { auth.execute(request).await });

                let case = format!("{first:?} / {refresh:?} / {second:?}");
                let (outcome, sends, refresh_calls) = expected(first, refresh, second);
                assert_eq!(kind_of(&result), outcome, "{case}");
                assert_eq!(world.server.sends(), sends, "{case}");
                assert_eq!(world.refreshes(), refresh_calls, "{case}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 144);
}

// --- 9. timeouts -----------------------------------------------------------------------------

#[test]
fn a_request_that_hangs_times_out_as_transient() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.script(&[Reply::Hang]);
    let task = world.start(get_token(&auth, paths::ITEMS));
    world.advance(config().request_timeout_ms - 1);
    assert!(!task.is_done());
    world.advance(1);
    assert_eq!(task.result(), Err(AuthError::Transient("timed out".into())));
    assert_eq!(world.refreshes(), 0);
}
