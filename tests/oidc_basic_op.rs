#![cfg(feature = "ssr")]
//! The OpenID Connect Basic OP behaviours of issue #32 point 5, over HTTP: `prompt=login`,
//! `prompt=none`, `max_age` and `auth_time`, `at_hash`, `login_hint`, unknown parameters, and
//! userinfo's token in the header or a form body. `docs/oidc.md` maps each to the conformance
//! suite's Basic OP test module.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::{
    oidc::{authorize, authorize_query, exchange, field, param, Pkce, HOST},
    Browser, TestApp, TestResponse,
};

/// A JWT's claims, unverified (`tests/oidc.rs` checks signatures).
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The authorization request with `extra`, from `browser`.
async fn ask(browser: &mut Browser<'_>, pkce: &Pkce, extra: &[(&str, &str)]) -> TestResponse {
    authorize(browser, &authorize_query(pkce, extra)).await
}

/// The redirect's target path and query, decoded.
fn location(response: &TestResponse) -> String {
    let location = response.header("location").expect("a redirect").to_owned();
    urlencoding_decode(&location)
}

fn urlencoding_decode(text: &str) -> String {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(text.split_once('?').map_or("", |(_, q)| q)).unwrap();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The ID token of the code in `response` (a redirect back to the client).
async fn id_token_of(app: &TestApp, response: &TestResponse, pkce: &Pkce) -> Value {
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let code = param(response, "code").expect("a code");
    let answer = exchange(app, &code, &pkce.verifier).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    payload(&field(&answer.json(), "id_token"))
}

/// oidcc-prompt-login: a signed-in user asked with `prompt=login` is sent to the login form,
/// and back without `prompt`, so the fresh sign-in is not sent round again; its code's ID token
/// has a later `auth_time`.
#[tokio::test]
async fn prompt_login_sends_a_signed_in_user_through_the_form_again() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("login");
    let first = id_token_of(&app, &ask(&mut browser, &pkce, &[]).await, &pkce).await;

    app.advance(Duration::from_secs(5));
    let again = ask(&mut browser, &pkce, &[("prompt", "login")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let to = location(&again);
    assert!(
        again.header("location").unwrap().starts_with("/login?"),
        "{to}"
    );
    assert!(to.contains("next=/oauth/authorize?"), "{to}");
    assert!(
        !to.contains("prompt"),
        "the way back asks no second time: {to}"
    );

    browser.login("alice", "wonderland").await;
    let back = ask(&mut browser, &pkce, &[]).await;
    let second = id_token_of(&app, &back, &pkce).await;
    assert!(
        second["auth_time"].as_u64() > first["auth_time"].as_u64(),
        "{first} then {second}"
    );
}

/// oidcc-prompt-none-not-logged-in and -logged-in: no page, ever — an error through the
/// redirect without a session, a code at once with one; `none` with another value is invalid.
#[tokio::test]
async fn prompt_none_answers_through_the_redirect_and_never_shows_a_page() {
    let app = TestApp::new().await;
    let pkce = Pkce::new("none");
    let mut stranger = app.browser();
    let refused = ask(&mut stranger, &pkce, &[("prompt", "none")]).await;
    assert_eq!(param(&refused, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&refused, "state").as_deref(), Some("the-state"));
    assert!(refused
        .header("location")
        .unwrap()
        .starts_with("http://127.0.0.1:4711/callback?"));

    let (mut browser, _) = app.signed_in("alice").await;
    let silent = ask(&mut browser, &pkce, &[("prompt", "none")]).await;
    assert!(
        param(&silent, "code").is_some(),
        "{:?}",
        silent.header("location")
    );
    let mixed = ask(&mut browser, &pkce, &[("prompt", "none login")]).await;
    assert_eq!(param(&mixed, "error").as_deref(), Some("invalid_request"));
}

/// oidcc-max-age-1 and oidcc-max-age-10000: a sign-in older than `max_age` signs in again (or
/// `login_required` with `prompt=none`); a recent one gets a code whose ID token has
/// `auth_time`.
#[tokio::test]
async fn max_age_re_authenticates_an_older_sign_in_and_auth_time_is_in_the_id_token() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let signed_in_at = app.state.clock.now_ms() / 1000;
    let pkce = Pkce::new("max-age");
    let recent = ask(&mut browser, &pkce, &[("max_age", "10000")]).await;
    let id = id_token_of(&app, &recent, &pkce).await;
    assert_eq!(id["auth_time"].as_u64(), Some(signed_in_at));

    app.advance(Duration::from_secs(3));
    let old = ask(&mut browser, &pkce, &[("max_age", "1")]).await;
    assert!(old.header("location").unwrap().starts_with("/login?"));
    assert!(!location(&old).contains("max_age"));
    let silent = ask(&mut browser, &pkce, &[("max_age", "1"), ("prompt", "none")]).await;
    assert_eq!(param(&silent, "error").as_deref(), Some("login_required"));
    let bad = ask(&mut browser, &pkce, &[("max_age", "soon")]).await;
    assert_eq!(param(&bad, "error").as_deref(), Some("invalid_request"));
}

/// OpenID Connect Core §3.1.3.6 (oidcc-server's ID token checks): `at_hash` is the left half
/// of the access token's SHA-256, computed here independently.
#[tokio::test]
async fn the_id_token_carries_the_at_hash_of_its_access_token() {
    let app = TestApp::new().await;
    let answer = common::oidc::tokens(&app, "at-hash").await;
    let access = field(&answer, "access_token");
    let expected = URL_SAFE_NO_PAD.encode(&Sha256::digest(access.as_bytes())[..16]);
    assert_eq!(payload(&field(&answer, "id_token"))["at_hash"], expected);
}

/// oidcc-login-hint (Core §3.1.2.1): the hint reaches the login form's username field, and
/// parameters this provider does not use (`display`, `ui_locales`, `acr_values`, `claims_locales`,
/// an unknown one) change nothing.
#[tokio::test]
async fn login_hint_fills_in_the_username_and_unknown_parameters_are_ignored() {
    let app = TestApp::new().await;
    let pkce = Pkce::new("hint");
    let mut stranger = app.browser();
    let to_login = ask(&mut stranger, &pkce, &[("login_hint", "alice")]).await;
    let login_url = to_login.header("location").unwrap().to_owned();
    assert!(login_url.contains("login_hint=alice"), "{login_url}");
    let page = app
        .send(
            Request::get(&login_url)
                .header(header::HOST, HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let field_tag = |body: &str| {
        let start = body
            .find(r#"<input id="username""#)
            .expect("the username field");
        body[start..start + body[start..].find('>').unwrap()].to_owned()
    };
    assert!(
        field_tag(&page.body).contains(r#"value="alice""#),
        "{}",
        field_tag(&page.body)
    );
    let unhinted = app.get("/login", None).await;
    assert!(!field_tag(&unhinted.body).contains("alice"));

    let (mut browser, _) = app.signed_in("alice").await;
    let extras = [
        ("display", "popup"),
        ("ui_locales", "fr-CA fr en"),
        ("acr_values", "urn:mace:incommon:iap:silver"),
        ("claims_locales", "de"),
        ("something_new", "x"),
    ];
    let answered = ask(&mut browser, &pkce, &extras).await;
    assert!(
        param(&answered, "code").is_some(),
        "{:?}",
        answered.header("location")
    );
}

/// oidcc-userinfo-get, -post-header and -post-body (Core §5.3.1, RFC 6750 §2.1–2.2): the token
/// in the header with GET or POST, or in a form body with POST; in both at once is refused.
#[tokio::test]
async fn userinfo_takes_the_token_in_the_header_or_a_form_body() {
    let app = TestApp::new().await;
    let answer = common::oidc::tokens(&app, "userinfo").await;
    let access = field(&answer, "access_token");
    let userinfo = |method: &str, bearer: bool, body: Option<String>| {
        let mut request = Request::builder()
            .method(method)
            .uri("/oauth/userinfo")
            .header(header::HOST, HOST);
        if bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {access}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request.body(Body::from(body.unwrap_or_default())).unwrap();
        app.send(request)
    };
    for (method, bearer, body) in [
        ("GET", true, None),
        ("POST", true, None),
        ("POST", false, Some(format!("access_token={access}"))),
    ] {
        let response = userinfo(method, bearer, body).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{method} {bearer}: {}",
            response.body
        );
        assert_eq!(response.json()["sub"], "u-alice");
    }
    let both = userinfo("POST", true, Some(format!("access_token={access}"))).await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    let none = userinfo("POST", false, Some("other=1".into())).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let forged = userinfo("POST", false, Some("access_token=not-a-token".into())).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

/// oidcc-ensure-post-request-succeeds (Core §3.1.2.1: GET and POST) and
/// oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported (Core §6): a
/// form-posted authorization request is answered as the GET; a request object is refused with
/// `request_not_supported`, not silently ignored.
#[tokio::test]
async fn the_authorization_endpoint_takes_a_post_and_refuses_request_objects() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("post");
    let request = Request::post("/oauth/authorize")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(authorize_query(&pkce, &[])))
        .unwrap();
    let posted = browser.send(request).await;
    let id = id_token_of(&app, &posted, &pkce).await;
    assert_eq!(id["nonce"], "the-nonce");

    for (name, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let refused = ask(&mut browser, &pkce, &[(name, "eyJhbGciOiJub25lIn0.e30.")]).await;
        assert_eq!(param(&refused, "error").as_deref(), Some(error));
    }
}

/// RFC 9068 §2.2.1 (`auth_time` where known): the first-party session's access tokens carry
/// when its user signed in, the same after a refresh; an OAuth code's tokens carry the sign-in
/// the code was issued for.
#[tokio::test]
async fn access_tokens_say_when_their_user_signed_in() {
    let app = TestApp::new().await;
    let signed_in_at = app.state.clock.now_ms() / 1000;
    let mut browser = app.browser();
    let login = browser.login("alice", "wonderland").await;
    assert_eq!(
        payload(&login.access_token())["auth_time"].as_u64(),
        Some(signed_in_at)
    );
    app.advance(Duration::from_secs(30));
    let refreshed = browser.refresh().await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(
        payload(&refreshed.access_token())["auth_time"].as_u64(),
        Some(signed_in_at)
    );

    let pkce = Pkce::new("auth-time");
    let answered = ask(&mut browser, &pkce, &[]).await;
    let code = param(&answered, "code").expect("a code");
    let tokens = exchange(&app, &code, &pkce.verifier).await.json();
    assert_eq!(
        payload(&field(&tokens, "access_token"))["auth_time"].as_u64(),
        Some(signed_in_at)
    );
}
