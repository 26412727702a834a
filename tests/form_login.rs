#![cfg(feature = "ssr")]
//! The JavaScript-free login form (`POST /rpc/login`, a server function).

#[macro_use]
mod common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::TestResponse;

for_each_backend! {
fn form_post(body: &str, site: &str) -> Request<Body> {
    Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", site)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The form answered with a redirect back to itself, carrying `error`, and set no session.
fn assert_back_at_the_form_signed_out(response: &TestResponse, error: &str) {
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.body);
    let expected = format!("/login?next=/&error={error}");
    assert_eq!(response.header("location"), Some(expected.as_str()));
    let cookies = response.set_cookie_lines();
    assert!(
        cookies.iter().all(|line| !line.starts_with("tf_refresh")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn a_form_login_sets_the_cookies_and_redirects_to_next() {
    let app = app().await;
    let mut browser = app.browser();
    let response = browser
        .send(form_post(
            "username=alice&password=wonderland&next=%2Fadmin",
            "same-origin",
        ))
        .await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.header("location"), Some("/admin"));
    assert!(browser.refresh_cookie().is_some());
    assert!(browser.cookies.contains_key("tf_session"));
    let page = browser.get_page("/admin").await;
    assert!(
        page.body.contains(">alice<"),
        "the first paint shows the user"
    );
}

#[tokio::test]
async fn a_wrong_password_redirects_back_with_an_error_and_sets_nothing() {
    let app = app().await;
    let response = app
        .send(form_post(
            "username=alice&password=nope&next=%2F",
            "same-origin",
        ))
        .await;
    assert_back_at_the_form_signed_out(&response, "invalid");
}

#[tokio::test]
async fn a_cross_site_form_login_is_refused_without_cookies() {
    let app = app().await;
    let response = app
        .send(form_post(
            "username=alice&password=wonderland&next=%2F",
            "cross-site",
        ))
        .await;
    assert_back_at_the_form_signed_out(&response, "cross_site");
    assert!(
        response.set_cookie_lines().is_empty(),
        "not even a session cookie"
    );
}

/// Issue #32: the login page read `next` through leptos_router's `use_query_map`, which decodes
/// twice: an authorization request written with `%20` (and a `state` holding an encoded `+` or
/// `&`) came back corrupted, and `safe_next` replaced it with `/`.
#[tokio::test]
async fn the_login_page_decodes_next_exactly_once() {
    let app = app().await;
    let mut browser = app.browser();
    let page = browser
        .get_page(
            "/login?next=%2Foauth%2Fauthorize%3Fscope%3Dopenid%2520profile\
             %26state%3Da%252Bb%2526c",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"value="/oauth/authorize?scope=openid%20profile&amp;state=a%2Bb%26c""#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_off_site_next_is_replaced_by_the_home_page() {
    let app = app().await;
    let body = "username=alice&password=wonderland&next=%2F%09%2Fevil.example";
    let response = app.send(form_post(body, "same-origin")).await;
    assert_eq!(response.header("location"), Some("/"));
}

#[tokio::test]
async fn an_oversized_form_is_413() {
    let app = app().await;
    let body = format!("username=alice&password={}", "x".repeat(10_000));
    let response = app.send(form_post(&body, "same-origin")).await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:?} {}",
        response.headers,
        response.body
    );
    assert_eq!(response.error_code(), "payload_too_large");
}

#[tokio::test]
async fn a_form_with_a_missing_field_goes_back_to_the_form_with_an_error() {
    let app = app().await;
    let response = app.send(form_post("username=alice", "same-origin")).await;
    assert_back_at_the_form_signed_out(&response, "invalid");
}

#[tokio::test]
async fn a_chunked_oversized_form_is_413_too() {
    let app = app().await;
    let mut request = form_post(&"x".repeat(10_000), "same-origin");
    request.headers_mut().remove(header::CONTENT_LENGTH);
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_json_body_to_the_form_endpoint_is_415() {
    let app = app().await;
    let request = Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"username":"alice","password":"wonderland"}"#,
        ))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.error_code(), "unsupported_media_type");
}

#[tokio::test]
async fn pages_are_kept_out_of_shared_caches() {
    let app = app().await;
    let response = app.browser().get_page("/login").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("cache-control"), Some("private, no-cache"));
}
}
