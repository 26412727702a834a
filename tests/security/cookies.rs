//! Cookie flags and prefixes, HSTS: what keeps the refresh credential and the session cookie
//! out of scripts, other sites and sibling subdomains.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

use crate::common::{login_request, TestApp};

/// A request as it reaches us behind a TLS-terminating proxy.
fn over_https(mut request: Request<Body>) -> Request<Body> {
    request
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    request
}

fn refresh_request() -> Request<Body> {
    let mut request = Request::post("/api/auth/refresh")
        .body(Body::empty())
        .unwrap();
    request
        .headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    request
}

/// OWASP Session Management cheat sheet ("Secure attribute", "cookie prefixes"), RFC 6265bis
/// §4.1.3: over https every cookie is `Secure`, the session cookie is `__Host-` (Path=/, no
/// Domain) and the refresh cookie `__Secure-` (its Path `/api/auth` rules out `__Host-`).
#[tokio::test]
async fn cookies_over_https_are_secure_and_carry_host_and_secure_prefixes() {
    let app = TestApp::new().await;
    let response = app
        .send(over_https(login_request("alice", "wonderland")))
        .await;
    let lines = response.set_cookie_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("; Secure")), "{lines:?}");
    let refresh = lines.iter().find(|l| l.starts_with("__Secure-tf_refresh="));
    assert!(
        refresh.is_some_and(|l| l.contains("Path=/api/auth")),
        "{lines:?}"
    );
    let session = lines.iter().find(|l| l.starts_with("__Host-tf_session="));
    assert!(
        session.is_some_and(|l| l.contains("Path=/") && !l.contains("Domain")),
        "{lines:?}"
    );
}

/// OWASP Session Management cheat sheet ("Secure attribute"): `COOKIE_SECURE=always` for a proxy
/// that does not say `X-Forwarded-Proto`.
#[tokio::test]
async fn cookie_secure_always_marks_and_prefixes_cookies_even_over_http() {
    let app = TestApp::with_env(&[("COOKIE_SECURE", "always")]).await;
    let response = app.browser().login("alice", "wonderland").await;
    let lines = response.set_cookie_lines();
    assert!(
        lines
            .iter()
            .all(|l| l.contains("; Secure") && l.starts_with("__")),
        "{lines:?}"
    );
}

/// OWASP Session Management cheat sheet (cookie tossing / session fixation from a sibling
/// subdomain): over https only the prefixed names are read, so a plain-named cookie planted via
/// `Domain=.example.com` is ignored; the prefixed name set by login is read back.
#[tokio::test]
async fn planted_unprefixed_refresh_cookie_is_ignored_over_https() {
    let app = TestApp::new().await;
    let login = app
        .send(over_https(login_request("alice", "wonderland")))
        .await;
    let credential = login
        .cookie("__Secure-tf_refresh")
        .expect("prefixed cookie");

    let mut planted = over_https(refresh_request());
    let plain = format!("tf_refresh={credential}");
    planted
        .headers_mut()
        .insert(header::COOKIE, plain.parse().unwrap());
    let refused = app.send(planted).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(refused.error_code(), "invalid_grant");

    let mut genuine = over_https(refresh_request());
    let prefixed = format!("__Secure-tf_refresh={credential}");
    genuine
        .headers_mut()
        .insert(header::COOKIE, prefixed.parse().unwrap());
    let refreshed = app.send(genuine).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert!(refreshed.cookie("__Secure-tf_refresh").is_some());
}

/// OWASP HTTP Strict Transport Security cheat sheet, RFC 6797 §7.2: HSTS on responses that came
/// over https (here: via the proxy's `X-Forwarded-Proto`), never on plain http.
#[tokio::test]
async fn ssl_stripping_is_prevented_by_hsts_on_https_responses_only() {
    let app = TestApp::new().await;
    let https = app
        .send(over_https(login_request("alice", "wonderland")))
        .await;
    let hsts = https.header("strict-transport-security");
    assert!(hsts.is_some_and(|v| v.starts_with("max-age=")), "{hsts:?}");
    let http = app.send(login_request("alice", "wonderland")).await;
    assert_eq!(http.header("strict-transport-security"), None);
}

/// OWASP Session Management cheat sheet (HttpOnly, SameSite): over plain http the cookies keep
/// their plain names and no `Secure` (the local demo), but always HttpOnly and SameSite.
#[tokio::test]
async fn cookies_over_plain_http_are_still_http_only_and_same_site() {
    let app = TestApp::new().await;
    let response = app.send(login_request("alice", "wonderland")).await;
    let lines = response.set_cookie_lines();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("tf_") && l.contains("HttpOnly") && l.contains("SameSite")),
        "{lines:?}"
    );
}
