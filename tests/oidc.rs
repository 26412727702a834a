//! The OpenID Connect provider over HTTP: discovery and JWKS, the code flow with PKCE, OAuth
//! refresh tokens as refresh families (on every store backend), userinfo, revocation,
//! introspection, RP-initiated logout and the demo's faults on an OAuth client's session.

#[macro_use]
mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
use serde_json::{json, Value};

use common::{
    oidc::{
        authorize, authorize_query, clients_file, exchange, field, machine_token, param, post_form,
        refresh, tokens, Pkce, CLIENT, CONFIDENTIAL, CONFIDENTIAL_SECRET, HOST, ISSUER, MACHINE,
        REDIRECT,
    },
    TestApp,
};

async fn get_json(app: &TestApp, path: &str) -> Value {
    let request = Request::get(path)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    response.json()
}

/// A token's signature and claims checked with the published JWKS alone, as a resource
/// server elsewhere would.
async fn verify_with_jwks(app: &TestApp, token: &str, audience: &str) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(get_json(app, "/.well-known/jwks.json").await).unwrap();
    let kid = decode_header(token).unwrap().kid.expect("a kid");
    let jwk = jwks.find(&kid).expect("the kid is published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.validate_exp = false; // the manual clock is not the wall clock
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("verifies with the JWKS")
        .claims
}

