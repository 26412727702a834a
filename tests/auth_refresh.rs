#![cfg(feature = "ssr")]
//! `POST /api/auth/refresh`: rotation, the grace window, reuse detection and atomicity.

#[macro_use]
mod common;

use std::time::Duration;

use axum::http::StatusCode;

for_each_backend! {
#[tokio::test]
async fn refresh_rotates_the_credential_and_returns_a_working_token() {
    let app = app().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let before = browser.refresh_cookie().unwrap();
    let response = browser.refresh().await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.json()["user"]["username"], "alice");
    assert_ne!(
        browser.refresh_cookie().unwrap(),
        before,
        "credential not rotated"
    );
    let me = app.get("/api/me", Some(&response.access_token())).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_without_a_cookie_is_invalid_grant() {
    let app = app().await;
    let response = app.browser().refresh().await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "invalid_grant");
}

#[tokio::test]
async fn a_session_idle_past_its_timeout_cannot_refresh() {
    let app = app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "300")]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    app.advance(Duration::from_secs(299));
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    app.advance(Duration::from_secs(300));
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_even_when_active() {
    let app = app_with(&[
        ("SESSION_IDLE_TIMEOUT_SECS", "300"),
        ("SESSION_ABSOLUTE_TIMEOUT_SECS", "600"),
    ]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    app.advance(Duration::from_secs(250));
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    app.advance(Duration::from_secs(250));
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    app.advance(Duration::from_secs(100));
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

#[tokio::test]
async fn a_refused_refresh_clears_the_refresh_cookie() {
    let app = app().await;
    let mut browser = app.browser();
    browser
        .cookies
        .insert("tf_refresh".into(), "abc.0.AAAA".into());
    let response = browser.refresh().await;
    assert!(response
        .set_cookie_lines()
        .iter()
        .any(|l| l.starts_with("tf_refresh=;")));
    assert!(browser.refresh_cookie().is_none());
}
}
