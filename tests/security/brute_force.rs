//! Online guessing: per-address limits, lockout abuse, username variants and sizes — and none
//! of it undone by spreading guesses over instances or waiting for a restart. The counts live in
//! the store, so every test runs on every backend (`memory::`, `sqlite::`, `redis::`).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{extract::ConnectInfo, http::StatusCode};

use crate::common::{self, all_at_once, login_request, TestApp, TestResponse};

async fn login_from(app: &TestApp, addr: [u8; 4], user: &str, password: &str) -> TestResponse {
    let mut request = login_request(user, password);
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((addr, 50_000))));
    app.send(request).await
}

const ATTACKER: [u8; 4] = [203, 0, 113, 9];
const HOME: [u8; 4] = [192, 0, 2, 1];

for_each_backend! {
/// OWASP Authentication cheat sheet ("protect against automated attacks"); issue #12 §2: a
/// spray of made-up usernames gets a fresh per-account bucket each time, so only a
/// per-address limit can stop it.
#[tokio::test]
async fn username_spray_from_one_address_meets_429_from_the_per_client_limit() {
    let app = app_with(&[("LOGIN_PER_CLIENT_PER_MINUTE", "5")]).await;
    for n in 0..5 {
        let response = login_from(&app, ATTACKER, &format!("made-up-{n}"), "x").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    let refused = login_from(&app, ATTACKER, "made-up-5", "x").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "too_many_attempts");
    assert_eq!(refused.header("retry-after"), Some("12"), "60 s / 5");
    // Another address is not affected, and the quota trickles back with time.
    let home = login_from(&app, HOME, "alice", "wonderland").await;
    assert_eq!(home.status, StatusCode::OK);
    app.advance(Duration::from_secs(12));
    let later = login_from(&app, ATTACKER, "made-up-6", "x").await;
    assert_eq!(later.status, StatusCode::UNAUTHORIZED);
}

/// OWASP Authentication cheat sheet, "Account lockout": the lockout must not become a denial
/// of service against the real user. An attacker hammering alice's account from one address
/// locks only that address out of it.
#[tokio::test]
async fn lockout_abuse_from_another_address_cannot_lock_the_real_user_out() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..3 {
        let guess = login_from(&app, ATTACKER, "alice", "guess").await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, ATTACKER, "alice", "wonderland").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );
    let real_user = login_from(&app, HOME, "alice", "wonderland").await;
    assert_eq!(real_user.status, StatusCode::OK, "{}", real_user.body);
}

/// OWASP Authentication cheat sheet (distributed guessing): one guess per address from many
/// addresses meets the account-wide backoff, which spares addresses that never failed.
#[tokio::test]
async fn distributed_guessing_meets_the_bounded_account_backoff() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    for n in 1..=6 {
        let guess = login_from(&app, [198, 51, 100, n], "alice", "guess").await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    let again = login_from(&app, [198, 51, 100, 1], "alice", "guess").await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = again.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "bounded backoff, got {wait}");
    let real_user = login_from(&app, HOME, "alice", "wonderland").await;
    assert_eq!(real_user.status, StatusCode::OK);
}

/// Issue #12 §2 (attacker-sized throttle keys): a username longer than 256 characters is
/// refused with 400 before it is hashed, throttled or logged.
#[tokio::test]
async fn oversized_username_is_refused_with_400_validation_failed() {
    let app = app().await;
    let long = "a".repeat(257);
    let refused = login_from(&app, ATTACKER, &long, "x").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "validation_failed");
    let longest = login_from(&app, ATTACKER, &"é".repeat(256), "x").await;
    assert_eq!(
        longest.status,
        StatusCode::UNAUTHORIZED,
        "256 characters are fine"
    );
}

/// OWASP Authentication cheat sheet (usernames are case-insensitive): `ALICE` and ` alice `
/// are the same account, so case and space variants cannot multiply an attacker's guesses.
#[tokio::test]
async fn username_case_and_space_variants_share_one_throttle_bucket() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    for variant in ["alice", "ALICE", " Alice "] {
        let guess = login_from(&app, ATTACKER, variant, "guess").await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, ATTACKER, "aLiCe", "guess").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
}

