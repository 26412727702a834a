#![cfg(feature = "ssr")]
//! The protected API and its RFC 6750 semantics.

#[macro_use]
mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use serde_json::json;

for_each_backend! {
#[tokio::test]
async fn no_credentials_get_a_bare_bearer_challenge() {
    let app = app().await;
    let response = app.get("/api/me", None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"tokenflight\"")
    );
}

#[tokio::test]
async fn a_garbage_token_is_401_invalid_token_never_400() {
    let app = app().await;
    let response = app.get("/api/me", Some("not.a.jwt")).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_token");
    let challenge = response.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer realm=\"tokenflight\", error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn an_expired_token_is_invalid_token() {
    let app = app_with(&[("ACCESS_TOKEN_TTL_SECS", "60")]).await;
    let (_, token) = app.signed_in("alice").await;
    app.advance(Duration::from_secs(59));
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    // It lives its 60 s and less than one more (`exp` is rounded up to a whole second).
    app.advance(Duration::from_secs(2));
    let response = app.get("/api/me", Some(&token)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(response
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    let response = app
        .get(&format!("/api/me?access_token={token}"), None)
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"tokenflight\"")
    );
}

#[tokio::test]
async fn a_basic_credential_counts_as_no_bearer_credential() {
    let app = app().await;
    let request = Request::get("/api/me")
        .header(header::AUTHORIZATION, "Basic YWxpY2U6d29uZGVybGFuZA==")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"tokenflight\"")
    );
}

#[tokio::test]
async fn me_items_notifications_and_usage_answer_for_a_signed_in_user() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    let me = app.get("/api/me", Some(&token)).await;
    assert_eq!(me.json()["username"], "alice");
    let items = app.get("/api/items", Some(&token)).await;
    assert!(items.json().as_array().unwrap().len() >= 3);
    let notifications = app.get("/api/notifications", Some(&token)).await;
    assert!(notifications.json()[0]["text"]
        .as_str()
        .unwrap()
        .contains("alice"));
    let usage = app.get("/api/usage", Some(&token)).await.json();
    assert_eq!(usage["requests_served"], 4, "me, items, notifications, usage");
}

/// Review finding (#23): "requests today of quota" was a per-process counter that never reset
/// and enforced nothing. The usage says what it counts — this user's requests since the
/// process started — and names no quota it does not enforce.
#[tokio::test]
async fn usage_counts_the_callers_requests_and_claims_no_quota() {
    let app = app().await;
    let (_, alice) = app.signed_in("alice").await;
    let (_, admin) = app.signed_in("admin").await;
    for _ in 0..5 {
        app.get("/api/items", Some(&admin)).await;
    }
    app.get("/api/items", Some(&alice)).await;
    let usage = app.get("/api/usage", Some(&alice)).await.json();
    assert_eq!(usage["requests_served"], 2, "alice's own, not admin's: {usage}");
    assert!(usage.get("quota").is_none(), "{usage}");
    assert!(usage.get("requests_today").is_none(), "{usage}");
}

#[tokio::test]
async fn creating_an_item_returns_201_and_lists_it() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    let created = app
        .post_json(
            "/api/items",
            Some(&token),
            json!({"title": "  Write tests "}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json()["title"], "Write tests");
    let items = app.get("/api/items", Some(&token)).await.json();
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .any(|item| item["title"] == "Write tests"));
}

#[tokio::test]
async fn an_empty_or_overlong_title_is_422() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    for title in ["   ".to_owned(), "x".repeat(121)] {
        let response = app
            .post_json("/api/items", Some(&token), json!({ "title": title }))
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.error_code(), "validation_failed");
    }
    let exactly_max = app
        .post_json(
            "/api/items",
            Some(&token),
            json!({"title": "é".repeat(120)}),
        )
        .await;
    assert_eq!(exactly_max.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_user_cannot_keep_more_than_a_hundred_items() {
    let app = app().await;
    let (_, token) = app.signed_in("alice").await;
    let seeded = app
        .get("/api/items", Some(&token))
        .await
        .json()
        .as_array()
        .unwrap()
        .len();
    for n in seeded..100 {
        let created = app
            .post_json(
                "/api/items",
                Some(&token),
                json!({ "title": format!("item {n}") }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let refused = app
        .post_json("/api/items", Some(&token), json!({"title": "one too many"}))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.error_code(), "validation_failed");
}

#[tokio::test]
async fn items_are_private_to_their_user() {
    let app = app().await;
    let (_, alice) = app.signed_in("alice").await;
    let (_, admin) = app.signed_in("admin").await;
    app.post_json("/api/items", Some(&alice), json!({"title": "alice only"}))
        .await;
    let admins = app.get("/api/items", Some(&admin)).await.body;
    assert!(!admins.contains("alice only"));
}

#[tokio::test]
async fn admin_stats_are_403_insufficient_scope_for_a_user_and_200_for_admin() {
    let app = app().await;
    let (_, alice) = app.signed_in("alice").await;
    let refused = app.get("/api/admin/stats", Some(&alice)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "insufficient_scope");
    assert!(refused
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    let (_, admin) = app.signed_in("admin").await;
    let stats = app.get("/api/admin/stats", Some(&admin)).await;
    assert_eq!(stats.status, StatusCode::OK);
    assert_eq!(stats.json()["active_sessions"], 2);
}

#[tokio::test]
async fn unknown_api_paths_are_a_json_404() {
    let app = app().await;
    let response = app.get("/api/nope", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), "not_found");
}

#[tokio::test]
async fn error_bodies_carry_a_code_and_a_message_and_nothing_else() {
    let app = app().await;
    let body = app.get("/api/me", Some("x")).await.json();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 2, "{body}");
    assert!(object["message"].as_str().unwrap().len() > 5);
}

#[tokio::test]
async fn the_ping_twins_give_the_same_answer_one_behind_the_bearer_check() {
    let app = app().await;
    let public = app.get("/api/ping", None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.header("content-type"), Some("application/json"));

    let refused = app.get("/api/me/ping", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.error_code(), "unauthenticated");

    let (_, token) = app.signed_in("alice").await;
    let protected = app.get("/api/me/ping", Some(&token)).await;
    assert_eq!(protected.status, StatusCode::OK);
    assert_eq!(protected.body, public.body);
}
}
