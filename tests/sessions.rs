#![cfg(feature = "ssr")]
//! `GET/DELETE /api/sessions`: a user sees and ends their own sessions, and only their own, on
//! every store backend.

#[macro_use]
mod common;

use axum::http::{header, Method, StatusCode};
use common::{bearer_request, TestApp, TestResponse};
use serde_json::Value;

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/api/sessions", Some(token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json().as_array().expect("a JSON array").clone()
}

async fn delete(app: &TestApp, path: &str, token: Option<&str>) -> TestResponse {
    app.send(bearer_request(Method::DELETE, path, token, None))
        .await
}

fn ids(sessions: &[Value]) -> Vec<&str> {
    sessions.iter().map(|s| s["id"].as_str().unwrap()).collect()
}

for_each_backend! {
#[tokio::test]
async fn the_list_shows_each_session_of_the_caller_and_marks_the_current_one() {
    let app = app().await;
    let mut phone = app.browser();
    let mut request = common::login_request("alice", "wonderland");
    request.headers_mut().insert(
        header::USER_AGENT,
        "Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0".parse().unwrap(),
    );
    assert_eq!(phone.send(request).await.status, StatusCode::OK);
    let (_laptop, token) = app.signed_in("alice").await;

    let sessions = list(&app, &token).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {sessions:?}");
    let other = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "Firefox on Android");
    assert_eq!(current[0]["user_agent"], Value::Null, "no User-Agent sent");
    for session in &sessions {
        assert_eq!(session["client"], "tokenflight");
        assert_eq!(session["generation"], 0);
        assert_eq!(session["grace_replays"], 0);
        assert!(session["created_at"].as_u64().unwrap() > 1_600_000_000);
        assert_eq!(session["created_at"], session["last_refresh_at"]);
    }
}

#[tokio::test]
async fn rotations_and_grace_replays_are_counted_per_session() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut tab, _) = app.signed_in("alice").await;
    let before = tab.cookie_header();
    assert_eq!(tab.refresh().await.status, StatusCode::OK);
    // A second tab still holding the previous credential: a grace replay, nothing revoked.
    let replay = app.post_with_cookies("/api/auth/refresh", &before).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    let token = tab.refresh().await.access_token();
    let sessions = list(&app, &token).await;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["generation"], 2);
    assert_eq!(sessions[0]["grace_replays"], 1);
}

#[tokio::test]
async fn ending_another_session_revokes_it_and_leaves_the_current_one() {
    let app = app().await;
    let (mut phone, phone_token) = app.signed_in("alice").await;
    let (_laptop, token) = app.signed_in("alice").await;
    let phone_id = list(&app, &phone_token)
        .await
        .into_iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ended = delete(&app, &format!("/api/sessions/{phone_id}"), Some(&token)).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.body);
    assert_eq!(app.get("/api/me", Some(&phone_token)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(phone.refresh().await.error_code(), "invalid_grant");
    assert_eq!(app.get("/api/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(list(&app, &token).await.len(), 1);
    // Gone now: a second delete finds nothing.
    let again = delete(&app, &format!("/api/sessions/{phone_id}"), Some(&token)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.error_code(), "not_found");
}

#[tokio::test]
async fn ending_the_current_session_signs_it_out() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    let id = list(&app, &token).await[0]["id"].as_str().unwrap().to_owned();
    let ended = delete(&app, &format!("/api/sessions/{id}"), Some(&token)).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/sessions", Some(&token)).await.error_code(), "invalid_token");
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

#[tokio::test]
async fn ending_all_others_keeps_only_the_current_session() {
    let app = app().await;
    let (mut first, _) = app.signed_in("alice").await;
    let (mut second, _) = app.signed_in("alice").await;
    let (_bob, bob_token) = app.signed_in("admin").await;
    let (_current, token) = app.signed_in("alice").await;
    let ended = delete(&app, "/api/sessions", Some(&token)).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.body);
    let left = list(&app, &token).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["current"], true);
    assert_eq!(first.refresh().await.error_code(), "invalid_grant");
    assert_eq!(second.refresh().await.error_code(), "invalid_grant");
    assert_eq!(list(&app, &bob_token).await.len(), 1, "admin's session untouched");
}

#[tokio::test]
async fn a_user_never_sees_nor_ends_another_users_sessions() {
    let app = app().await;
    let (mut admin, bob_token) = app.signed_in("admin").await;
    let bob_id = list(&app, &bob_token).await[0]["id"].as_str().unwrap().to_owned();
    let (_alice, token) = app.signed_in("alice").await;

    let seen = list(&app, &token).await;
    assert!(!ids(&seen).contains(&bob_id.as_str()), "{seen:?}");
    let refused = delete(&app, &format!("/api/sessions/{bob_id}"), Some(&token)).await;
    let unknown = delete(&app, "/api/sessions/no-such-session", Some(&token)).await;
    // The same answer as for an id that never existed: nothing tells admin's session exists.
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!((refused.error_code(), refused.json()["message"].clone()),
        (unknown.error_code(), unknown.json()["message"].clone()));
    assert_eq!(admin.refresh().await.status, StatusCode::OK, "admin still signed in");
}

#[tokio::test]
async fn a_session_ended_by_reuse_is_listed_apart_from_grace_replays() {
    let app = app_with(&[("REFRESH_GRACE_SECS", "10")]).await;
    let (mut stolen, _) = app.signed_in("alice").await;
    let first = stolen.cookie_header();
    assert_eq!(stolen.refresh().await.status, StatusCode::OK);
    // Within the grace window: a replay, counted, harmless.
    assert_eq!(app.post_with_cookies("/api/auth/refresh", &first).await.status, StatusCode::OK);
    assert_eq!(stolen.refresh().await.status, StatusCode::OK);
    // The first credential again, two rotations later: reuse, the family is revoked.
    let reused = app.post_with_cookies("/api/auth/refresh", &first).await;
    assert_eq!(reused.error_code(), "invalid_grant");

    let (_other, token) = app.signed_in("alice").await;
    assert_eq!(list(&app, &token).await.len(), 1, "the stolen session is gone");
    let ended = app.get("/api/sessions/reuse-detected", Some(&token)).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    let ended = ended.json();
    let ended = ended.as_array().unwrap();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["generation"], 2);
    assert_eq!(ended[0]["grace_replays"], 1);
    assert_eq!(ended[0]["client"], "tokenflight");

    let (_admin, admin_token) = app.signed_in("admin").await;
    let theirs = app.get("/api/sessions/reuse-detected", Some(&admin_token)).await;
    assert_eq!(theirs.json(), serde_json::json!([]), "another user sees none of alice's");
}
}

#[tokio::test]
async fn the_session_endpoints_need_a_bearer_token() {
    let app = TestApp::new().await;
    let listed = app.get("/api/sessions", None).await;
    assert_eq!(listed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(listed.error_code(), "unauthenticated");
    for path in ["/api/sessions", "/api/sessions/anything"] {
        let response = delete(&app, path, Some("not-a-token")).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.error_code(), "invalid_token", "{path}");
    }
}

#[tokio::test]
async fn an_id_that_is_not_utf8_is_a_json_404() {
    let app = TestApp::new().await;
    let (_browser, token) = app.signed_in("alice").await;
    let response = delete(&app, "/api/sessions/%FF%FE", Some(&token)).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), "not_found");
}
