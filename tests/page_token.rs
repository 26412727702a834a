#![cfg(feature = "ssr")]
//! A signed-in page brings an access token for its session (`FirstPaint::Token`), so a page
//! load makes no refresh call: the token is minted, not refreshed, it is bound to the session
//! like any other, and no cache may keep the page.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::TestResponse;

for_each_backend! {
/// The token in the auth island's props (serialized JSON inside an HTML attribute).
fn page_token(page: &TestResponse) -> Option<String> {
    let html = page.body.replace("&quot;", "\"");
    let (_, rest) = html.split_once("\"access_token\":\"")?;
    rest.split_once('"').map(|(token, _)| token.to_owned())
}

#[tokio::test]
async fn a_signed_in_page_brings_a_working_token_and_rotates_nothing() {
    let app = app().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let cookie = browser.refresh_cookie();
    let page = browser.get_page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let token = page_token(&page).expect("the page carries a token");
    assert_eq!(app.get("/api/me", Some(&token)).await.status, StatusCode::OK);
    // Nothing was refreshed: the refresh credential is the one the login set.
    assert_eq!(browser.refresh_cookie(), cookie);
    assert!(page.set_cookie_lines().iter().all(|line| !line.contains("tf_refresh")));
}

#[tokio::test]
async fn a_page_token_dies_with_expire_access_and_with_logout() {
    let app = app().await;
    let (mut browser, access) = app.signed_in("alice").await;
    let token = page_token(&browser.get_page("/admin").await).expect("a token");
    let expired = app
        .post_json("/api/demo/expire-access", Some(&access), serde_json::json!({}))
        .await;
    assert_eq!(expired.status, StatusCode::NO_CONTENT, "{}", expired.body);
    assert_eq!(app.get("/api/me", Some(&token)).await.status, StatusCode::UNAUTHORIZED);
    // A page rendered now carries the session's latest number: cut off too, until a refresh.
    let later = page_token(&browser.get_page("/").await).expect("a token");
    assert_eq!(app.get("/api/me", Some(&later)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
    let fresh = page_token(&browser.get_page("/").await).expect("a token");
    assert_eq!(app.get("/api/me", Some(&fresh)).await.status, StatusCode::OK);

    assert_eq!(browser.logout().await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/me", Some(&fresh)).await.status, StatusCode::UNAUTHORIZED);
    let signed_out = browser.get_page("/login").await;
    assert_eq!(page_token(&signed_out), None);
    assert_eq!(signed_out.header("cache-control"), Some("private, no-cache"));
}
}
