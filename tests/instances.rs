#![cfg(feature = "ssr")]
//! Two real server processes sharing one real Redis: one truth for rotation and for the sign-in
//! throttle, and revocation on one reaches the other within a second.

mod process;

use std::{
    collections::HashSet,
    sync::{Arc, Barrier},
    thread,
    time::{Duration, Instant},
};

use process::{redis::OwnRedis, Response, Running};

/// Two instances on `redis`, neither given a JWT_SECRET: they must agree on the key anyway.
/// A generous store timeout: this machine may be busy, and these tests are about agreement,
/// not outages (tests/store_outage.rs covers those).
fn two_instances(redis: &OwnRedis) -> (Running, Running) {
    let url = redis.url();
    // Instances behind one load balancer are one issuer: the origin their clients see.
    let env = [
        ("STORE_URL", url.as_str()),
        ("STORE_TIMEOUT_MS", "5000"),
        ("PUBLIC_ORIGIN", "http://tokenflight.test"),
    ];
    (Running::start(&env), Running::start(&env))
}

/// Polls `probe` until it returns true; false if a second passes first.
fn within_a_second(mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if probe() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

fn refresh(instance: &Running, credential: &str) -> Response {
    instance.post("/api/auth/refresh", &format!("tf_refresh={credential}"), "")
}

#[test]
fn parallel_refreshes_split_across_two_instances_fork_nothing() {
    let redis = OwnRedis::start();
    let (a, b) = two_instances(&redis);
    let login = a.login("alice", "wonderland");
    assert_eq!(login.status, 200, "{}", login.body);
    let credential = login.cookie("tf_refresh").unwrap();

    let instances = Arc::new([a, b]);
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (instances, barrier, credential) =
                (instances.clone(), barrier.clone(), credential.clone());
            thread::spawn(move || {
                barrier.wait();
                refresh(&instances[i % 2], &credential)
            })
        })
        .collect();
    let responses: Vec<Response> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(responses.iter().all(|r| r.status == 200), "{responses:?}");
    let successors: HashSet<_> = responses.iter().map(|r| r.cookie("tf_refresh")).collect();
    assert_eq!(successors.len(), 1, "the family forked: {successors:?}");
}

#[test]
fn logout_on_one_instance_refuses_the_access_token_on_the_other_within_a_second() {
    let redis = OwnRedis::start();
    let (a, b) = two_instances(&redis);
    let login = a.login("alice", "wonderland");
    let token = login.access_token();
    assert_eq!(b.get("/api/me", Some(&token)).status, 200);

    let cookie = format!("tf_refresh={}", login.cookie("tf_refresh").unwrap());
    assert_eq!(a.post("/api/auth/logout", &cookie, "").status, 204);
    assert!(
        within_a_second(|| b.get("/api/me", Some(&token)).status == 401),
        "the other instance still accepts the signed-out token"
    );
}

#[test]
fn expire_access_on_one_instance_refuses_earlier_tokens_on_the_other_within_a_second() {
    let redis = OwnRedis::start();
    let (a, b) = two_instances(&redis);
    let login = a.login("alice", "wonderland");
    let token = login.access_token();
    assert_eq!(b.get("/api/me", Some(&token)).status, 200);

    assert_eq!(a.post_bearer("/api/demo/expire-access", &token).status, 204);
    assert!(
        within_a_second(|| b.get("/api/me", Some(&token)).status == 401),
        "the other instance still accepts the cut-off token"
    );
    let refreshed = refresh(&b, &login.cookie("tf_refresh").unwrap());
    assert_eq!(
        b.get("/api/me", Some(&refreshed.access_token())).status,
        200
    );
}

#[test]
fn reuse_detected_on_one_instance_revokes_the_session_on_both() {
    let redis = OwnRedis::start();
    let (a, b) = two_instances(&redis);
    let first = a.login("alice", "wonderland").cookie("tf_refresh").unwrap();
    let second = refresh(&a, &first);
    let third = refresh(&a, &second.cookie("tf_refresh").unwrap());
    let token = third.access_token();
    assert_eq!(b.get("/api/me", Some(&token)).status, 200);

    let reuse = refresh(&b, &first);
    assert_eq!(reuse.status, 400, "{}", reuse.body);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert!(
        within_a_second(|| a.get("/api/me", Some(&token)).status == 401),
        "the instance that did not see the reuse still accepts the family's token"
    );
    assert_eq!(b.get("/api/me", Some(&token)).status, 401);
    let current = third.cookie("tf_refresh").unwrap();
    assert_eq!(refresh(&a, &current).status, 400);
}

/// Issue #10: a guesser who spreads their attempts over two instances gets no more than against
/// one. Failures on A lock the pair on B, and the per-address quota is spent on both.
#[test]
fn sign_in_failures_and_attempts_on_one_instance_count_on_the_other() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let env = [
        ("STORE_URL", url.as_str()),
        ("STORE_TIMEOUT_MS", "5000"),
        ("LOGIN_MAX_FAILURES", "2"),
        // One attempt every 15 s, four at once: this test makes its five well within that.
        ("LOGIN_PER_CLIENT_PER_MINUTE", "4"),
    ];
    let (a, b) = (Running::start(&env), Running::start(&env));
    assert_eq!(a.login("alice", "guess").status, 401);
    assert_eq!(a.login("alice", "guess").status, 401);
    let locked = b.login("alice", "wonderland");
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.json()["error"], "too_many_attempts");

    assert_eq!(b.login("nobody", "guess").status, 401, "the fourth attempt");
    for instance in [&a, &b] {
        let refused = instance.login("admin", "admin-secret");
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(refused.header("retry-after").is_some(), "{refused:?}");
    }
}
