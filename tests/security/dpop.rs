//! DPoP (RFC 9449, issue #33 points 1 and 6) over HTTP: tokens bound to the client's key at the
//! token endpoint, refused anywhere without a proof of that key, every proof check, nonces, and
//! a bound refresh credential that a thief without the key can neither use nor turn into a
//! sign-out of its owner.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};

use crate::common::{
    dpop::DpopKey,
    oidc::{code_for, field, post_form, refresh, CLIENT, HOST, REDIRECT},
    TestApp, TestResponse,
};

const TOKEN: &str = "/oauth/token";
const ME: &str = "/api/me";

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn now(app: &TestApp) -> u64 {
    app.state.clock.now_secs()
}

/// The server's current nonce, as its `DPoP-Nonce` header would give it.
fn nonce(app: &TestApp) -> String {
    let checks = app.state.dpop.as_ref().expect("DPoP is on");
    checks.nonce_header(now(app)).to_str().unwrap().to_owned()
}

/// `POST /oauth/token` with `form` and, when given, a `DPoP` proof.
async fn token_request(app: &TestApp, form: &[(&str, &str)], proof: Option<&str>) -> TestResponse {
    let mut request = Request::post(TOKEN)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    let body = serde_urlencoded::to_string(form).unwrap();
    app.send(request.body(Body::from(body)).unwrap()).await
}

/// The public client's code exchange, as a form.
fn exchange_form<'a>(code: &'a str, verifier: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]
}

/// The public client's code, exchanged with a proof of `key`: the token response.
async fn bound_tokens(app: &TestApp, key: &DpopKey) -> Value {
    let (code, pkce) = code_for(app, "dpop").await;
    let proof = key.proof("POST", TOKEN, now(app), Some(&nonce(app)), None);
    let form = exchange_form(&code, &pkce.verifier);
    let answer = token_request(app, &form, Some(&proof)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()
}

/// `GET <path>` with `Authorization: <scheme> <token>` and, when given, a proof.
async fn call(
    app: &TestApp,
    path: &str,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> TestResponse {
    let mut request = Request::get(path)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("{scheme} {token}"));
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// A bound refresh with `proof`.
async fn refresh_with(app: &TestApp, refresh_token: &str, proof: Option<&str>) -> TestResponse {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT),
        ("refresh_token", refresh_token),
    ];
    token_request(app, &form, proof).await
}

/// §5, §6.1, §8: a proof without a nonce gets `use_dpop_nonce` and the nonce; with it, the
/// tokens are DPoP tokens bound to the key (`cnf.jkt`, its RFC 7638 thumbprint), and every
/// answer carries the next nonce.
#[tokio::test]
async fn the_token_endpoint_binds_tokens_to_the_key_after_a_nonce_round_trip() {
    let app = TestApp::new().await;
    let key = DpopKey::new(1);
    let (code, pkce) = code_for(&app, "nonce").await;
    let form = exchange_form(&code, &pkce.verifier);
    let first = token_request(
        &app,
        &form,
        Some(&key.proof("POST", TOKEN, now(&app), None, None)),
    )
    .await;
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_eq!(first.error_code(), "use_dpop_nonce");
    let nonce = first
        .header("dpop-nonce")
        .expect("a nonce to retry with")
        .to_owned();
    let proof = key.proof("POST", TOKEN, now(&app), Some(&nonce), None);
    let answer = token_request(&app, &form, Some(&proof)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.header("dpop-nonce").is_some());
    let tokens = answer.json();
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(
        payload(&field(&tokens, "access_token"))["cnf"]["jkt"],
        key.thumbprint()
    );
}

