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

/// OWASP Error Handling cheat sheet ("no echo of input", no internals): a body of the wrong
/// shape is 422 with a fixed message that quotes none of the values sent — no number, no
/// string of any length — and no type name of ours (`struct DemoFaults`).
#[tokio::test]
async fn wrong_shape_422_echoes_no_input_or_type_name() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let long = "A".repeat(5000);
    let bodies = [
        serde_json::json!({ "latency_ms": long }),
        serde_json::json!({ "latency_ms": 123456789012345u64, "failing_refreshes": "x" }),
        serde_json::json!(987654321),
        serde_json::json!(["echo-me"]),
    ];
    for body in bodies {
        let response = app
            .post_json("/api/demo/faults", Some(&token), body.clone())
            .await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(response.error_code(), "validation_failed");
        for leak in [
            "AAAA",
            "123456789012345",
            "987654321",
            "echo-me",
            "DemoFaults",
            "struct",
        ] {
            assert!(!response.body.contains(leak), "{leak} in {}", response.body);
        }
    }
    let items = app
        .post_json(
            "/api/items",
            Some(&token),
            serde_json::json!({ "titel": "x" }),
        )
        .await;
    assert_eq!(items.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        items.body.contains("missing field `title`"),
        "{}",
        items.body
    );
}

/// OWASP REST Security cheat sheet (input validation; "return a client error") and CWE-20: a
/// server function sent a body that is not UTF-8, a form with a key twice or with keys its
/// decoder reads as nested data, JSON or text answers a 4xx in the API's shape — never a 500 `internal_error` and an ERROR log line.
#[tokio::test]
async fn server_function_bodies_that_do_not_decode_are_client_errors_not_500s() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let cases: [(&[u8], &str); 6] = [
        (b"\xff\xfe\xfd", "application/x-www-form-urlencoded"),
        (b"a=1&a=2", "application/x-www-form-urlencoded"),
        (b"a=1&b=2&a=", "application/x-www-form-urlencoded"),
        (b"{\"username\":[]}", "application/x-www-form-urlencoded"),
        (b"{\"a\":1}", "application/json"),
        (b"\xc3\x28=1", "text/plain"),
    ];
    for endpoint in ["items", "profile", "usage", "admin_stats"] {
        for (body, content_type) in cases {
            let request = Request::post(format!("/api/fn/{endpoint}"))
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body.to_vec()))
                .unwrap();
            let response = app.send(request).await;
            assert!(
                response.status.is_client_error(),
                "{endpoint} {body:?}: {} {}",
                response.status,
                response.body
            );
            assert_ne!(response.error_code(), "internal_error");
        }
    }
}
