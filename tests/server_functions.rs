#![cfg(feature = "ssr")]
//! Server functions over HTTP: the Bearer token is the only credential they accept, with the same
//! RFC 6750 answers as the REST API; and during the server render they run for the page's
//! session, so the first paint holds the data.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::{TestApp, TestResponse};

/// A server-function call as the browser's `AuthClient` sends it.
async fn call(
    app: &TestApp,
    endpoint: &str,
    token: Option<&str>,
    cookies: Option<&str>,
) -> TestResponse {
    let mut request = Request::post(format!("/api/fn/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(cookies) = cookies {
        request = request.header(header::COOKIE, cookies);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_bearer_token_calls_a_server_function() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let response = call(&app, "items", Some(&token), None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert!(response
        .json()
        .as_array()
        .is_some_and(|items| !items.is_empty()));
    let profile = call(&app, "profile", Some(&token), None).await;
    assert_eq!(profile.json()["username"], "alice");
}

#[tokio::test]
async fn no_token_is_401_with_a_bare_bearer_challenge() {
    let app = TestApp::new().await;
    let response = call(&app, "items", None, None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"tokenflight\"")
    );
    assert_eq!(response.error_code(), "unauthenticated");
}

#[tokio::test]
async fn an_expired_token_is_401_invalid_token() {
    let app = TestApp::with_env(&[("ACCESS_TOKEN_TTL_SECS", "60")]).await;
    let (_, token) = app.signed_in("alice").await;
    // Past its 60 s and the second `exp` may be rounded up by.
    app.advance(Duration::from_secs(61));
    let response = call(&app, "usage", Some(&token), None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_token");
    let challenge = response.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn the_wrong_role_is_403_insufficient_scope() {
    let app = TestApp::new().await;
    let (_, alice) = app.signed_in("alice").await;
    let refused = call(&app, "admin_stats", Some(&alice), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "insufficient_scope");
    assert!(refused
        .header("www-authenticate")
        .is_some_and(|c| c.contains("insufficient_scope")));
    let (_, admin) = app.signed_in("admin").await;
    let allowed = call(&app, "admin_stats", Some(&admin), None).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert!(allowed.json()["active_sessions"].as_u64().is_some());
}

#[tokio::test]
async fn the_session_cookie_alone_never_authenticates_a_server_function_over_http() {
    let app = TestApp::new().await;
    let (browser, _) = app.signed_in("alice").await;
    // The page session works for the page itself…
    let cookies = browser.cookie_header();
    assert!(cookies.contains("tf_session"), "{cookies}");
    // …but a server function called over HTTP with every cookie and no Bearer token is refused,
    // so another site cannot drive it with the browser's cookies.
    let response = call(&app, "items", None, Some(&cookies)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "unauthenticated");
}

#[tokio::test]
async fn the_signed_in_first_paint_already_holds_the_protected_data() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let page = browser.get_page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    // Items, notifications and usage come from the server functions, run for this session.
    assert!(page.body.contains("Read RFC 9700"), "{}", page.body);
    assert!(
        page.body.contains("API requests served for you"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("class=\"skeleton\""),
        "no loading state in the first paint"
    );
}

/// Issue #23: the token a signed-in page comes with says how long the session has before the idle
/// timeout ends it — counted from its last refresh, as the server counts it, not from this page
/// load — so an untouched tab warns and signs out when the server ends the session.
#[tokio::test]
async fn the_pages_token_states_the_idle_time_left_since_the_last_refresh() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    app.advance(Duration::from_secs(600));
    let page = browser.get_page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace("&quot;", "\"");
    assert!(body.contains("\"idle_expires_in\":1200"), "{body}");
    assert!(body.contains("\"idle_timeout\":1800"), "{body}");
}

#[tokio::test]
async fn the_admin_page_renders_forbidden_for_a_user_without_the_role() {
    let app = TestApp::new().await;
    let (mut alice, _) = app.signed_in("alice").await;
    let page = alice.get_page("/admin").await;
    assert!(page.body.contains("Forbidden"), "{}", page.body);
    let (mut admin, _) = app.signed_in("admin").await;
    let page = admin.get_page("/admin").await;
    assert!(page.body.contains("Active sessions"), "{}", page.body);
    assert!(!page.body.contains("Forbidden"));
}
