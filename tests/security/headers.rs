//! Response headers that keep pages out of frames, scripts to our own, signed-in answers out of
//! caches, and static files read-only.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};

use crate::common::TestApp;

/// OWASP Content Security Policy, Clickjacking Defense and HTTP Headers cheat sheets: every page
/// (a route, the login form, the not-found page) carries a CSP whose script nonce is the one on
/// the page's own scripts, `frame-ancestors 'none'` and `X-Frame-Options: DENY` (so the demo's
/// "Revoke session" button cannot be framed), `nosniff` and a `Referrer-Policy`.
#[tokio::test]
async fn clickjacking_and_script_injection_meet_the_page_security_headers() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pages = [
        browser.get_page("/").await,
        app.browser().get_page("/login").await,
        app.browser().get_page("/no-such-page").await,
    ];
    for page in pages {
        let csp = page.header("content-security-policy").expect("a CSP");
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "'wasm-unsafe-eval'",
        ] {
            assert!(csp.contains(directive), "{directive} missing: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a script nonce");
        // Every script on the page (the hydration script, serialized resources) carries this
        // render's nonce, or the browser would refuse it and the page would not hydrate.
        let scripts: Vec<&str> = page.body.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{}", page.body);
        for script in scripts {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "a script without this render's nonce: <script{tag}>"
            );
        }
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            page.header("referrer-policy"),
            Some("strict-origin-when-cross-origin")
        );
    }
}

/// OWASP Session Management cheat sheet ("Web content caching": `Cache-Control: no-store` on
/// sensitive answers) and RFC 9111 §5.2.2.5: what a signed-in request gets back — REST or
/// server function, success or refusal — is never stored by a browser or proxy cache.
#[tokio::test]
async fn signed_in_api_answers_are_never_cached() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let answers = [
        app.get("/api/me", Some(&token)).await,
        app.get("/api/items", Some(&token)).await,
        app.get("/api/me/ping", Some(&token)).await,
        app.send(
            Request::post("/api/fn/items")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    ];
    for answer in answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{answer:?}"
        );
    }
}

/// OWASP REST Security cheat sheet ("restrict HTTP methods") and RFC 9110 §15.5.6 (405 with
/// `Allow`): public files and the not-found page answer GET and HEAD only; PUT, DELETE, TRACE
/// get our JSON 405.
#[tokio::test]
async fn put_delete_and_trace_on_static_files_are_405() {
    let app = TestApp::new().await;
    for path in ["/favicon.svg", "/robots.txt", "/no-such-file"] {
        for method in [Method::PUT, Method::DELETE, Method::TRACE, Method::PATCH] {
            let request = Request::builder()
                .method(method.clone())
                .uri(path)
                .body(Body::empty())
                .unwrap();
            let response = app.send(request).await;
            assert_eq!(
                response.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.header("allow"), Some("GET, HEAD"));
            assert_eq!(response.error_code(), "method_not_allowed");
        }
        let get = app
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_ne!(get.status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
    }
}
