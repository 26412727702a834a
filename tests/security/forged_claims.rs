//! What someone holding the signing key (a leaked `JWT_SECRET`, a readable store file) can still
//! not do: tokens from the future, `crit` extensions, a `sid` that is not the subject's live
//! session, refresh credentials spelled another way than the server writes them.

use axum::http::StatusCode;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use jsonwebtoken::{encode, EncodingKey};
use serde_json::{json, Value};
use sha2::Sha256;
use tokenflight::server::core::{keys::KeyRing, tokens::AccessClaims};

use crate::{
    common::TestApp,
    tokens::{access_key, our_header, SECRET},
};

async fn claims_of(app: &TestApp, username: &str) -> AccessClaims {
    let (_, token) = app.signed_in(username).await;
    AccessClaims::clone(&app.state.tokens.verify(&token).unwrap())
}

/// `claims` with `changes` merged in, signed with the app's real key and header.
fn mint(claims: &AccessClaims, changes: Value) -> String {
    let mut payload = serde_json::to_value(claims).unwrap();
    for (name, value) in changes.as_object().unwrap() {
        payload[name] = value.clone();
    }
    let key = access_key(SECRET);
    encode(&our_header(&key), &payload, &EncodingKey::from_secret(&key)).unwrap()
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/me", Some(token)).await.status
}

/// RFC 7519 §4.1.5 (`nbf`: must not be accepted before it) and §4.1.6 (`iat`): a token that is
/// not valid yet, or says it was issued in the future, is refused — ours never are.
#[tokio::test]
async fn access_token_not_yet_valid_or_issued_in_the_future_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = claims_of(&app, "alice").await;
    assert_eq!(me(&app, &mint(&claims, json!({}))).await, StatusCode::OK);
    let later = claims.iat + 3600;
    for changes in [json!({ "nbf": later }), json!({ "iat": later })] {
        let token = mint(&claims, changes.clone());
        assert_eq!(
            me(&app, &token).await,
            StatusCode::UNAUTHORIZED,
            "{changes}"
        );
    }
    let past = mint(&claims, json!({ "nbf": claims.iat }));
    assert_eq!(me(&app, &past).await, StatusCode::OK, "nbf now is fine");
}

/// RFC 7515 §4.1.11 (`crit`: extensions the recipient does not understand make the JWS
/// invalid) and RFC 8725 §3.1: we understand none, so any `crit` header is refused.
#[tokio::test]
async fn crit_header_naming_an_unknown_extension_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = claims_of(&app, "alice").await;
    let key = access_key(SECRET);
    let mut header = our_header(&key);
    header.crit = Some(vec!["exp".into()]);
    let token = encode(&header, &claims, &EncodingKey::from_secret(&key)).unwrap();
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// RFC 9068 §4 (the resource server decides whether a token is still backed) and OWASP
/// Session Management cheat sheet (the session, not the token, is the authority): a token
/// minted for `sub=admin` with a `sid` of nothing, or of alice's session, is not admin's.
#[tokio::test]
async fn access_token_whose_sid_is_not_a_live_session_of_its_sub_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let alice = claims_of(&app, "alice").await;
    let admin = claims_of(&app, "admin").await;
    let admin_on_alices = mint(&alice, json!({ "sub": admin.sub }));
    let admin_on_nothing = mint(&admin, json!({ "sid": "no-such-session" }));
    for token in [admin_on_alices, admin_on_nothing] {
        let stats = app.get("/api/admin/stats", Some(&token)).await;
        assert_eq!(stats.status, StatusCode::UNAUTHORIZED);
        assert_eq!(stats.error_code(), "invalid_token");
    }
    // A second instance, which never saw these sessions, asks the store and agrees.
    let other = app.another_instance().await;
    let genuine = mint(&admin, json!({}));
    assert_eq!(
        other.get("/api/admin/stats", Some(&genuine)).await.status,
        StatusCode::OK
    );
    let forged = mint(&admin, json!({ "sid": alice.sid }));
    assert_eq!(me(&other, &forged).await, StatusCode::UNAUTHORIZED);
}

/// `<session>.<generation>` signed with the app's refresh key, as a credential.
fn credential(session: &str, generation: &str) -> String {
    let key = KeyRing::new(SECRET.into(), vec![])
        .derive("refresh-credential")
        .signing()
        .to_vec();
    let payload = format!("{session}.{generation}");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(payload.as_bytes());
    format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// RFC 9700 §4.14.2 (a refresh credential is one exact value, rotated on use) and CWE-190
/// (integer overflow): with the key in hand, `+0` or `00` for generation 0 is not a second
/// spelling of the current credential, and generation `u64::MAX` does not wrap into "the one
/// before 0", which a grace replay would honour.
#[tokio::test]
async fn refresh_generation_spelled_another_way_or_wrapping_round_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let (browser, _) = app.signed_in("alice").await;
    let real = browser.refresh_cookie().unwrap();
    let session = real.split('.').next().unwrap();
    assert_eq!(
        credential(session, "0"),
        real,
        "the test signs as the server does"
    );
    for generation in ["+0", "00", " 0", "0x0", "18446744073709551615"] {
        let forged = credential(session, generation);
        let response = app
            .post_with_cookies("/api/auth/refresh", &format!("tf_refresh={forged}"))
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{generation}");
        assert_eq!(response.error_code(), "invalid_grant", "{generation}");
    }
}
