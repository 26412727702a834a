#![cfg(feature = "ssr")]
//! Login, refresh and logout refuse cross-site requests, non-JSON bodies and large bodies.

#[macro_use]
mod common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

for_each_backend! {
fn login_request(content_type: &str, body: &str) -> Request<Body> {
    Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

const ALICE: &str = r#"{"username":"alice","password":"wonderland"}"#;

#[tokio::test]
async fn a_cross_site_login_is_refused_with_403_and_sets_no_cookie() {
    let app = app().await;
    let mut request = login_request("application/json", ALICE);
    request
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "cross_site_request");
    assert!(response.set_cookie_lines().is_empty());
}

#[tokio::test]
async fn a_foreign_origin_cannot_refresh_or_log_out() {
    let app = app().await;
    let (mut browser, token) = app.signed_in("alice").await;
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let request = Request::post(path)
            .header(header::ORIGIN, "https://evil.example")
            .header(header::HOST, "127.0.0.1:3000")
            .body(Body::empty())
            .unwrap();
        let response = browser.send(request).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing changed: the session and its credential still work.
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_same_origin_request_by_origin_header_is_accepted() {
    let app = app().await;
    let mut request = login_request("application/json", ALICE);
    request
        .headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
    request
        .headers_mut()
        .insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(app.send(request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn text_plain_and_form_bodies_are_refused_with_415() {
    let app = app().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let response = app.send(login_request(content_type, ALICE)).await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(response.error_code(), "unsupported_media_type");
    }
    let refresh = Request::post("/api/auth/refresh")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(
        app.send(refresh).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn a_json_body_with_a_charset_is_accepted() {
    let app = app().await;
    let response = app
        .send(login_request("application/json; charset=utf-8", ALICE))
        .await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = app().await;
    let padding = "x".repeat(10_000);
    let body = format!(r#"{{"username":"alice","password":"{padding}"}}"#);
    let response = app.send(login_request("application/json", &body)).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "payload_too_large");
}

#[tokio::test]
async fn broken_json_is_400_and_a_missing_field_is_422() {
    let app = app().await;
    let broken = app
        .send(login_request("application/json", "{\"username\":"))
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.error_code(), "invalid_json");
    let missing = app
        .send(login_request("application/json", r#"{"username":"alice"}"#))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.error_code(), "validation_failed");
}

#[tokio::test]
async fn a_get_on_login_is_405_with_a_json_body() {
    let app = app().await;
    let response = app.get("/api/auth/login", None).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.error_code(), "method_not_allowed");
}
}