/// §7.1: a bound token works at the API and userinfo with `Authorization: DPoP` and a proof
/// for that request (after the resource's own nonce round trip), and is refused as `Bearer`.
#[tokio::test]
async fn a_bound_token_works_with_a_proof_and_never_as_bearer() {
    let app = TestApp::new().await;
    let key = DpopKey::new(2);
    let access = field(&bound_tokens(&app, &key).await, "access_token");
    let without_nonce = key.proof("GET", ME, now(&app), None, Some(&access));
    let challenged = call(&app, ME, "DPoP", &access, Some(&without_nonce)).await;
    assert_eq!(challenged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenged.error_code(), "use_dpop_nonce");
    let challenge = challenged.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains(r#"error="use_dpop_nonce""#),
        "{challenge}"
    );
    let nonce = challenged.header("dpop-nonce").unwrap().to_owned();
    for path in [ME, "/oauth/userinfo"] {
        let proof = key.proof("GET", path, now(&app), Some(&nonce), Some(&access));
        let answer = call(&app, path, "DPoP", &access, Some(&proof)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    }
    let as_bearer = call(&app, ME, "Bearer", &access, None).await;
    assert_eq!(as_bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(as_bearer.error_code(), "invalid_token");
    let no_proof = call(&app, ME, "DPoP", &access, None).await;
    assert_eq!(no_proof.error_code(), "invalid_dpop_proof");
}

/// §4.3, §7.1, §11.1: each proof check at the resource — replay, method, URL, `iat` either
/// way, `ath` missing or of another token, another key, a private key in `jwk`, `alg` none
/// or HS256, a stale nonce — refuses the request.
#[tokio::test]
async fn every_bad_proof_is_refused_at_the_resource() {
    let app = TestApp::new().await;
    let key = DpopKey::new(3);
    let access = field(&bound_tokens(&app, &key).await, "access_token");
    let nonce = nonce(&app);
    let t = now(&app);
    let good = key.proof("GET", ME, t, Some(&nonce), Some(&access));
    assert_eq!(
        call(&app, ME, "DPoP", &access, Some(&good)).await.status,
        StatusCode::OK
    );
    let ath = URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(access.as_bytes()));
    let claims = |change: Value| {
        let mut claims = json!({
            "jti": format!("{change}"), "htm": "GET", "htu": format!("http://127.0.0.1:3000{ME}"),
            "iat": t, "nonce": nonce, "ath": ath,
        });
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let bad = [
        ("replayed", good.clone()),
        ("htm", key.sign(json!({}), claims(json!({"htm": "POST"})))),
        (
            "htu",
            key.sign(
                json!({}),
                claims(json!({"htu": "http://127.0.0.1:3000/api/items"})),
            ),
        ),
        (
            "iat old",
            key.sign(json!({}), claims(json!({"iat": t - 120}))),
        ),
        (
            "iat future",
            key.sign(json!({}), claims(json!({"iat": t + 120}))),
        ),
        ("no ath", key.sign(json!({}), claims(json!({"ath": null})))),
        (
            "another token's ath",
            key.sign(json!({}), claims(json!({"ath": "AAAA"}))),
        ),
        (
            "another key",
            DpopKey::new(9).sign(json!({}), claims(json!({}))),
        ),
        ("private jwk", {
            let mut jwk = key.jwk();
            jwk["d"] = json!("c2VjcmV0");
            key.sign(json!({"jwk": jwk}), claims(json!({})))
        }),
        (
            "alg none",
            key.sign(json!({"alg": "none"}), claims(json!({}))),
        ),
        (
            "alg HS256",
            key.sign(json!({"alg": "HS256"}), claims(json!({}))),
        ),
        (
            "typ JWT",
            key.sign(json!({"typ": "JWT"}), claims(json!({}))),
        ),
    ];
    for (what, proof) in bad {
        let answer = call(&app, ME, "DPoP", &access, Some(&proof)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(answer.error_code(), "invalid_dpop_proof", "{what}");
    }
    // §9: a nonce two windows old is stale: the client gets a fresh one, not a refusal.
    app.advance(std::time::Duration::from_secs(2 * 300));
    let access = field(&bound_tokens(&app, &key).await, "access_token");
    let stale = key.proof("GET", ME, now(&app), Some(&nonce), Some(&access));
    let answer = call(&app, ME, "DPoP", &access, Some(&stale)).await;
    assert_eq!(answer.error_code(), "use_dpop_nonce");
}

/// §11.1, across instances: a proof used at the token endpoint is refused at another
/// instance on the same store.
#[tokio::test]
async fn a_proof_used_on_one_instance_is_refused_on_another() {
    let app = TestApp::new().await;
    let other = app.another_instance().await;
    let key = DpopKey::new(4);
    let tokens = bound_tokens(&app, &key).await;
    let proof = key.proof("POST", TOKEN, now(&app), Some(&nonce(&app)), None);
    let first = refresh_with(&app, &field(&tokens, "refresh_token"), Some(&proof)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let replayed = refresh_with(&other, &field(&first.json(), "refresh_token"), Some(&proof)).await;
    assert_eq!(
        replayed.error_code(),
        "invalid_dpop_proof",
        "{}",
        replayed.body
    );
}

/// §5 with §11 (issue #33): a public client's refresh token is bound to its key. Presented
/// without a proof, or with another key's — even an old, rotated one, which would otherwise
/// be reuse — it is refused and the family is untouched: the owner refreshes on as before.
#[tokio::test]
async fn a_bound_refresh_token_without_its_key_changes_nothing() {
    let app = TestApp::new().await;
    let key = DpopKey::new(5);
    let tokens = bound_tokens(&app, &key).await;
    let stolen = field(&tokens, "refresh_token");
    let plain = refresh(&app, &stolen).await;
    assert_eq!(plain.error_code(), "invalid_dpop_proof", "{}", plain.body);
    let thief = DpopKey::new(6);
    let wrong_key = thief.proof("POST", TOKEN, now(&app), Some(&nonce(&app)), None);
    let with_another_key = refresh_with(&app, &stolen, Some(&wrong_key)).await;
    assert_eq!(with_another_key.error_code(), "invalid_dpop_proof");

    let owner = key.proof("POST", TOKEN, now(&app), Some(&nonce(&app)), None);
    let rotated = refresh_with(&app, &stolen, Some(&owner)).await;
    assert_eq!(
        rotated.status,
        StatusCode::OK,
        "the owner is still signed in: {}",
        rotated.body
    );
    assert_eq!(rotated.json()["token_type"], "DPoP");
    // The thief replays the rotated-away credential outside the grace window: without the key
    // that is no reuse detection, so no sign-out of the owner.
    app.advance(std::time::Duration::from_secs(30));
    assert_eq!(
        refresh(&app, &stolen).await.error_code(),
        "invalid_dpop_proof"
    );
    let owner = key.proof("POST", TOKEN, now(&app), Some(&nonce(&app)), None);
    let again = refresh_with(&app, &field(&rotated.json(), "refresh_token"), Some(&owner)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

/// §7.2: the DPoP scheme is for bound tokens: a bearer token sent as `DPoP` is refused; and
/// §6.2: introspection tells a resource server which key a token is bound to.
#[tokio::test]
async fn a_bearer_token_is_not_a_dpop_token_and_introspection_shows_the_key() {
    let file = crate::common::oidc::clients_file();
    let app = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let (_, bearer) = app.signed_in("alice").await;
    let key = DpopKey::new(7);
    let proof = key.proof("GET", ME, now(&app), Some(&nonce(&app)), Some(&bearer));
    assert_eq!(
        call(&app, ME, "DPoP", &bearer, Some(&proof))
            .await
            .error_code(),
        "invalid_dpop_proof"
    );
    let access = field(&bound_tokens(&app, &key).await, "access_token");
    let introspected = post_form(
        &app,
        "/oauth/introspect",
        &[("token", &access)],
        Some((
            crate::common::oidc::CONFIDENTIAL,
            crate::common::oidc::CONFIDENTIAL_SECRET,
        )),
    )
    .await
    .json();
    assert_eq!(introspected["cnf"]["jkt"], key.thumbprint());
    let _ = std::fs::remove_file(file);
}

/// §5.1 and §5.2 (`dpop_bound_access_tokens`), and the switch: discovery lists the proof
/// algorithms; a client registered for DPoP is refused a token without a proof; `DPOP=off`
/// ignores proofs and issues bearer tokens.
#[tokio::test]
async fn discovery_a_client_that_requires_dpop_and_the_off_switch() {
    let app = TestApp::new().await;
    let discovery = app
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["ES256"])
    );

    let path = std::env::temp_dir().join(format!("{}.json", crate::common::unique_name("dpop")));
    std::fs::write(
        &path,
        json!([{
            "client_id": "bound-machine", "client_secret": "bound-machine-secret-0123",
            "kind": "confidential", "grant_types": ["client_credentials"], "redirect_uris": [],
            "dpop_bound_access_tokens": true,
        }])
        .to_string(),
    )
    .unwrap();
    let file = path.display().to_string();
    let bound = TestApp::with_env(&[("OAUTH_CLIENTS_FILE", &file)]).await;
    let machine = Some(("bound-machine", "bound-machine-secret-0123"));
    let grant = [("grant_type", "client_credentials")];
    let refused = post_form(&bound, TOKEN, &grant, machine).await;
    assert_eq!(refused.error_code(), "invalid_dpop_proof");

    let off = TestApp::with_env(&[("DPOP", "off")]).await;
    let key = DpopKey::new(8);
    let (code, pkce) = code_for(&off, "off").await;
    let form = exchange_form(&code, &pkce.verifier);
    let proof = key.proof("POST", TOKEN, now(&off), None, None);
    let answer = token_request(&off, &form, Some(&proof)).await;
    assert_eq!(answer.json()["token_type"], "Bearer", "{}", answer.body);
    let discovery = off
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    assert!(discovery.get("dpop_signing_alg_values_supported").is_none());
    let _ = std::fs::remove_file(path);
}
