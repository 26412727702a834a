#![cfg(feature = "ssr")]
//! The Redis store hung (SIGSTOP) and killed, then back, under a real server process: refresh
//! and login answer 503 `temporarily_unavailable` with `Retry-After` within the store timeout,
//! valid access tokens keep working, the same family refreshes once Redis is back, and no
//! sign-in the throttle could not count gets through.

mod process;

use std::{
    thread,
    time::{Duration, Instant},
};

use process::{redis::OwnRedis, request, Response, Running};

fn refresh(instance: &Running, credential: &str) -> Response {
    instance.post("/api/auth/refresh", &format!("tf_refresh={credential}"), "")
}

/// What a client sees while the store is away.
fn assert_temporarily_unavailable(response: &Response) {
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.json()["error"], "temporarily_unavailable");
    assert!(response.header("retry-after").is_some(), "{response:?}");
}

/// Retries the way the client does after a 503, until Redis answers again.
fn once_back(mut send: impl FnMut() -> Response) -> Response {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = send();
        if response.status != 503 || Instant::now() > deadline {
            return response;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn refresh_once_back(instance: &Running, credential: &str) -> Response {
    once_back(|| refresh(instance, credential))
}

/// The JavaScript-free login form, as a browser posts it.
fn form_login(instance: &Running, body: &str) -> Response {
    let headers = "Sec-Fetch-Site: same-origin\r\nAccept: text/html\r\n\
                   Content-Type: application/x-www-form-urlencoded\r\n";
    request(&instance.addr, "POST", "/rpc/login", headers, body)
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

/// Issue #10: while the store is away the throttle cannot count a guess, so none is checked —
/// the JSON login answers 503 (never 401), the form goes back to the page saying the server is
/// unavailable — and a lockout counted before the outage still holds after it.
#[test]
fn sign_ins_the_store_cannot_count_are_refused_and_lockouts_outlast_the_outage() {
    let redis = OwnRedis::start();
    let url = redis.url();
    let server = Running::start(&[
        ("STORE_URL", url.as_str()),
        ("STORE_TIMEOUT_MS", "300"),
        ("LOGIN_MAX_FAILURES", "2"),
    ]);
    for _ in 0..2 {
        assert_eq!(server.login("alice", "guess").status, 401);
    }

    redis.signal("STOP");
    assert_temporarily_unavailable(&server.login("admin", "guess"));
    let form = form_login(&server, "username=admin&password=guess");
    assert_eq!(form.status, 302, "{form:?}");
    let location = form.header("location").unwrap_or_default();
    assert!(location.ends_with("error=unavailable"), "{location}");

    redis.signal("CONT");
    let locked = once_back(|| server.login("alice", "wonderland"));
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(server.login("admin", "admin-secret").status, 200);
}
