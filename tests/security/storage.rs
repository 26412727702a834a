//! What the server leaves on disk, and which caller a server function believes.

use std::os::unix::fs::PermissionsExt;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

use crate::common::{Backend, TestApp};

/// OWASP Cryptographic Storage cheat sheet (protect keys at rest) and CWE-276 (incorrect default
/// permissions): the SQLite store holds the signing key (without `JWT_SECRET`) and every live
/// session, so the file it creates is readable by its owner only — and so are SQLite's
/// `-wal`/`-shm` files, which take the database file's permissions.
#[tokio::test]
async fn store_file_holding_the_signing_key_is_created_owner_only() {
    let app = TestApp::start(Backend::Sqlite, &[]).await;
    app.signed_in("alice").await;
    let file = app.sqlite_file().unwrap().clone();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", file.display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{path}: {mode:o}");
    }
}

/// OWASP Session Management cheat sheet (no authentication by an ambient cookie where a token
/// is required) and the README's server-function rule: a server function called over HTTP with
/// the browser's session cookie and no Bearer token is unauthenticated — only a page render,
/// which marks itself, runs as the page's session.
#[tokio::test]
async fn server_function_over_http_is_not_a_page_render_whatever_cookies_it_carries() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let page = browser.get_page("/").await;
    assert!(
        page.body.contains("API requests served for you"),
        "the render ran as alice"
    );
    for endpoint in ["profile", "items", "usage"] {
        let request = Request::post(format!("/api/fn/{endpoint}"))
            .header(header::COOKIE, browser.cookie_header())
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{endpoint}");
        assert_eq!(response.error_code(), "unauthenticated");
    }
}