#[tokio::test]
async fn discovery_names_every_endpoint_and_offers_s256_only() {
    let app = TestApp::new().await;
    let config = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(config["issuer"], ISSUER);
    for (key, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(config[key], format!("{ISSUER}{path}"), "{key}");
    }
    assert_eq!(config["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        config["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(config["response_types_supported"], json!(["code"]));
    assert_eq!(
        config["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    // RFC 6749 §2.3.1: both secret methods (RFC 8414 §2 names the metadata).
    let methods = json!(["none", "client_secret_basic", "client_secret_post"]);
    assert_eq!(config["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(
        config["revocation_endpoint_auth_methods_supported"],
        methods
    );
    assert_eq!(
        config["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test]
async fn the_issuer_is_public_origin_when_set() {
    let app = TestApp::with_env(&[("PUBLIC_ORIGIN", "https://id.example")]).await;
    let config = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(config["issuer"], "https://id.example");
    assert_eq!(config["token_endpoint"], "https://id.example/oauth/token");
}

#[tokio::test]
async fn the_first_party_access_token_is_es256_and_verifies_with_the_jwks_alone() {
    let app = TestApp::new().await;
    let (_, token) = app.signed_in("alice").await;
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let claims = verify_with_jwks(&app, &token, "tokenflight-api").await;
    assert_eq!(claims["sub"], "u-alice");
    let jwks = get_json(&app, "/.well-known/jwks.json").await;
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");
}

#[tokio::test]
async fn a_visitor_without_a_session_goes_to_the_login_page_and_back() {
    let app = TestApp::new().await;
    let mut browser = app.browser();
    let pkce = Pkce::new("login");
    let query = authorize_query(&pkce, &[]);
    let response = authorize(&mut browser, &query).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let location = response.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("/login?next=%2Foauth%2Fauthorize%3F")
            || location.starts_with("/login?next=/oauth/authorize%3F"),
        "{location}"
    );
    let next: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    assert_eq!(next[0].1, format!("/oauth/authorize?{query}"));
    // The form login, as a browser posts it, then the `next` it redirects to.
    let form = serde_urlencoded::to_string([
        ("username", "alice"),
        ("password", "wonderland"),
        ("next", next[0].1.as_str()),
    ])
    .unwrap();
    let login = Request::post("/rpc/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(form))
        .unwrap();
    let signed_in = browser.send(login).await;
    assert_eq!(
        signed_in.header("location"),
        Some(next[0].1.as_str()),
        "{}",
        signed_in.body
    );
    let back = authorize(&mut browser, &query).await;
    assert!(back.header("location").unwrap().starts_with(REDIRECT));
    assert_eq!(param(&back, "state").as_deref(), Some("the-state"));
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
    assert!(param(&back, "code").is_some());
}

#[tokio::test]
async fn the_code_flow_gives_tokens_that_work_on_the_api_and_an_id_token_with_the_nonce() {
    let app = TestApp::new().await;
    let answer = tokens(&app, "flow").await;
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "openid profile");
    assert_eq!(answer["expires_in"], 60);
    let access = field(&answer, "access_token");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::OK
    );
    let id = verify_with_jwks(&app, &field(&answer, "id_token"), CLIENT).await;
    assert_eq!(
        (id["iss"].as_str(), id["nonce"].as_str()),
        (Some(ISSUER), Some("the-nonce"))
    );
    assert_eq!(id["sub"], "u-alice");
    let userinfo = app.get("/oauth/userinfo", Some(&access)).await;
    assert_eq!(userinfo.json()["sub"], "u-alice");
    assert_eq!(userinfo.json()["preferred_username"], "alice");
}

for_each_backend! {
    use common::oidc::{tokens, refresh, field};
    use std::time::Duration;
    use axum::http::StatusCode;

    /// The same family semantics as the cookie: rotation, the grace window answering with the
    /// same successor, reuse revoking the family and its access tokens.
    #[tokio::test]
    async fn oauth_refresh_tokens_rotate_replay_in_grace_and_revoke_on_reuse() {
        let app = app().await;
        let first = tokens(&app, "family").await;
        let first_refresh = field(&first, "refresh_token");
        let second = refresh(&app, &first_refresh).await.json();
        let second_refresh = field(&second, "refresh_token");
        assert_ne!(first_refresh, second_refresh, "rotated");
        let replay = refresh(&app, &first_refresh).await;
        assert_eq!(replay.status, StatusCode::OK, "inside the grace window");
        assert_eq!(field(&replay.json(), "refresh_token"), second_refresh, "the same successor");
        app.advance(Duration::from_secs(11));
        let reuse = refresh(&app, &first_refresh).await;
        assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
        assert_eq!(reuse.json()["error"], "invalid_grant");
        assert_eq!(refresh(&app, &second_refresh).await.json()["error"], "invalid_grant");
        let access = field(&second, "access_token");
        assert_eq!(app.get("/api/me", Some(&access)).await.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn an_oauth_family_ends_with_the_idle_timeout() {
        let app = app_with(&[("SESSION_IDLE_TIMEOUT_SECS", "60")]).await;
        let answer = tokens(&app, "idle").await;
        app.advance(Duration::from_secs(61));
        let late = refresh(&app, &field(&answer, "refresh_token")).await;
        assert_eq!(late.json()["error"], "invalid_grant");
    }
}

#[tokio::test]
async fn revoking_the_refresh_token_ends_the_family_and_introspection_says_so_at_once() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let answer = tokens(&app, "revoke").await;
    let (access, refresh_token) = (
        field(&answer, "access_token"),
        field(&answer, "refresh_token"),
    );
    let basic = Some((CONFIDENTIAL, CONFIDENTIAL_SECRET));
    let introspect = |token: String| {
        let app = &app;
        async move {
            post_form(app, "/oauth/introspect", &[("token", &token)], basic)
                .await
                .json()
        }
    };
    let before = introspect(access.clone()).await;
    assert_eq!(before["active"], true);
    assert_eq!(
        (before["client_id"].as_str(), before["sub"].as_str()),
        (Some(CLIENT), Some("u-alice"))
    );
    assert_eq!(before["scope"], "openid profile");
    assert_eq!(introspect(refresh_token.clone()).await["active"], true);
    let revoked = post_form(
        &app,
        "/oauth/revoke",
        &[("token", &refresh_token), ("client_id", CLIENT)],
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(introspect(access.clone()).await, json!({"active": false}));
    assert_eq!(
        introspect(refresh_token.clone()).await,
        json!({"active": false})
    );
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &refresh_token).await.json()["error"],
        "invalid_grant"
    );
    let unknown = post_form(
        &app,
        "/oauth/revoke",
        &[("token", "nonsense"), ("client_id", CLIENT)],
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK, "RFC 7009 §2.2");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_returns_to_a_registered_address() {
    let app = TestApp::new().await;
    let answer = tokens(&app, "logout").await;
    let query = serde_urlencoded::to_string([
        ("id_token_hint", field(&answer, "id_token").as_str()),
        (
            "post_logout_redirect_uri",
            "http://127.0.0.1:4711/signed-out",
        ),
        ("state", "bye"),
    ])
    .unwrap();
    let response = app.get(&format!("/oauth/logout?{query}"), None).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(
        response.header("location"),
        Some("http://127.0.0.1:4711/signed-out?state=bye")
    );
    let access = field(&answer, "access_token");
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Point 6 of #26: a developer drives the demo's fault controls with their own client's token.
#[tokio::test]
async fn the_fault_controls_act_on_an_oauth_clients_session() {
    let app = TestApp::new().await;
    let answer = tokens(&app, "faults").await;
    let access = field(&answer, "access_token");
    let faults = app
        .post_json(
            "/api/demo/faults",
            Some(&access),
            json!({"failing_refreshes": 1}),
        )
        .await;
    assert_eq!(faults.status, StatusCode::OK);
    let failed = refresh(&app, &field(&answer, "refresh_token")).await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failed.json()["error"], "temporarily_unavailable");
    let renewed = refresh(&app, &field(&answer, "refresh_token")).await;
    assert_eq!(renewed.status, StatusCode::OK, "the next one works");
    let access = field(&renewed.json(), "access_token");
    let expired = app
        .post_json("/api/demo/expire-access", Some(&access), json!({}))
        .await;
    assert_eq!(expired.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_code_lives_at_most_sixty_seconds() {
    let app = TestApp::new().await;
    let (code, pkce) = common::oidc::code_for(&app, "late").await;
    app.advance(Duration::from_secs(60));
    let late = exchange(&app, &code, &pkce.verifier).await;
    assert_eq!(late.json()["error"], "invalid_grant");
}

/// Chromium applies the login page's `form-action 'self'` to the whole redirect chain of the
/// form post, so after our own form the client is reached by a page that moves on by itself.
#[tokio::test]
async fn after_our_login_form_the_client_is_reached_through_a_continue_page() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let query = authorize_query(&Pkce::new("continue"), &[]);
    let request = Request::get(format!("/oauth/authorize?{query}"))
        .header(header::HOST, HOST)
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    let response = browser.send(request).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("location").is_none());
    let refresh = format!("<meta http-equiv=\"refresh\" content=\"0;url={REDIRECT}?code=");
    assert!(response.body.contains(&refresh), "{}", response.body);
    assert!(response.body.contains("&amp;state=the-state&amp;iss="));
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

/// RFC 7662 with #26 §5: `active: false` at once after reuse detection and after RP-initiated
/// logout, not only after revocation.
#[tokio::test]
async fn introspection_says_inactive_at_once_after_reuse_and_after_logout() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let introspect = |token: String| {
        let app = &app;
        async move {
            let basic = Some((CONFIDENTIAL, CONFIDENTIAL_SECRET));
            post_form(app, "/oauth/introspect", &[("token", &token)], basic)
                .await
                .json()["active"]
                .clone()
        }
    };
    // Reuse: a rotated-away refresh token outside the grace window.
    let first = tokens(&app, "reuse-introspect").await;
    let second = refresh(&app, &field(&first, "refresh_token")).await.json();
    assert_eq!(introspect(field(&second, "access_token")).await, true);
    app.advance(Duration::from_secs(11));
    let _ = refresh(&app, &field(&first, "refresh_token")).await;
    assert_eq!(introspect(field(&second, "access_token")).await, false);
    assert_eq!(introspect(field(&second, "refresh_token")).await, false);
    // RP-initiated logout.
    let signed_in = tokens(&app, "logout-introspect").await;
    let query =
        serde_urlencoded::to_string([("id_token_hint", field(&signed_in, "id_token").as_str())])
            .unwrap();
    let logout = app.get(&format!("/oauth/logout?{query}"), None).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(introspect(field(&signed_in, "access_token")).await, false);
    assert_eq!(introspect(field(&signed_in, "refresh_token")).await, false);
    let _ = std::fs::remove_file(file);
}

/// RFC 6749 §4.4 with RFC 9068 §2.2: a machine client gets an access token of its own — `sub`
/// its client id, no refresh token (§4.4.3), no ID token — which introspection calls active
/// for it, and which its revocation ends.
#[tokio::test]
async fn the_client_credentials_grant_gives_a_machine_client_an_access_token_of_its_own() {
    let file = clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let response = machine_token(&app).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let answer = response.json();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 60);
    for absent in ["refresh_token", "id_token"] {
        assert!(answer.get(absent).is_none(), "{absent} in {answer}");
    }
    let access = field(&answer, "access_token");
    let claims = verify_with_jwks(&app, &access, "tokenflight-api").await;
    assert_eq!(claims["sub"], MACHINE);
    let basic = Some((MACHINE, CONFIDENTIAL_SECRET));
    let introspect = |token: String| {
        let app = &app;
        async move {
            post_form(app, "/oauth/introspect", &[("token", &token)], basic)
                .await
                .json()
        }
    };
    let live = introspect(access.clone()).await;
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(
        (live["sub"].as_str(), live["client_id"].as_str()),
        (Some(MACHINE), Some(MACHINE))
    );
    let revoked = post_form(&app, "/oauth/revoke", &[("token", &access)], basic).await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(introspect(access).await, json!({"active": false}));
    let _ = std::fs::remove_file(file);
}
