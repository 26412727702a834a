#![cfg(feature = "ssr")]
//! `USERS_FILE` over HTTP (issue #31): the file's users sign in instead of the built-in ones,
//! and their own claims reach OIDC clients by scope — `email` with `email`, `department` with
//! `profile` — in userinfo and ID tokens. The file is `examples/users.json`, so the sample
//! stays valid.

mod common;

use axum::http::StatusCode;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::Value;

use common::{
    oidc::{authorize, authorize_query, exchange, field, param, Pkce},
    TestApp,
};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/users.json");

async fn app() -> TestApp {
    TestApp::with_env(&[("USERS_FILE", EXAMPLE)]).await
}

/// The code flow for `username`, asking for `scope`: the token response.
async fn tokens_for(app: &TestApp, username: &str, password: &str, scope: &str) -> Value {
    let mut browser = app.browser();
    let login = browser.login(username, password).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let pkce = Pkce::new(scope);
    let query = authorize_query(&pkce, &[("scope", scope)]);
    let response = authorize(&mut browser, &query).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    let code = param(&response, "code").expect("a code");
    let answer = exchange(app, &code, &pkce.verifier).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()
}

/// A JWT's claims, unchecked: the signature is `tests/oidc.rs`'s business.
fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn carol_signs_in_with_her_plain_password_and_gets_her_roles() {
    let app = app().await;
    let response = app.browser().login("carol", "carol-pass-123").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let user = &response.json()["user"];
    assert_eq!(user["id"], "u-carol");
    assert_eq!(user["username"], "carol");
    assert_eq!(user["roles"], serde_json::json!(["user"]));
    let wrong = app.browser().login("carol", "carol-pass-124").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn dave_signs_in_with_the_password_behind_his_hash() {
    let app = app().await;
    let response = app.browser().login("dave", "dave-pass-456").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(
        response.json()["user"]["roles"],
        serde_json::json!(["user", "admin"])
    );
    let token = response.access_token();
    assert_eq!(
        app.get("/api/admin/stats", Some(&token)).await.status,
        StatusCode::OK,
        "his admin role opens the admin API"
    );
}

#[tokio::test]
async fn the_built_in_users_are_unknown_when_a_file_is_given() {
    let app = app().await;
    for (username, password) in [("alice", "wonderland"), ("admin", "admin-secret")] {
        let response = app.browser().login(username, password).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{username}");
        assert_eq!(response.error_code(), "invalid_credentials");
    }
}

#[tokio::test]
async fn userinfo_gives_email_only_with_the_email_scope_and_department_with_profile() {
    let app = app().await;
    let userinfo = |scope: &'static str| {
        let app = &app;
        async move {
            let answer = tokens_for(app, "carol", "carol-pass-123", scope).await;
            assert_eq!(answer["scope"], scope);
            let access = field(&answer, "access_token");
            let response = app.get("/oauth/userinfo", Some(&access)).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.body);
            response.json()
        }
    };
    let bare = userinfo("openid").await;
    assert_eq!(
        (bare["sub"].as_str(), bare["name"].as_str()),
        (Some("u-carol"), Some("carol"))
    );
    assert_eq!(bare["roles"], serde_json::json!(["user"]));
    for claim in [
        "email",
        "email_verified",
        "department",
        "given_name",
        "locale",
    ] {
        assert!(
            bare.get(claim).is_none(),
            "{claim} without its scope: {bare}"
        );
    }
    let email = userinfo("openid email").await;
    assert_eq!(email["email"], "carol@example.test");
    assert_eq!(email["email_verified"], true);
    assert!(email.get("department").is_none(), "{email}");
    assert_eq!(email["name"], "carol", "her own name needs profile");
    let profile = userinfo("openid profile").await;
    assert_eq!(profile["department"], "qa");
    assert_eq!(
        (profile["name"].as_str(), profile["given_name"].as_str()),
        (Some("Carol Quinn"), Some("Carol"))
    );
    assert!(profile.get("email").is_none(), "{profile}");
    assert_eq!(profile["preferred_username"], "carol");
    let both = userinfo("openid profile email").await;
    assert_eq!(
        (both["email"].as_str(), both["department"].as_str()),
        (Some("carol@example.test"), Some("qa"))
    );
}

