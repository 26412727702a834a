#![cfg(feature = "ssr")]
//! `POST /api/auth/refresh`: rotation, the grace window, reuse detection and atomicity.

#[macro_use]
mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::http::StatusCode;
use common::all_at_once;

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

/// A browser that lost its session cookie gets a new record from its refresh, created in the
/// family's own write (one store step): the cookie it is given opens its pages, and the
/// record the family pointed at before names nothing any more.
#[tokio::test]
async fn a_refresh_without_the_session_cookie_creates_the_record_its_new_cookie_names() {
    let app = app().await;
    let (browser, _) = app.signed_in("alice").await;
    let before = browser.cookies["tf_session"].clone();
    let credential = browser.refresh_cookie().unwrap();
    let refreshed = app
        .post_with_cookies("/api/auth/refresh", &format!("tf_refresh={credential}"))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let given = refreshed.cookie("tf_session").expect("a session cookie");
    assert_ne!(given, before);
    for (cookie, signed_in) in [(given, true), (before, false)] {
        let mut page_browser = app.browser();
        page_browser.cookies.insert("tf_session".into(), cookie);
        let page = page_browser.get_page("/").await;
        assert_eq!(
            page.body.contains("API requests served for you"),
            signed_in,
            "{}",
            page.body
        );
    }
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

/// 64 refreshes at once: 16 sessions, each presented by 4 tabs with the same credential, half
/// of them without their session cookie (so their refresh also attaches a new browser session).
/// Every one answers 200 — no store error (no `SQLITE_BUSY`), no race given up — and each
/// session hands all its tabs the same new credential: one rotation, no fork.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_refreshes_meet_no_store_error_and_fork_no_family() {
    let app = Arc::new(app_with(&[("MAX_SESSIONS_PER_USER", "100")]).await);
    let mut jars = Vec::new();
    for n in 0..16 {
        let (browser, _) = app.signed_in(if n % 2 == 0 { "alice" } else { "admin" }).await;
        jars.push((browser.cookie_header(), browser.refresh_cookie().unwrap()));
    }
    let jars = Arc::new(jars);
    let answers = all_at_once(64, |n| {
        let (app, jars) = (app.clone(), jars.clone());
        async move {
            let (jar, credential) = &jars[n % 16];
            let cookies = if n % 2 == 0 {
                jar.clone()
            } else {
                format!("tf_refresh={credential}")
            };
            let response = app.post_with_cookies("/api/auth/refresh", &cookies).await;
            (n % 16, response.status, response.cookie("tf_refresh"))
        }
    })
    .await;
    let mut handed_out = HashMap::<usize, Vec<String>>::new();
    for (session, status, credential) in answers {
        assert_eq!(status, StatusCode::OK, "session {session}");
        handed_out
            .entry(session)
            .or_default()
            .push(credential.expect("a refresh cookie"));
    }
    for (session, credentials) in &handed_out {
        assert_eq!(credentials.len(), 4);
        assert!(
            credentials.iter().all(|c| *c == credentials[0]),
            "session {session} forked: {credentials:?}"
        );
        assert_ne!(credentials[0], jars[*session].1, "session {session} never rotated");
    }
    assert_eq!(app.state.families.active_count().await.unwrap(), 16);
}
}
