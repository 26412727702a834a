//! Open redirects through the login form's `next`, and error bodies that leak nothing.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};

use crate::common::{bearer_request, login_request, TestApp};

fn form_login(next: &str) -> Request<Body> {
    let body = format!(
        "username=alice&password=wonderland&next={}",
        next.bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap()
}

/// OWASP Unvalidated Redirects and Forwards cheat sheet: after a successful form login, `next`
/// pointing off-site — absolute, scheme-relative, or disguised with `\`, tabs, newlines,
/// spaces or `javascript:` — lands on `/`, while a local path is honoured.
#[tokio::test]
async fn open_redirect_through_next_lands_on_the_home_page() {
    let app = TestApp::new().await;
    for hostile in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
    ] {
        let response = app.send(form_login(hostile)).await;
        assert_eq!(response.status, StatusCode::FOUND, "{hostile:?}");
        assert_eq!(response.header("location"), Some("/"), "{hostile:?}");
    }
    let local = app.send(form_login("/admin?tab=2")).await;
    assert_eq!(local.header("location"), Some("/admin?tab=2"));
}

/// OWASP Error Handling cheat sheet (no stack traces, no internals, no echo of input): every
/// refusal is `{"error", "message"}` with a fixed message that repeats none of what was sent.
#[tokio::test]
async fn error_bodies_leak_no_input_secret_or_internal_detail() {
    let app = TestApp::new().await;
    let secret_guess = "hunter2-secret-guess";
    let garbage_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let responses = [
        app.send(login_request("alice", secret_guess)).await,
        app.send(login_request(secret_guess, "x")).await,
        app.get("/api/me", Some(garbage_token)).await,
        app.post_with_cookies("/api/auth/refresh", &format!("tf_refresh={secret_guess}"))
            .await,
        app.send(bearer_request(Method::GET, "/api/nowhere", None, None))
            .await,
    ];
    for response in responses {
        assert!(response.status.is_client_error(), "{response:?}");
        let body = response.json();
        let fields: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(fields, ["error", "message"], "{body}");
        for leak in [
            secret_guess,
            garbage_token,
            "alice",
            "Invalid",
            "Error",
            "panicked",
        ] {
            assert!(!response.body.contains(leak), "{leak} in {}", response.body);
        }
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
}
