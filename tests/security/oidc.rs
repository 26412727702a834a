//! Attacks on the OpenID Connect provider (issue #26): authorization codes, PKCE, redirect URIs,
//! client authentication, token confusion between the ES256 keys and HS256, CORS.

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::Value;

use crate::common::{
    oidc::{
        authorize, authorize_query, clients_file, code_for, exchange, field, post_form, refresh,
        tokens, Pkce, CLIENT, CONFIDENTIAL, CONFIDENTIAL_REDIRECT, CONFIDENTIAL_SECRET, REDIRECT,
        REFRESH_ONLY,
    },
    TestApp,
};

/// The claims of a live token, to re-sign under a forged header.
fn claims_of(app: &TestApp, token: &str) -> Value {
    serde_json::to_value(&*app.state.tokens.verify(token).unwrap()).unwrap()
}

/// RFC 6749 §4.1.2 ("If an authorization code is used more than once, the authorization server
/// MUST deny the request and SHOULD revoke all tokens previously issued based on that code").
#[tokio::test]
async fn authorization_code_reuse_is_refused_and_revokes_what_the_first_use_issued() {
    let app = TestApp::new().await;
    let (code, pkce) = code_for(&app, "reuse").await;
    let first = exchange(&app, &code, &pkce.verifier).await.json();
    let second = exchange(&app, &code, &pkce.verifier).await;
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.error_code(), "invalid_grant");
    let access = field(&first, "access_token");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &field(&first, "refresh_token"))
            .await
            .error_code(),
        "invalid_grant"
    );
}

/// RFC 6749 §4.1.3 ("ensure that the authorization code was issued to the authenticated
/// confidential client, or … to the client identified by client_id").
#[tokio::test]
async fn a_code_presented_by_another_client_is_refused() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (code, pkce) = code_for(&app, "other-client").await;
    let stolen = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &pkce.verifier),
        ],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(stolen.error_code(), "invalid_grant");
    let rightful = exchange(&app, &code, &pkce.verifier).await;
    assert_eq!(
        rightful.status,
        StatusCode::OK,
        "the attempt did not spend the code"
    );
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §4.1.3 ("ensure that the redirect_uri parameter is present … and that their
/// values are identical").
#[tokio::test]
async fn a_code_with_another_redirect_uri_is_refused() {
    let app = TestApp::new().await;
    let (code, pkce) = code_for(&app, "other-redirect").await;
    let response = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:4711/elsewhere"),
            ("code_verifier", &pkce.verifier),
        ],
        None,
    )
    .await;
    assert_eq!(response.error_code(), "invalid_grant");
}

/// RFC 7636 §4.4.1 and RFC 9700 §2.1.1 (PKCE required): no challenge, no code.
#[tokio::test]
async fn an_authorization_request_without_pkce_is_refused() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("none");
    let query = authorize_query(
        &pkce,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    );
    let response = authorize(&mut browser, &query).await;
    let location = response.header("location").unwrap();
    assert!(location.starts_with(REDIRECT) && location.contains("error=invalid_request"));
    assert!(!location.contains("code="), "{location}");
}

/// RFC 9700 §2.1.1 ("use PKCE code challenge method S256"; `plain` exposes the verifier).
#[tokio::test]
async fn the_plain_pkce_method_is_refused() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("plain");
    let query = authorize_query(
        &pkce,
        &[
            ("code_challenge", &pkce.verifier),
            ("code_challenge_method", "plain"),
        ],
    );
    let location = authorize(&mut browser, &query)
        .await
        .header("location")
        .unwrap()
        .to_owned();
    assert!(location.contains("error=invalid_request") && !location.contains("code="));
}

/// RFC 7636 §4.6 (the server compares the verifier's S256 with the challenge) and §1 (a code
/// intercepted without its verifier is worthless).
#[tokio::test]
async fn a_wrong_or_missing_code_verifier_is_refused() {
    let app = TestApp::new().await;
    let (code, pkce) = code_for(&app, "verifier").await;
    let wrong = exchange(&app, &code, &Pkce::new("someone-else").verifier).await;
    assert_eq!(wrong.error_code(), "invalid_grant");
    let missing = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
        None,
    )
    .await;
    assert_eq!(missing.error_code(), "invalid_request");
    assert_eq!(
        exchange(&app, &code, &pkce.verifier).await.status,
        StatusCode::OK
    );
}

