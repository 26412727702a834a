#![cfg(feature = "ssr")]
//! `POST /api/auth/refresh`: rotation, the grace window, reuse detection and atomicity.

#[macro_use]
mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::http::StatusCode;
use common::{all_at_once, TestApp, TestResponse};

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
async fn a_forged_cookie_is_invalid_grant() {
    let app = app().await;
    let mut browser = app.browser();
    browser
        .cookies
        .insert("tf_refresh".into(), "abc.0.AAAA".into());
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

#[tokio::test]
async fn replayed_refresh_token_revokes_the_family() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    let stolen = browser.clone();
    let newest = browser.refresh().await;
    assert_eq!(newest.status, StatusCode::OK);
    // Outside the grace window the rotated-away credential is reuse.
    app.advance(Duration::from_secs(10));
    let mut attacker = stolen;
    let replay = attacker.refresh().await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.error_code(), "invalid_grant");
    // The whole family is gone: the newest credential and its access token too.
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
    let me = app.get("/api/me", Some(&newest.access_token())).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_previous_credential_inside_the_grace_window_gets_the_current_one_and_rotates_nothing()
{
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    let mut other_tab = browser.clone();
    browser.refresh().await;
    let current = browser.refresh_cookie().unwrap();
    app.advance(Duration::from_secs(9));
    let replay = other_tab.refresh().await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(
        other_tab.refresh_cookie().unwrap(),
        current,
        "both tabs hold the same credential"
    );
    assert_eq!(
        app.get("/api/me", Some(&replay.access_token()))
            .await
            .status,
        StatusCode::OK
    );
    // Nothing rotated: the current credential is still the current one.
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_older_credential_is_reuse_even_inside_the_grace_window() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut browser, _) = app.signed_in("alice").await;
    let mut oldest = browser.clone();
    browser.refresh().await;
    browser.refresh().await;
    assert_eq!(oldest.refresh().await.error_code(), "invalid_grant");
    assert_eq!(
        browser.refresh().await.error_code(),
        "invalid_grant",
        "family not revoked"
    );
}

/// Fires `n` refreshes with the same cookies, as `n` tabs would, all at once.
async fn parallel_refreshes(app: &Arc<TestApp>, cookies: &str, n: usize) -> Vec<TestResponse> {
    all_at_once(n, |_| {
        let (app, cookies) = (app.clone(), cookies.to_owned());
        async move { app.post_with_cookies("/api/auth/refresh", &cookies).await }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_inside_the_grace_window_all_succeed_with_one_credential() {
    let app = Arc::new(app_with(&[("REFRESH_GRACE_SECS", "10")]).await);
    let cookies = app.signed_in("alice").await.0.cookie_header();
    let responses = parallel_refreshes(&app, &cookies, 16).await;
    assert!(
        responses.iter().all(|r| r.status == StatusCode::OK),
        "{responses:?}"
    );
    let credentials: HashSet<_> = responses.iter().map(|r| r.cookie("tf_refresh")).collect();
    assert_eq!(
        credentials.len(),
        1,
        "the family forked into {credentials:?}"
    );
    assert_eq!(app.state.families.active_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_outside_the_grace_window_never_mint_two_successors() {
    let app = Arc::new(app_with(&[("REFRESH_GRACE_SECS", "0")]).await);
    let cookies = app.signed_in("alice").await.0.cookie_header();
    let responses = parallel_refreshes(&app, &cookies, 16).await;
    let ok = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    // Without a grace window the first refresh wins, the next one is reuse and revokes the
    // family, and everything after finds no session. Never two successors.
    assert_eq!(ok, 1, "{responses:?}");
    assert_eq!(
        app.state.families.active_count().await.unwrap(),
        0,
        "reuse must revoke the family"
    );
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
