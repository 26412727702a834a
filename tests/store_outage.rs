#![cfg(feature = "ssr")]
//! The Redis store hung (SIGSTOP) and killed, then back, under a real server process: refresh
//! and login answer 503 `temporarily_unavailable` with `Retry-After` within the store timeout,
//! valid access tokens keep working, and the same family refreshes once Redis is back.

mod process;

use std::{
    thread,
    time::{Duration, Instant},
};

use process::{redis::OwnRedis, Response, Running};

fn refresh(instance: &Running, credential: &str) -> Response {
    instance.post("/api/auth/refresh", &format!("tf_refresh={credential}"), "")
}

/// What a client sees while the store is away.
fn assert_temporarily_unavailable(response: &Response) {
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.json()["error"], "temporarily_unavailable");
    assert!(response.header("retry-after").is_some(), "{response:?}");
}

/// Retries a refresh the way the client does after a 503, until Redis answers again.
fn refresh_once_back(instance: &Running, credential: &str) -> Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = refresh(instance, credential);
        if response.status != 503 || Instant::now() > deadline {
            return response;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_hung_then_killed_redis_costs_503s_only_and_the_same_family_refreshes_after() {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let server = Running::start(&[("STORE_URL", url.as_str()), ("STORE_TIMEOUT_MS", "300")]);
    let login = server.login("alice", "wonderland");
    let token = login.access_token();
    let credential = login.cookie("tf_refresh").unwrap();

    redis.signal("STOP");
    let started = Instant::now();
    let refused = refresh(&server, &credential);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a hung store hung the request"
    );
    assert_temporarily_unavailable(&refused);
    assert_temporarily_unavailable(&server.login("admin", "admin-secret"));
    assert_eq!(
        server.get("/api/me", Some(&token)).status,
        200,
        "a valid access token needs no store"
    );
    assert_eq!(server.get("/healthz", None).status, 200);
    assert_eq!(server.get("/readyz", None).status, 503);

    redis.signal("CONT");
    let refreshed = refresh_once_back(&server, &credential);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(server.get("/readyz", None).status, 200);
    let credential = refreshed.cookie("tf_refresh").unwrap();

    redis.kill_and_restart();
    let refreshed = refresh_once_back(&server, &credential);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        server
            .get("/api/me", Some(&refreshed.access_token()))
            .status,
        200
    );
}