/// RFC 6749 §4.1.2.1 and RFC 9700 §4.1 (open redirector): an unregistered `redirect_uri` gets an
/// error page, never a redirect — with or without a session.
#[tokio::test]
async fn open_redirect_through_redirect_uri_gets_an_error_page() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let pkce = Pkce::new("open-redirect");
    for target in [
        "https://evil.example/callback",
        "http://127.0.0.1.evil.example:4711/callback",
        "http://127.0.0.1:4711/callback#fragment",
    ] {
        let query = authorize_query(&pkce, &[("redirect_uri", target)]);
        let response = authorize(&mut browser, &query).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{target}");
        assert!(response.header("location").is_none(), "{target}");
        assert!(response.body.contains("not registered"));
    }
}

/// RFC 6749 §4.1.2.1 ("the authorization server … MUST NOT automatically redirect the user-agent
/// to the invalid redirection URI" when the client is unknown).
#[tokio::test]
async fn an_unknown_client_gets_an_error_page() {
    let app = TestApp::new().await;
    let mut browser = app.browser();
    let query = authorize_query(&Pkce::new("unknown"), &[("client_id", "nobody")]);
    let response = authorize(&mut browser, &query).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.header("location").is_none());
}

/// OpenID Connect RP-Initiated Logout 1.0 §3 (`post_logout_redirect_uri` must have been
/// registered) — otherwise logout is an open redirector.
#[tokio::test]
async fn open_redirect_through_post_logout_redirect_uri_is_refused() {
    let app = TestApp::new().await;
    let answer = tokens(&app, "logout-redirect").await;
    let query = serde_urlencoded::to_string([
        ("id_token_hint", field(&answer, "id_token").as_str()),
        ("post_logout_redirect_uri", "https://evil.example/"),
    ])
    .unwrap();
    let response = app.get(&format!("/oauth/logout?{query}"), None).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(response.header("location").is_none());
    let access = field(&answer, "access_token");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::OK,
        "nothing ended"
    );
}

/// RFC 8725 §3.1 ("algorithm verification") and §2.1: an HS256 token "signed" with the ES256
/// public key as the HMAC secret, under the ES256 key's `kid`, is refused.
#[tokio::test]
async fn hs256_token_signed_with_the_public_key_is_refused() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let claims = claims_of(&app, &token);
    let jwk = app.state.oidc.jwks[0].clone();
    let header = Header {
        typ: Some("at+jwt".into()),
        kid: Some(jwk.kid.clone()),
        ..Header::new(Algorithm::HS256)
    };
    let jwk_text = serde_json::to_string(&jwk).unwrap();
    let x_then_y = format!("{}{}", jwk.x, jwk.y);
    for secret in [jwk_text.as_bytes(), x_then_y.as_bytes()] {
        let forged = encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(
            app.get("/api/me", Some(&forged)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// RFC 7515 §4.1.4 (`kid`) and RFC 8725 §3.10 (no key chosen by the token): a `kid` that names
/// no published key, or a key URL of the attacker's (`jku`), is refused.
#[tokio::test]
async fn a_kid_pointing_nowhere_is_refused() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let (head, rest) = token.split_once('.').unwrap();
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let mut header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    for kid in ["../../etc/passwd", "", "not-a-key"] {
        header["kid"] = kid.into();
        let forged = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
        assert_eq!(
            app.get("/api/me", Some(&forged)).await.status,
            StatusCode::UNAUTHORIZED,
            "{kid}"
        );
    }
}

/// RFC 6749 §6 (the refresh token is a parameter of the request) and §3.2: the token endpoint
/// reads no cookie, so a browser's ambient first-party refresh cookie refreshes nothing there.
#[tokio::test]
async fn the_token_endpoint_with_cookies_only_refreshes_nothing() {
    let app = TestApp::new().await;
    let (browser, _) = app.signed_in("alice").await;
    let request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, browser.cookie_header())
        .body(Body::from(
            "grant_type=refresh_token&client_id=tokenflight-public",
        ))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "invalid_request");
    // And the cookie's credential as a parameter: the first-party family is not this client's.
    let cookie = browser.refresh_cookie().unwrap();
    assert_eq!(refresh(&app, &cookie).await.error_code(), "invalid_grant");
}

