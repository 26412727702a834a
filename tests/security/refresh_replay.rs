//! Refresh-credential replay: rotation, the grace window, reuse detection, parallel refresh —
//! decided by the store, so every test runs on every backend (`memory::`, `sqlite::`, `redis::`).

use std::{collections::HashSet, sync::Arc, time::Duration};

use axum::http::StatusCode;

use crate::common::{self, all_at_once, TestApp, TestResponse};

for_each_backend! {
/// RFC 6749 §5.2 (`invalid_grant`), RFC 9700 §4.14: a made-up credential is refused.
#[tokio::test]
async fn forged_refresh_credential_is_invalid_grant() {
    let app = app().await;
    let mut browser = app.browser();
    browser
        .cookies
        .insert("tf_refresh".into(), "abc.0.AAAA".into());
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

/// RFC 9700 §4.14.2 (refresh token rotation, reuse detection): a stolen, rotated-away
/// credential replayed after the grace window revokes the whole family, access tokens included.
#[tokio::test]
async fn replayed_refresh_credential_outside_grace_revokes_the_family() {
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

/// RFC 9700 §4.14.2 (a lost response or a second tab is not theft): inside the grace window
/// the immediately previous credential gets the current one back and forks nothing.
#[tokio::test]
async fn replayed_previous_credential_inside_grace_gets_the_current_one_and_rotates_nothing() {
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

/// RFC 9700 §4.14.2: only the *immediately* previous credential has a grace window.
#[tokio::test]
async fn replayed_older_credential_inside_grace_is_reuse() {
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

/// RFC 9700 §4.14.2 (atomic rotation): sixteen tabs refreshing at once get one credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refresh_inside_grace_never_forks_the_family() {
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

/// RFC 9700 §4.14.2 (atomic rotation): without a grace window, one winner, then reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refresh_outside_grace_never_mints_two_successors() {
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
}
