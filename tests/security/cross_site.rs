//! Cross-site request forgery against the cookie-authenticated endpoints (login, refresh,
//! logout): the cookies ride along on a request another site makes, so such requests are
//! refused before anything changes.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

use crate::common::{login_request, TestApp};

fn post(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::post(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn json_login(headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = login_request("alice", "wonderland");
    request.headers_mut().remove("sec-fetch-site");
    for (name, value) in headers {
        request.headers_mut().insert(
            header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    request
}

/// OWASP CSRF cheat sheet, "Fetch Metadata headers"; login CSRF (signing the victim into the
/// attacker's account): a cross-site login is refused with 403 and sets no cookie.
#[tokio::test]
async fn cross_site_login_is_refused_with_403_and_sets_no_cookie() {
    let app = TestApp::new().await;
    let response = app
        .send(json_login(&[("sec-fetch-site", "cross-site")]))
        .await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "cross_site_request");
    assert!(response.set_cookie_lines().is_empty());
}

/// OWASP CSRF cheat sheet, "verifying origin with standard headers": a page on another origin
/// cannot refresh (and read the token) or log the victim out; nothing changes.
#[tokio::test]
async fn cross_site_refresh_and_logout_from_a_foreign_origin_are_refused() {
    let app = TestApp::new().await;
    let (mut browser, token) = app.signed_in("alice").await;
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let foreign = [
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000"),
        ];
        let response = browser.send(post(path, &foreign)).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        app.get("/api/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(browser.refresh().await.status, StatusCode::OK);
}

/// OWASP CSRF cheat sheet, "Fetch Metadata": `same-site` is a sibling subdomain, not us.
#[tokio::test]
async fn same_site_sibling_subdomain_refresh_is_refused() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let sibling = post("/api/auth/refresh", &[("sec-fetch-site", "same-site")]);
    assert_eq!(browser.send(sibling).await.status, StatusCode::FORBIDDEN);
}

/// OWASP CSRF cheat sheet ("if neither header is present, block"): a cookie-carrying request
/// with neither `Sec-Fetch-Site` nor `Origin` fails closed.
#[tokio::test]
async fn refresh_and_login_without_sec_fetch_site_or_origin_are_refused() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let bare = post("/api/auth/refresh", &[("host", "127.0.0.1:3000")]);
    let response = browser.send(bare).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.error_code(), "cross_site_request");
    assert_eq!(
        app.send(json_login(&[])).await.status,
        StatusCode::FORBIDDEN
    );
}

/// RFC 6454 §5 (an origin is scheme, host and port): `https://host` posting to `http://host`
/// is another origin, so the scheme is compared too.
#[tokio::test]
async fn origin_with_another_scheme_is_cross_site() {
    let app = TestApp::new().await;
    let other_scheme = [
        ("origin", "https://127.0.0.1:3000"),
        ("host", "127.0.0.1:3000"),
    ];
    assert_eq!(
        app.send(json_login(&other_scheme)).await.status,
        StatusCode::FORBIDDEN
    );
    let same = [
        ("origin", "http://127.0.0.1:3000"),
        ("host", "127.0.0.1:3000"),
    ];
    let response = app.send(json_login(&same)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
}

/// OWASP CSRF cheat sheet ("identifying the target origin" behind a proxy): with
/// `PUBLIC_ORIGIN`, `Origin` is compared with it, not with the rewritten `Host`.
#[tokio::test]
async fn behind_a_host_rewriting_proxy_only_the_public_origin_is_same_site() {
    let app = TestApp::with_env(&[("PUBLIC_ORIGIN", "https://app.example")]).await;
    let public = [("origin", "https://app.example"), ("host", "10.0.0.5:3000")];
    let response = app.send(json_login(&public)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let internal = [
        ("origin", "http://10.0.0.5:3000"),
        ("host", "10.0.0.5:3000"),
    ];
    assert_eq!(
        app.send(json_login(&internal)).await.status,
        StatusCode::FORBIDDEN
    );
}

/// OWASP CSRF cheat sheet ("Fetch Metadata": refuse before doing any work) and OWASP
/// Authentication cheat sheet (a lockout an attacker can trigger is a denial of service): any
/// page the victim visits can post cross-site sign-ins from the victim's address; refused, they
/// must not spend that address's quota, so the real sign-in afterwards is not a 429.
#[tokio::test]
async fn cross_site_sign_ins_do_not_spend_the_victims_address_quota() {
    let app = TestApp::with_env(&[("LOGIN_PER_CLIENT_PER_MINUTE", "3")]).await;
    let form = || {
        Request::post("/rpc/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .body(Body::from("username=alice&password=guess"))
            .unwrap()
    };
    for _ in 0..10 {
        let json = app
            .send(json_login(&[("sec-fetch-site", "cross-site")]))
            .await;
        assert_eq!(json.status, StatusCode::FORBIDDEN);
        let form = app.send(form()).await;
        let location = form.header("location").unwrap_or_default().to_owned();
        assert!(location.contains("cross_site"), "{location}");
    }
    let real = app.send(login_request("alice", "wonderland")).await;
    assert_eq!(real.status, StatusCode::OK, "{}", real.body);
}
