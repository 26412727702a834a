#![cfg(feature = "ssr")]
//! The JavaScript-free login form (`POST /rpc/login`, a server function).

mod common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::TestApp;

fn form_post(body: &str, site: &str) -> Request<Body> {
    Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", site)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn a_form_login_sets_the_cookies_and_redirects_to_next() {
    let app = TestApp::new();
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
    let app = TestApp::new();
    let response = app
        .send(form_post(
            "username=alice&password=nope&next=%2F",
            "same-origin",
        ))
        .await;
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(
        response.header("location"),
        Some("/login?next=/&error=invalid")
    );
    assert!(response
        .set_cookie_lines()
        .iter()
        .all(|line| !line.starts_with("tf_refresh")));
}

#[tokio::test]
async fn a_cross_site_form_login_is_refused_without_cookies() {
    let app = TestApp::new();
    let response = app
        .send(form_post(
            "username=alice&password=wonderland&next=%2F",
            "cross-site",
        ))
        .await;
    assert_eq!(
        response.header("location"),
        Some("/login?next=/&error=cross_site")
    );
    assert!(response.set_cookie_lines().is_empty());
}

#[tokio::test]
async fn an_off_site_next_is_replaced_by_the_home_page() {
    let app = TestApp::new();
    let body = "username=alice&password=wonderland&next=%2F%09%2Fevil.example";
    let response = app.send(form_post(body, "same-origin")).await;
    assert_eq!(response.header("location"), Some("/"));
}

#[tokio::test]
async fn an_oversized_form_is_413() {
    let app = TestApp::new();
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
async fn a_form_with_missing_fields_is_a_client_error() {
    let app = TestApp::new();
    let mut request = form_post("username=alice", "same-origin");
    request.headers_mut().insert(
        header::REFERER,
        "http://127.0.0.1:3000/login".parse().unwrap(),
    );
    let response = app.send(request).await;
    // Leptos sends a JavaScript-free form back where it came from, with the problem.
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.body);
    let location = response.header("location").unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:3000/login"),
        "{location}"
    );
    assert!(response
        .set_cookie_lines()
        .iter()
        .all(|line| !line.starts_with("tf_refresh")));
}