#[tokio::test]
async fn phone_and_address_come_with_their_own_scopes() {
    let app = app().await;
    let answer = tokens_for(&app, "dave", "dave-pass-456", "openid phone").await;
    let access = field(&answer, "access_token");
    let info = app.get("/oauth/userinfo", Some(&access)).await.json();
    assert_eq!(info["phone_number"], "+64 21 555 0100");
    assert!(
        info.get("address").is_none() && info.get("email").is_none(),
        "{info}"
    );
    let answer = tokens_for(&app, "dave", "dave-pass-456", "openid address").await;
    let access = field(&answer, "access_token");
    let info = app.get("/oauth/userinfo", Some(&access)).await.json();
    assert_eq!(info["address"]["country"], "NZ");
    assert!(info.get("phone_number").is_none(), "{info}");
}

#[tokio::test]
async fn an_id_token_carries_the_claims_its_scope_releases_and_no_others() {
    let app = app().await;
    let answer = tokens_for(&app, "carol", "carol-pass-123", "openid").await;
    let claims = payload(&field(&answer, "id_token"));
    assert_eq!(claims["sub"], "u-carol");
    assert_eq!(claims["preferred_username"], "carol");
    assert!(
        claims.get("email").is_none() && claims.get("department").is_none(),
        "{claims}"
    );
    let minted = |scope| {
        let app = &app;
        async move {
            payload(&field(
                &tokens_for(app, "carol", "carol-pass-123", scope).await,
                "id_token",
            ))
        }
    };
    let email = minted("openid email").await;
    assert_eq!(email["email"], "carol@example.test");
    assert!(email.get("department").is_none(), "{email}");
    let profile = minted("openid profile").await;
    assert_eq!(
        (profile["department"].as_str(), profile["name"].as_str()),
        (Some("qa"), Some("Carol Quinn"))
    );
    assert!(profile.get("email").is_none(), "{profile}");
    assert_eq!(
        profile["sub"], "u-carol",
        "the provider's claims stay its own"
    );
}

#[tokio::test]
async fn discovery_offers_the_claim_scopes() {
    let app = app().await;
    let config = app
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    for scope in ["openid", "profile", "email", "phone", "address"] {
        assert!(
            config["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&scope.into()),
            "{scope}"
        );
    }
    let claims = config["claims_supported"].as_array().unwrap();
    for claim in [
        "email",
        "email_verified",
        "phone_number",
        "address",
        "given_name",
    ] {
        assert!(claims.contains(&claim.into()), "{claim}");
    }
}

/// The login page lists the built-in users' passwords only while they are the users: with a
/// file, `alice` and `wonderland` would be a false promise.
#[tokio::test]
async fn the_login_page_shows_the_built_in_users_only_without_a_file() {
    let with_file = app().await.browser().get_page("/login").await;
    assert_eq!(with_file.status, StatusCode::OK);
    assert!(!with_file.body.contains("wonderland"), "{}", with_file.body);
    let built_in = TestApp::with_env(&[])
        .await
        .browser()
        .get_page("/login")
        .await;
    assert!(built_in.body.contains("wonderland"), "{}", built_in.body);
}

/// `ACCESS_TOKEN_CLAIMS` (issue #31 point 3): the claims the operator names ride in access
/// tokens — all of them in the first-party session's, only those the scope releases in an OAuth
/// client's — and none without the variable.
#[tokio::test]
async fn access_tokens_carry_the_claims_the_operator_names_by_scope() {
    let named = TestApp::with_env(&[
        ("USERS_FILE", EXAMPLE),
        ("ACCESS_TOKEN_CLAIMS", "email,department"),
    ])
    .await;
    let app = &named;
    let login = app.browser().login("carol", "carol-pass-123").await;
    let first_party = payload(&login.access_token());
    assert_eq!(first_party["email"], "carol@example.test");
    assert_eq!(first_party["department"], "qa");
    assert!(first_party.get("email_verified").is_none(), "not named");
    assert_eq!(
        app.get("/api/me", Some(&login.access_token())).await.status,
        StatusCode::OK,
        "a token with claims is accepted like any other"
    );

    let oauth = payload(&field(
        &tokens_for(app, "carol", "carol-pass-123", "openid email").await,
        "access_token",
    ));
    assert_eq!(oauth["email"], "carol@example.test");
    assert!(oauth.get("department").is_none(), "profile not granted");

    let plain = TestApp::with_env(&[("USERS_FILE", EXAMPLE)]).await;
    let login = plain.browser().login("carol", "carol-pass-123").await;
    assert!(payload(&login.access_token()).get("email").is_none());
}
