#![cfg(feature = "ssr")]
//! `POST /api/auth/login`: credentials, cookies, throttling and the shape of the answer.

#[macro_use]
mod common;

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use common::all_at_once;

for_each_backend! {
#[tokio::test]
async fn login_returns_a_bearer_token_and_the_user_but_never_the_refresh_credential() {
    let app = app().await;
    let mut browser = app.browser();
    let response = browser.login("alice", "wonderland").await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 60);
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["user"]["roles"], serde_json::json!(["user"]));
    assert!(
        body["access_token"].as_str().unwrap().split('.').count() == 3,
        "a JWT"
    );
    let refresh = browser.refresh_cookie().expect("a refresh cookie");
    assert!(
        !response.body.contains(&refresh),
        "refresh credential leaked into the body"
    );
    // The idle clock starts anew with a login: the whole timeout is left.
    assert_eq!(body["idle_expires_in"], 1800);
    assert_eq!(body["idle_timeout"], 1800);
    assert_eq!(
        body.as_object().unwrap().len(),
        6,
        "no extra fields: {body}"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn the_refresh_cookie_is_http_only_same_site_and_scoped_to_the_auth_endpoints() {
    let app = app().await;
    let response = app.browser().login("alice", "wonderland").await;
    let line = response
        .set_cookie_lines()
        .into_iter()
        .find(|line| line.starts_with("tf_refresh="))
        .unwrap();
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Strict"), "{line}");
    assert!(line.contains("Path=/api/auth"), "{line}");
    assert!(
        !line.contains("Secure"),
        "plain http demo must keep working: {line}"
    );
    let session = response
        .set_cookie_lines()
        .into_iter()
        .find(|line| line.starts_with("tf_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = app().await;
    let wrong = app.browser().login("alice", "not-it").await;
    let unknown = app.browser().login("mallory", "wonderland").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.error_code(), "invalid_credentials");
    assert!(wrong.set_cookie_lines().is_empty());
}

#[tokio::test]
async fn every_login_starts_a_new_session_id() {
    let app = app().await;
    let mut browser = app.browser();
    browser.login("alice", "wonderland").await;
    let first = browser.cookies["tf_session"].clone();
    browser.login("alice", "wonderland").await;
    let second = browser.cookies["tf_session"].clone();
    assert_ne!(first, second, "session fixation: the id survived a login");
}

#[tokio::test]
async fn a_planted_session_cookie_is_not_adopted_by_login() {
    let app = app().await;
    let mut browser = app.browser();
    browser
        .cookies
        .insert("tf_session".into(), "attacker-chosen-id".into());
    browser.login("alice", "wonderland").await;
    assert_ne!(browser.cookies["tf_session"], "attacker-chosen-id");
}

#[tokio::test]
async fn a_second_login_in_the_same_browser_ends_the_first_session() {
    let app = app().await;
    let (mut browser, first_token) = app.signed_in("alice").await;
    browser.login("alice", "wonderland").await;
    assert_eq!(
        app.get("/api/me", Some(&first_token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_with_retry_after() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "3"), ("LOGIN_LOCKOUT_SECS", "60")]).await;
    for _ in 0..3 {
        assert_eq!(
            app.browser().login("alice", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = app.browser().login("alice", "wonderland").await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.error_code(), "too_many_attempts");
    assert_eq!(throttled.header("retry-after"), Some("60"));
    // Other accounts are unaffected.
    assert_eq!(
        app.browser().login("admin", "admin-secret").await.status,
        StatusCode::OK
    );
    app.advance(Duration::from_secs(60));
    assert_eq!(
        app.browser().login("alice", "wonderland").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_accounts_are_throttled_like_real_ones() {
    let app = app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    for _ in 0..2 {
        app.browser().login("nobody", "x").await;
    }
    assert_eq!(
        app.browser().login("nobody", "x").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_storm_is_served_with_bounded_hashing_and_no_errors() {
    let app = Arc::new(app_with(&[
        ("LOGIN_HASH_CONCURRENCY", "2"),
        ("LOGIN_MAX_FAILURES", "100"),
    ]).await);
    let statuses = all_at_once(8, |n| {
        let app = app.clone();
        let password = if n % 2 == 0 { "wonderland" } else { "wrong" };
        async move { app.browser().login("alice", password).await.status }
    })
    .await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!((ok, refused), (4, 4), "{statuses:?}");
    let peak = app.state.users.peak_concurrent_checks();
    assert!(
        (1..=2).contains(&peak),
        "{peak} password checks ran at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_slip_past_the_throttle() {
    let app = Arc::new(app_with(&[("LOGIN_MAX_FAILURES", "3")]).await);
    let statuses = all_at_once(10, |n| {
        let app = app.clone();
        async move {
            app.browser()
                .login("alice", &format!("guess-{n}"))
                .await
                .status
        }
    })
    .await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, throttled), (3, 7), "{statuses:?}");
}
}
