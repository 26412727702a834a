//! The resource server of `examples/resource_server/` against the real identity provider over
//! HTTP, through a signing-key rotation: it verifies access tokens with the JWKS alone, follows
//! the next key, and refuses tokens of a key once it is rotated out of the JWKS; and a DPoP-bound
//! token only with a proof of its key.

mod common;
#[path = "../examples/resource_server/dpop.rs"]
mod dpop;
#[path = "../examples/resource_server/verifier.rs"]
mod verifier;

use std::sync::{Arc, RwLock};

use axum::Router;
use p256::{pkcs8::EncodePrivateKey, SecretKey};
use tower::ServiceExt;

use common::TestApp;
use verifier::{JwksVerifier, Refused};

/// A PKCS#8 PEM P-256 key in a temporary file, as an operator would hand one over.
fn key_file(seed: u8) -> String {
    let key = SecretKey::from_slice(&[seed; 32]).unwrap();
    let pem = key.to_pkcs8_pem(Default::default()).unwrap();
    let path = std::env::temp_dir().join(format!("{}.pem", common::unique_name("key")));
    std::fs::write(&path, pem.as_bytes()).unwrap();
    path.display().to_string()
}

/// Serves whichever router is current on `listener`: a rolling redeploy, as a resource server
/// elsewhere sees it.
fn serve(listener: tokio::net::TcpListener, current: Arc<RwLock<Router>>) {
    let service = tower::service_fn(move |request| {
        let router = current.read().unwrap().clone();
        router.oneshot(request)
    });
    tokio::spawn(async move { axum::serve(listener, tower::make::Shared::new(service)).await });
}

#[tokio::test]
async fn tokens_verify_by_the_jwks_alone_until_their_key_is_rotated_out() {
    let (a, b) = (key_file(1), key_file(2));
    // Phase 1: key A signs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Its issuer is where it listens, as discovery says and every token's `iss` names.
    let idp = TestApp::with_env(&[("SIGNING_KEY_FILE", &a), ("LEPTOS_SITE_ADDR", &addr)]).await;
    let current = Arc::new(RwLock::new(idp.router()));
    serve(listener, current.clone());
    let issuer = format!("http://{addr}");
    let rs = JwksVerifier::discover(&issuer).await.unwrap();
    let (_, token_a) = idp.signed_in("alice").await;
    assert_eq!(rs.verify(&token_a).await.unwrap().sub, "u-alice");
    assert!(
        rs.verify(&format!("{token_a}x")).await.is_err(),
        "a tampered token"
    );

    // Phase 2: B is published before it signs; A still signs.
    let next = idp
        .another_instance_with(&[("SIGNING_KEY_NEXT_FILE", &b)])
        .await;
    *current.write().unwrap() = next.router();
    rs.reload().await.unwrap();
    assert!(rs.verify(&token_a).await.is_ok());

    // Phase 3: B signs, A is still published for the tokens it signed.
    let rotated = idp
        .another_instance_with(&[
            ("SIGNING_KEY_FILE", &b),
            ("SIGNING_KEY_NEXT_FILE", ""),
            ("SIGNING_KEY_PREVIOUS_FILES", &a),
        ])
        .await;
    *current.write().unwrap() = rotated.router();
    let (_, token_b) = rotated.signed_in("alice").await;
    assert!(rs.verify(&token_b).await.is_ok());
    assert!(rs.verify(&token_a).await.is_ok());

    // Phase 4: A's tokens have expired; A is dropped from the JWKS and refused from now on.
    let done = idp
        .another_instance_with(&[
            ("SIGNING_KEY_FILE", &b),
            ("SIGNING_KEY_NEXT_FILE", ""),
            ("SIGNING_KEY_PREVIOUS_FILES", ""),
        ])
        .await;
    *current.write().unwrap() = done.router();
    rs.reload().await.unwrap();
    assert_eq!(rs.verify(&token_a).await.unwrap_err(), Refused::UnknownKey);
    assert!(rs.verify(&token_b).await.is_ok());
    for file in [a, b] {
        let _ = std::fs::remove_file(file);
    }
}

/// RFC 9449 §7 with the JWKS alone (issue #33 point 4): the example accepts a DPoP-bound token
/// only as `DPoP` with a proof of its key for the request, each proof once; as `Bearer`, with
/// another key's proof, or a proof for another URL, it refuses it.
#[tokio::test]
async fn a_dpop_bound_token_needs_a_proof_of_its_key_at_the_resource_server() {
    use common::{
        dpop::DpopKey,
        oidc::{code_for, field, CLIENT, HOST, REDIRECT},
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let idp = TestApp::with_env(&[("LEPTOS_SITE_ADDR", &addr)]).await;
    serve(listener, Arc::new(RwLock::new(idp.router())));
    let rs = JwksVerifier::discover(&format!("http://{addr}"))
        .await
        .unwrap();

    let key = DpopKey::new(11);
    let now = idp.state.clock.now_secs();
    let nonce = idp.state.dpop.as_ref().unwrap().nonce_header(now);
    let (code, pkce) = code_for(&idp, "rs-dpop").await;
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", pkce.verifier.as_str()),
    ])
    .unwrap();
    // The proof names the identity provider's token URL, which is its issuer's.
    let token_proof = key.sign(
        serde_json::json!({}),
        serde_json::json!({
            "jti": "token-request", "htm": "POST", "htu": format!("http://{addr}/oauth/token"),
            "iat": now, "nonce": nonce.to_str().unwrap(),
        }),
    );
    let answer = idp
        .send(
            axum::http::Request::post("/oauth/token")
                .header("host", HOST)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("dpop", token_proof)
                .body(axum::body::Body::from(form))
                .unwrap(),
        )
        .await;
    let access = field(&answer.json(), "access_token");

    // A proof for the resource server's own URL (its htu is not the provider's).
    let url = "https://rs.example/hello";
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let proof_for = |key: &DpopKey, url: &str| {
        let ath = {
            use base64::Engine;
            use sha2::Digest;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(access.as_bytes()))
        };
        key.sign(
            serde_json::json!({}),
            serde_json::json!({
                "jti": format!("{url}{}", key.thumbprint()), "htm": "GET", "htu": url,
                "iat": wall, "ath": ath,
            }),
        )
    };
    let rs = &rs;
    let request = |authorization: String, proof: Option<String>, url: &'static str| async move {
        let request = verifier::Request {
            authorization: &authorization,
            proof: proof.as_deref(),
            method: "GET",
            url,
            now: wall,
        };
        rs.verify_request(&request).await
    };
    let good = proof_for(&key, url);
    let claims = request(format!("DPoP {access}"), Some(good.clone()), url)
        .await
        .unwrap();
    assert_eq!(claims.cnf.unwrap().jkt, key.thumbprint());
    for (what, authorization, proof, at) in [
        ("replayed", format!("DPoP {access}"), Some(good), url),
        ("as bearer", format!("Bearer {access}"), None, url),
        ("no proof", format!("DPoP {access}"), None, url),
        (
            "another key",
            format!("DPoP {access}"),
            Some(proof_for(&DpopKey::new(12), url)),
            url,
        ),
        (
            "another url",
            format!("DPoP {access}"),
            Some(proof_for(&key, "https://rs.example/other")),
            url,
        ),
    ] {
        assert!(
            matches!(
                request(authorization, proof, at).await,
                Err(Refused::Dpop(_))
            ),
            "{what}"
        );
    }
}