/// Fetch Standard §3.2.5 (CORS with credentials) and RFC 6749 §3.2 (browser clients): the
/// endpoints a browser client calls cross-origin answer CORS for any origin, but never grant
/// credentials, so no page can ride a user's cookies there.
#[tokio::test]
async fn cors_never_grants_credentials() {
    let app = TestApp::new().await;
    for path in [
        "/oauth/token",
        "/.well-known/jwks.json",
        "/oauth/userinfo",
        "/oauth/revoke",
    ] {
        let preflight = Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap();
        let response = app.send(preflight).await;
        assert!(
            response.status.is_success(),
            "{path}: {} {}",
            response.status,
            response.body
        );
        assert_eq!(
            response.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
        assert!(
            response
                .header("access-control-allow-credentials")
                .is_none(),
            "{path}"
        );
    }
    // The cookie endpoints and the login form grant no cross-origin access at all.
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/auth/refresh")
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    assert!(app
        .send(preflight)
        .await
        .header("access-control-allow-origin")
        .is_none());
}

/// RFC 7662 §2.1 ("the protected resource MUST also be authorized to call the introspection
/// endpoint") and §4 (token scanning): no client authentication, or a public client, learns
/// nothing.
#[tokio::test]
async fn introspection_without_client_authentication_is_refused() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let answer = tokens(&app, "introspect").await;
    let token = field(&answer, "access_token");
    let anonymous = post_form(&app, "/oauth/introspect", &[("token", &token)], None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.error_code(), "invalid_client");
    let public = post_form(
        &app,
        "/oauth/introspect",
        &[("token", &token), ("client_id", CLIENT)],
        None,
    )
    .await;
    assert_eq!(public.status, StatusCode::UNAUTHORIZED);
    let wrong_secret = post_form(
        &app,
        "/oauth/introspect",
        &[("token", &token)],
        Some((CONFIDENTIAL, "guess-guess-guess")),
    )
    .await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_secret
        .header("www-authenticate")
        .is_some_and(|c| c.starts_with("Basic")));
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §6 ("the authorization server MUST … validate the refresh token … [was] issued to
/// the authenticated client"): another client's refresh token is refused — and not spent.
#[tokio::test]
async fn a_refresh_token_of_another_client_is_refused_and_not_spent() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let answer = tokens(&app, "other-refresh").await;
    let refresh_token = field(&answer, "refresh_token");
    let stolen = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
        Some((CONFIDENTIAL, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(stolen.error_code(), "invalid_grant");
    assert_eq!(
        refresh(&app, &refresh_token).await.status,
        StatusCode::OK,
        "still the owner's"
    );
    // Nor does the first-party cookie endpoint take an OAuth client's refresh token.
    let cookie = format!("tf_refresh={refresh_token}");
    let as_cookie = app.post_with_cookies("/api/auth/refresh", &cookie).await;
    assert_eq!(as_cookie.error_code(), "invalid_grant");
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §2.3.1 and §5.2 (`invalid_client`, 401): a confidential client must authenticate,
/// and cannot pass for a public one by leaving its secret out.
#[tokio::test]
async fn a_confidential_client_without_its_secret_is_invalid_client() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let response = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CONFIDENTIAL),
            ("refresh_token", "x"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_client");
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §3.1 and §3.2 ("Request and response parameters MUST NOT be included more than
/// once"; form bodies only): ambiguous or non-form requests are `invalid_request`, never a 500.
#[tokio::test]
async fn repeated_parameters_and_non_form_bodies_are_invalid_request() {
    let app = TestApp::new().await;
    let repeated = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=refresh_token&grant_type=authorization_code&client_id=tokenflight-public",
        ))
        .unwrap();
    let response = app.send(repeated).await;
    assert_eq!(
        (response.status, response.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let json = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"grant_type":"refresh_token"}"#))
        .unwrap();
    assert_eq!(app.send(json).await.error_code(), "invalid_request");
    let huge = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("client_id={}", "a".repeat(64 * 1024))))
        .unwrap();
    let response = app.send(huge).await;
    assert_eq!(
        (response.status, response.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let unknown_grant = post_form(
        &app,
        "/oauth/token",
        &[("grant_type", "password"), ("client_id", CLIENT)],
        None,
    )
    .await;
    assert_eq!(unknown_grant.error_code(), "unsupported_grant_type");
}

/// RFC 6749 §5.2 (`unauthorized_client`: "the authenticated client is not authorized to use
/// this authorization grant type"): a client registered for the refresh grant only cannot
/// redeem a code, even its own.
#[tokio::test]
async fn a_grant_the_client_is_not_registered_for_is_unauthorized_client() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let response = post_form(
        &app,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", "whatever"),
            ("redirect_uri", CONFIDENTIAL_REDIRECT),
            ("code_verifier", &Pkce::new("x").verifier),
        ],
        Some((REFRESH_ONLY, CONFIDENTIAL_SECRET)),
    )
    .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), "unauthorized_client");
    let _ = std::fs::remove_file(file);
}
