//! Access-token attacks: forgery, tampering, algorithm and type confusion, audience, expiry,
//! revocation; and signing-key rotation that keeps sessions alive.

use std::time::Duration;

use axum::http::StatusCode;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use sha2::Sha256;
use tokenflight::server::core::{
    keys::{key_id, KeyRing},
    tokens::{AccessClaims, AUDIENCE, PREVIOUS_ISSUER},
};

use crate::common::TestApp;

pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OLD_SECRET: &str = "an-older-secret-of-at-least-32-bytes";

/// The app's real access-token key, as `JWT_SECRET` derives it.
pub(crate) fn access_key(secret: &str) -> Vec<u8> {
    KeyRing::new(secret.into(), vec![])
        .derive("access-token")
        .signing()
        .to_vec()
}

pub(crate) fn our_header(key: &[u8]) -> Header {
    Header {
        typ: Some("at+jwt".into()),
        kid: Some(key_id(key)),
        ..Header::new(Algorithm::HS256)
    }
}

/// A signed-in app with a known secret, and the claims of alice's live token.
async fn live_claims(app: &TestApp) -> AccessClaims {
    let (_, token) = app.signed_in("alice").await;
    AccessClaims::clone(&app.state.tokens.verify(&token).unwrap())
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/me", Some(token)).await.status
}

/// RFC 7515 §5.2 (signature validation): a token signed with another key is refused.
#[tokio::test]
async fn forged_access_token_signed_with_another_key_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&app).await;
    let other = access_key("another-secret-that-is-32-bytes-long");
    let forged = encode(
        &our_header(&access_key(SECRET)),
        &claims,
        &EncodingKey::from_secret(&other),
    );
    assert_eq!(
        me_status(&app, &forged.unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
}

/// RFC 7515 §5.2: a payload changed after signing (alice becomes admin) breaks the signature.
#[tokio::test]
async fn tampered_access_token_payload_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let (_, token) = app.signed_in("alice").await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("u-alice", "u-admin"));
    let response = app.get("/api/admin/stats", Some(&parts.join("."))).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.error_code(), "invalid_token");
}

/// RFC 8725 §2.1 and §3.1 (`alg: none`): an unsigned token is refused.
#[tokio::test]
async fn alg_none_access_token_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let (_, token) = app.signed_in("alice").await;
    let payload = token.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let unsigned = format!("{header}.{payload}.");
    assert_eq!(me_status(&app, &unsigned).await, StatusCode::UNAUTHORIZED);
}

/// RFC 8725 §3.1 (algorithm verification: accept only the algorithm you use): HS512 with the
/// right key is still refused; each key is accepted with its one algorithm only (HS256 for the
/// previous version's keys, ES256 for the published ones).
#[tokio::test]
async fn other_algorithm_with_the_right_key_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&app).await;
    let key = access_key(SECRET);
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let header = Header {
            alg,
            ..our_header(&key)
        };
        let token = encode(&header, &claims, &EncodingKey::from_secret(&key)).unwrap();
        assert_eq!(
            me_status(&app, &token).await,
            StatusCode::UNAUTHORIZED,
            "{alg:?}"
        );
    }
}

