//! What the server's challenge says decides: refresh, forbidden, or an ordinary error.

use super::support::*;

// --- 5. what the challenge says --------------------------------------------------------------

#[test]
fn insufficient_scope_is_forbidden_and_never_refreshes() {
    let world = World::new();
    let auth = world.signed_in();
    let result = world.finish(get_token(&auth, paths::ADMIN));
    assert_eq!(result, Err(AuthError::Forbidden));
    assert_eq!(world.server.sends(), 1);
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_401_without_an_error_code_is_treated_as_an_invalid_token() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.script(&[Reply::NoErrorChallenge]);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_first_request_without_a_token_gets_one_before_sending() {
    let world = World::new();
    let auth = world.coordinator();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t1".into())]);
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().user, Some(alice()));
}

#[test]
fn an_anonymous_visitor_gets_unauthorized_once_then_no_network() {
    let world = World::new();
    let auth = world.coordinator();
    let endings = session_endings(&auth);
    world.server.session_revoked.set(true);
    let first = world.finish(get_token(&auth, paths::ITEMS));
    let second = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(first, Err(AuthError::Unauthorized));
    assert_eq!(second, Err(AuthError::Unauthorized));
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 0);
    assert!(endings.borrow().is_empty(), "no session, nothing ended");
}

#[test]
fn requests_after_sign_out_fail_without_network() {
    let world = World::new();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    auth.sign_out(SignOutReason::User);
    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 0);
    assert_eq!(world.refreshes(), 0);
    assert!(
        endings.borrow().is_empty(),
        "the user asked; no redirect hook"
    );
}

#[test]
fn execute_json_reports_a_body_that_does_not_decode() {
    let world = World::new();
    let auth = world.signed_in();
    let result = world.finish(get_token(&auth, "/bad-json"));
    assert!(matches!(result, Err(AuthError::Decode(_))), "{result:?}");
}
