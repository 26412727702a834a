//! Content types, body and header sizes: what a cross-site form can send without a preflight,
//! and what an attacker can make the server read.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};

use crate::common::{bearer_request, TestApp};

fn login_with(content_type: &str, body: &str) -> Request<Body> {
    Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, content_type)
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

const ALICE: &str = r#"{"username":"alice","password":"wonderland"}"#;

/// OWASP CSRF cheat sheet ("simple requests"): `text/plain`, form and multipart bodies need no
/// CORS preflight, so a cookie endpoint accepts JSON only (415).
#[tokio::test]
async fn simple_request_content_types_are_refused_with_415() {
    let app = TestApp::new().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let response = app.send(login_with(content_type, ALICE)).await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(response.error_code(), "unsupported_media_type");
    }
    let refresh = Request::post("/api/auth/refresh")
        .header(header::CONTENT_TYPE, "text/plain")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from("x"))
        .unwrap();
    assert_eq!(
        app.send(refresh).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

/// RFC 8259 §11 (`application/json` with parameters is still JSON): not a bypass, just accepted.
#[tokio::test]
async fn json_with_a_charset_parameter_is_accepted() {
    let app = TestApp::new().await;
    let response = app
        .send(login_with("application/json; charset=utf-8", ALICE))
        .await;
    assert_eq!(response.status, StatusCode::OK);
}

/// OWASP Denial of Service cheat sheet (limit request sizes): a 10 KB login body is 413.
#[tokio::test]
async fn oversized_login_body_is_refused_with_413() {
    let app = TestApp::new().await;
    let padding = "x".repeat(10_000);
    let body = format!(r#"{{"username":"alice","password":"{padding}"}}"#);
    let response = app.send(login_with("application/json", &body)).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "payload_too_large");
}

/// OWASP REST Security cheat sheet (validate input, answer with a client error): broken JSON is
/// 400 `invalid_json`, a missing field 422 `validation_failed`, never a 500.
#[tokio::test]
async fn malformed_json_gets_a_client_error_not_a_500() {
    let app = TestApp::new().await;
    let broken = app
        .send(login_with("application/json", "{\"username\":"))
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.error_code(), "invalid_json");
    let missing = app
        .send(login_with("application/json", r#"{"username":"alice"}"#))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.error_code(), "validation_failed");
}

/// Found by schemathesis against the OpenAPI document: serde reads a struct from a JSON array, so
/// `[]` was accepted as an empty `DemoFaults` (200, faults reset). Every body is an object: 422.
#[tokio::test]
async fn a_json_array_where_an_object_is_expected_is_422() {
    let app = TestApp::new().await;
    let (_browser, token) = app.signed_in("alice").await;
    for path in ["/api/demo/faults", "/api/items"] {
        let response = app
            .post_json(path, Some(&token), serde_json::json!([]))
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(response.error_code(), "validation_failed", "{path}");
    }
}

/// Found by schemathesis: JSON Schema's `integer` includes `10.0`, which serde refused for an
/// integer field (422 for a body the document calls valid). Integral numbers count as integers.
#[tokio::test]
async fn an_integral_number_written_with_a_fraction_is_an_integer() {
    let app = TestApp::new().await;
    let (_browser, token) = app.signed_in("alice").await;
    let body = serde_json::json!({ "latency_ms": 25.0, "failing_refreshes": 1e0 });
    let response = app.post_json("/api/demo/faults", Some(&token), body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.json()["latency_ms"], 25);
    let fraction = serde_json::json!({ "latency_ms": 2.5 });
    let refused = app
        .post_json("/api/demo/faults", Some(&token), fraction)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// OWASP REST Security cheat sheet ("restrict HTTP methods"): GET on login is 405 in JSON.
#[tokio::test]
async fn get_on_the_login_endpoint_is_405_with_a_json_body() {
    let app = TestApp::new().await;
    let response = app.get("/api/auth/login", None).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.error_code(), "method_not_allowed");
}

/// OWASP Denial of Service cheat sheet (oversized headers): a 64 KiB bearer token is an invalid
/// token (401), not a crash or a 500.
#[tokio::test]
async fn oversized_authorization_header_is_an_invalid_token() {
    let app = TestApp::new().await;
    let huge = "a".repeat(64 * 1024);
    let response = app
        .send(bearer_request(Method::GET, "/api/me", Some(&huge), None))
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_token");
}

/// OWASP Denial of Service cheat sheet (oversized headers): a 64 KiB refresh cookie is an
/// invalid grant (400), not a crash or a 500.
#[tokio::test]
async fn oversized_refresh_cookie_is_an_invalid_grant() {
    let app = TestApp::new().await;
    let cookie = format!("tf_refresh={}", "a".repeat(64 * 1024));
    let response = app.post_with_cookies("/api/auth/refresh", &cookie).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "invalid_grant");
}

/// OWASP REST Security cheat sheet (error handling): a login form whose keys look like nested
/// data (`username[]=…`, which the server function's decoder cannot place) goes back to the
/// form like a wrong password, instead of a 500. Found by the arbitrary-bytes property test.
#[tokio::test]
async fn form_login_with_nested_keys_goes_back_to_the_form_not_a_500() {
    let app = TestApp::new().await;
    for body in [
        r#"{"username":[]}"#,
        "username[]=alice&password=x",
        "username[a]=1",
    ] {
        let request = Request::post("/rpc/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header(header::ACCEPT, "text/html")
            .body(Body::from(body))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(
            response.status,
            StatusCode::FOUND,
            "{body}: {}",
            response.body
        );
        let location = response.header("location").unwrap_or_default();
        assert!(location.ends_with("error=invalid"), "{body}: {location}");
    }
}