/// RFC 8725 §3.8 and §3.9 (validate issuer and audience): a token minted with our key for
/// another audience or by another issuer is refused.
#[tokio::test]
async fn access_token_for_another_audience_or_issuer_is_refused() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&app).await;
    let key = access_key(SECRET);
    let sign = |claims: &AccessClaims| {
        encode(&our_header(&key), claims, &EncodingKey::from_secret(&key)).unwrap()
    };
    assert_eq!(
        me_status(&app, &sign(&claims)).await,
        StatusCode::OK,
        "control"
    );
    let other_audience = AccessClaims {
        aud: "billing-api".into(),
        ..claims.clone()
    };
    assert_eq!(
        me_status(&app, &sign(&other_audience)).await,
        StatusCode::UNAUTHORIZED
    );
    let other_issuer = AccessClaims {
        iss: "someone-else".into(),
        ..claims.clone()
    };
    assert_eq!(
        me_status(&app, &sign(&other_issuer)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(AUDIENCE, "tokenflight-api");
}

/// RFC 8725 §3.11 (explicit typing), RFC 9068 §4 (`typ` must be `at+jwt`): another kind of JWT
/// signed with our key, e.g. an ID token, cannot pass for an access token.
#[tokio::test]
async fn jwt_of_another_type_cannot_pass_for_an_access_token() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&app).await;
    let key = access_key(SECRET);
    let header = Header {
        typ: Some("JWT".into()),
        ..our_header(&key)
    };
    let token = encode(&header, &claims, &EncodingKey::from_secret(&key)).unwrap();
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// RFC 7519 §4.1.4 (`exp`: "on or after" which the token must not be accepted): refused from
/// the exact second it expires, with no leeway.
#[tokio::test]
async fn access_token_is_refused_at_the_exact_second_it_expires() {
    let app = TestApp::with_env(&[("ACCESS_TOKEN_TTL_SECS", "60")]).await;
    let (_, token) = app.signed_in("alice").await;
    let exp_ms = app.state.tokens.verify(&token).unwrap().exp * 1000;
    let now_ms = tokenflight::server::core::clock::Clock::now_ms(&app.clock);
    app.advance(Duration::from_millis(exp_ms - now_ms - 1));
    assert_eq!(me_status(&app, &token).await, StatusCode::OK);
    app.advance(Duration::from_millis(1));
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// OWASP Session Management cheat sheet ("session expiration on logout" server-side): an access
/// token still inside its lifetime dies with its session at logout.
#[tokio::test]
async fn access_token_after_logout_is_refused() {
    let app = TestApp::new().await;
    let (mut browser, token) = app.signed_in("alice").await;
    assert_eq!(browser.logout().await.status, StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
}

/// OWASP Session Management cheat sheet ("absolute timeout"): at the session's absolute
/// lifetime neither its access token nor its refresh credential works, however active.
#[tokio::test]
async fn tokens_after_the_session_expired_are_refused() {
    let app = TestApp::with_env(&[
        ("SESSION_IDLE_TIMEOUT_SECS", "60"),
        ("SESSION_ABSOLUTE_TIMEOUT_SECS", "120"),
        ("ACCESS_TOKEN_TTL_SECS", "3600"),
    ])
    .await;
    let (mut browser, token) = app.signed_in("alice").await;
    app.advance(Duration::from_secs(120));
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.refresh().await.error_code(), "invalid_grant");
}

/// RFC 6749 §5.1 (`Cache-Control: no-store` and `Pragma: no-cache` on token responses): no
/// cache, HTTP/1.0 ones included, keeps a copy of an access token.
#[tokio::test]
async fn token_responses_forbid_caching_for_http_1_0_and_1_1_caches() {
    let app = TestApp::new().await;
    let (mut browser, _) = app.signed_in("alice").await;
    let login = browser.login("alice", "wonderland").await;
    let refresh = browser.refresh().await;
    for response in [login, refresh] {
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));
    }
}