/// OWASP Authentication cheat sheet; issue #12 §2: `X-Forwarded-For` is the client's own claim
/// unless a proxy we trust appended it, so by default it cannot buy a fresh quota.
#[tokio::test]
async fn forged_x_forwarded_for_cannot_escape_the_per_client_limit() {
    let app = app_with(&[("LOGIN_PER_CLIENT_PER_MINUTE", "2")]).await;
    let spoofed = |n: u8| {
        let mut request = login_request("nobody", "x");
        let forged = format!("10.9.8.{n}").parse().unwrap();
        request.headers_mut().insert("x-forwarded-for", forged);
        request
    };
    assert_eq!(app.send(spoofed(1)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(spoofed(2)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.send(spoofed(3)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Behind a trusted proxy, its last entry is the client.
    let proxied = app_with(&[
        ("LOGIN_PER_CLIENT_PER_MINUTE", "2"),
        ("TRUST_FORWARDED_FOR", "on"),
    ])
    .await;
    for n in 1..=3 {
        assert_eq!(
            proxied.send(spoofed(n)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// OWASP Authentication cheat sheet (one limit for every way in): guesses through the
/// JavaScript-free form count against the same account+address pair as JSON ones, so
/// alternating between the two endpoints buys no extra guesses.
#[tokio::test]
async fn guessing_through_the_form_login_counts_against_the_same_address() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..3 {
        let mut request = axum::http::Request::post("/rpc/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from("username=alice&password=guess"))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ATTACKER, 50_000))));
        let response = app.send(request).await;
        let location = response.header("location").unwrap_or_default();
        assert!(location.ends_with("error=invalid"), "{location}");
    }
    let json = login_from(&app, ATTACKER, "alice", "wonderland").await;
    assert_eq!(json.status, StatusCode::TOO_MANY_REQUESTS);
    let real_user = login_from(&app, HOME, "alice", "wonderland").await;
    assert_eq!(real_user.status, StatusCode::OK);
}

/// Issue #10 (the throttle lives in the store): a guesser who spreads their attempts over two
/// instances behind one load balancer gets no more guesses than against one. Failures on A lock
/// the pair on B, and the account-wide backoff counts both.
#[tokio::test]
async fn guesses_spread_over_two_instances_lock_the_pair_on_both() {
    let a = app_with(&[("LOGIN_MAX_FAILURES", "4")]).await;
    let b = a.another_instance().await;
    for instance in [&a, &b, &a, &b] {
        let guess = login_from(instance, ATTACKER, "alice", "guess").await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    for instance in [&a, &b] {
        let locked = login_from(instance, ATTACKER, "alice", "wonderland").await;
        assert_eq!(
            locked.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            locked.body
        );
        assert_eq!(locked.header("retry-after"), Some("60"));
    }
    // Four failures in all, one past the threshold: a guess from a second address on B, after
    // a first one on A, meets the account-wide pause.
    let second = [198, 51, 100, 7];
    let first = login_from(&a, second, "alice", "guess").await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    let paused = login_from(&b, second, "alice", "guess").await;
    assert_eq!(paused.status, StatusCode::TOO_MANY_REQUESTS);
    let real_user = login_from(&b, HOME, "alice", "wonderland").await;
    assert_eq!(real_user.status, StatusCode::OK, "{}", real_user.body);
}

/// Issue #10: the per-address quota is one quota, whichever instance the attempts reach.
#[tokio::test]
async fn the_per_address_limit_counts_attempts_on_every_instance() {
    let a = app_with(&[("LOGIN_PER_CLIENT_PER_MINUTE", "4")]).await;
    let b = a.another_instance().await;
    for (n, instance) in [&a, &b, &a, &b].into_iter().enumerate() {
        let response = login_from(instance, ATTACKER, &format!("made-up-{n}"), "x").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    for instance in [&a, &b] {
        let refused = login_from(instance, ATTACKER, "made-up-4", "x").await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.header("retry-after"), Some("15"), "60 s / 4");
    }
}

/// Issue #10: a new instance on the store — after a deploy or a crash — keeps the lockout
/// (a restart on SQLite and Redis; on `memory://` a second instance in the same process).
#[tokio::test]
async fn an_instance_started_later_keeps_the_lockout() {
    let before = app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    for _ in 0..2 {
        let guess = login_from(&before, ATTACKER, "alice", "guess").await;
        assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    }
    before.advance(Duration::from_secs(20));
    let after = before.another_instance().await;
    let locked = login_from(&after, ATTACKER, "alice", "wonderland").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.header("retry-after"), Some("40"));
}

/// Issue #10: parallel attempts from one address, spread over two instances, are each counted
/// exactly once: of 150 at once against a quota of 100, exactly 100 get through, and none is
/// refused because the store could not count it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_attempts_from_one_address_spend_the_quota_exactly() {
    let a = Arc::new(app_with(&[("LOGIN_PER_CLIENT_PER_MINUTE", "100")]).await);
    let b = Arc::new(a.another_instance().await);
    let answers = all_at_once(150, |n| {
        let instance = if n % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            let limiter = &instance.state.client_limiter;
            limiter.check(IpAddr::from(ATTACKER)).await.expect("counted")
        }
    })
    .await;
    let admitted = answers.iter().filter(|answer| answer.is_ok()).count();
    assert_eq!(admitted, 100);
}
}
