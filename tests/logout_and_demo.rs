#![cfg(feature = "ssr")]
//! Logout and the demo controls.

#[macro_use]
mod common;

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::json;

for_each_backend! {
#[tokio::test]
async fn logout_revokes_the_session_its_tokens_and_clears_the_cookies() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    let mut stolen = browser.clone();
    let response = browser.logout().await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let lines = response.set_cookie_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tf_refresh=;") && l.contains("Max-Age=0")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("tf_session=")),
        "{lines:?}"
    );
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(stolen.refresh().await.error_code(), "invalid_grant");
    assert_eq!(app.state.families.active_count().await.unwrap(), 0);
}

#[tokio::test]
async fn session_records_are_deleted_on_logout_and_by_the_sweep_when_expired() {
    use tower_sessions::{session::Id, SessionStore};
    let app = app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "300")]).await;
    let store = &app.state.session_store;

    let (mut browser, _) = app.signed_in("alice").await;
    let record: Id = browser.cookies["tf_session"].parse().unwrap();
    assert!(store.load(&record).await.unwrap().is_some());
    browser.logout().await;
    assert!(
        store.load(&record).await.unwrap().is_none(),
        "logout leaves its record"
    );

    let (browser, _) = app.signed_in("alice").await;
    let record: Id = browser.cookies["tf_session"].parse().unwrap();
    app.advance(std::time::Duration::from_secs(300));
    tokenflight::server::sweep_expired(&app.state).await;
    assert!(
        store.load(&record).await.unwrap().is_none(),
        "the sweep leaves expired records"
    );
    assert_eq!(app.state.families.active_count().await.unwrap(), 0);
}

#[tokio::test]
async fn logging_out_twice_is_harmless() {
    let app = app().await;
    let (mut browser, _) = app.signed_in("alice").await;
    assert_eq!(browser.logout().await.status, StatusCode::NO_CONTENT);
    assert_eq!(browser.logout().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.browser().logout().await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn expire_access_refuses_earlier_tokens_while_refresh_still_works() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    let response = app
        .post_json("/api/demo/expire-access", Some(&token), json!({}))
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let refused = app.get("/api/items", Some(&token)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error_code(), "invalid_token");
    let refreshed = browser.refresh().await;
    assert_eq!(
        app.get("/api/items", Some(&refreshed.access_token()))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoke_session_ends_refresh_and_access() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    let response = app
        .post_json("/api/demo/revoke-session", Some(&token), json!({}))
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn failing_refresh_fault_answers_503_n_times_then_recovers() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    let faults = json!({"failing_refreshes": 2});
    assert_eq!(
        app.post_json("/api/demo/faults", Some(&token), faults)
            .await
            .status,
        StatusCode::OK
    );
    for _ in 0..2 {
        let response = browser.refresh().await;
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.error_code(), "temporarily_unavailable");
    }
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn latency_fault_slows_this_sessions_api_calls() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    app.post_json("/api/demo/faults", Some(&token), json!({"latency_ms": 200}))
        .await;
    let started = Instant::now();
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert!(started.elapsed().as_millis() >= 200);
}

#[tokio::test]
async fn out_of_range_faults_are_422() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    let response = app
        .post_json(
            "/api/demo/faults",
            Some(&token),
            json!({"latency_ms": 60_000}),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn demo_controls_need_a_bearer_token() {
    let app = app().await;
    let response = app
        .post_json("/api/demo/revoke-session", None, json!({}))
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn demo_controls_off_means_404() {
    let app = app_with(&[("DEMO_CONTROLS", "off")]).await;
    let (_, token) = app.signed_in("alice").await;
    for path in [
        "/api/demo/expire-access",
        "/api/demo/revoke-session",
        "/api/demo/faults",
    ] {
        let response = app.post_json(path, Some(&token), json!({})).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.error_code(), "not_found");
    }
}

#[tokio::test]
async fn grace_window_off_turns_a_replay_of_the_previous_credential_into_reuse() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut browser, token) = app.signed_in("alice").await;
    let faults = json!({"grace_window": false});
    let response = app
        .post_json("/api/demo/faults", Some(&token), faults)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["grace_window"], false);
    let mut racing = browser.clone();
    let first = browser.refresh().await;
    assert_eq!(first.status, StatusCode::OK);
    // Same cookie, well inside the 10 s window: with the window off, this is reuse.
    let second = racing.refresh().await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.error_code(), "invalid_grant");
    assert_eq!(
        app.state.families.active_count().await.unwrap(),
        0,
        "reuse revokes the family"
    );
    let me = app.get("/api/me", Some(&first.access_token())).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn grace_window_off_is_per_session_and_on_by_default() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (_, other_token) = app.signed_in("alice").await;
    app.post_json(
        "/api/demo/faults",
        Some(&other_token),
        json!({"grace_window": false}),
    )
    .await;
    // Another session (same user, another login) keeps its grace window; so does a faults body
    // that does not mention it.
    let (mut browser, token) = app.signed_in("alice").await;
    app.post_json("/api/demo/faults", Some(&token), json!({"latency_ms": 0}))
        .await;
    let mut racing = browser.clone();
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    assert_eq!(racing.refresh().await.status, StatusCode::OK);
    assert_eq!(app.state.families.active_count().await.unwrap(), 2);
}
}