/// RFC 7517 §4.5 (`kid`) and OWASP Key Management cheat sheet (rotation without outage): after
/// `JWT_SECRET` rotates, refresh credentials made with the previous secret still work while it
/// is listed in `JWT_PREVIOUS_SECRETS`, and stop once it is dropped. Access tokens owe nothing
/// to `JWT_SECRET` (their ES256 key is generated and kept in the store): they survive both.
#[tokio::test]
async fn key_rotation_keeps_access_tokens_and_refresh_cookies_alive() {
    let rotated = [("JWT_SECRET", SECRET), ("JWT_PREVIOUS_SECRETS", OLD_SECRET)];
    let dropped = [("JWT_SECRET", SECRET), ("JWT_PREVIOUS_SECRETS", "")];
    for (env, expected_refresh) in [
        (&rotated[..], StatusCode::OK),
        (&dropped[..], StatusCode::BAD_REQUEST),
    ] {
        let before = TestApp::with_env(&[("JWT_SECRET", OLD_SECRET)]).await;
        let (_, token) = before.signed_in("alice").await;
        let claims = AccessClaims::clone(&before.state.tokens.verify(&token).unwrap());
        let app = before.another_instance_with(env).await;
        assert_eq!(me_status(&app, &token).await, StatusCode::OK);
        // What the server made before the rotation, with the old secret.
        let refresh_key = KeyRing::new(OLD_SECRET.into(), vec![]).derive("refresh-credential");
        let payload = format!("{}.0", claims.sid);
        let mut mac = Hmac::<Sha256>::new_from_slice(refresh_key.signing()).unwrap();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let cookie = format!("tf_refresh={payload}.{tag}");
        let refreshed = app.post_with_cookies("/api/auth/refresh", &cookie).await;
        assert_eq!(refreshed.status, expected_refresh, "{}", refreshed.body);
    }
}

/// RFC 8725 §3.1 and §3.2 (keys and algorithms retired): after the upgrade to ES256, an HS256
/// token forged with the (leaked) `JWT_SECRET` passes only while tokens of the previous version
/// can still be alive — one access-token lifetime after the upgrade — and never after.
#[tokio::test]
async fn hs256_token_forged_with_the_shared_secret_is_refused_after_the_upgrade_window() {
    let app = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let mut claims = live_claims(&app).await;
    let key = access_key(SECRET);
    let forge = |claims: &AccessClaims| {
        encode(&our_header(&key), claims, &EncodingKey::from_secret(&key)).unwrap()
    };
    assert_eq!(
        me_status(&app, &forge(&claims)).await,
        StatusCode::OK,
        "inside the window"
    );
    app.advance(Duration::from_secs(61));
    let now = claims.iat + 61;
    (claims.iat, claims.exp) = (now, now + 60);
    assert_eq!(
        me_status(&app, &forge(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Issue #32 point 6: the window opens on an actual upgrade only (a store a previous version
/// left sessions in), never on a fresh store or an ordinary restart — a marker in the store
/// says when the format first started — so a leaked `JWT_SECRET` mints nothing accepted then.
#[tokio::test]
async fn the_previous_format_is_refused_on_a_fresh_store_and_after_a_restart() {
    let forge = |app: &TestApp, claims: &AccessClaims| {
        let key = access_key(SECRET);
        let _ = app;
        encode(&our_header(&key), claims, &EncodingKey::from_secret(&key)).unwrap()
    };
    let fresh = TestApp::with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&fresh).await;
    assert_eq!(
        me_status(&fresh, &forge(&fresh, &claims)).await,
        StatusCode::UNAUTHORIZED,
        "fresh store: HS256 never verifies"
    );
    let restarted = fresh.another_instance().await;
    assert_eq!(
        me_status(&restarted, &forge(&restarted, &claims)).await,
        StatusCode::UNAUTHORIZED,
        "a restart on a store with sessions of this format opens nothing"
    );

    let upgraded = TestApp::upgraded_with_env(&[("JWT_SECRET", SECRET)]).await;
    let claims = live_claims(&upgraded).await;
    let previous_format = AccessClaims {
        iss: PREVIOUS_ISSUER.into(),
        ..claims.clone()
    };
    assert_eq!(
        me_status(&upgraded, &forge(&upgraded, &previous_format)).await,
        StatusCode::OK,
        "inside the window: the previous format's tokens still work"
    );
    upgraded.advance(Duration::from_secs(30));
    let later = upgraded.another_instance().await;
    upgraded.advance(Duration::from_secs(31));
    let now = claims.iat + 61;
    let late = AccessClaims {
        iat: now,
        exp: now + 60,
        ..previous_format
    };
    assert_eq!(
        me_status(&later, &forge(&later, &late)).await,
        StatusCode::UNAUTHORIZED,
        "an instance started inside the window closes it with the first"
    );
}
