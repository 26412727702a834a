//! The resource server of `examples/resource_server/` against the real identity provider over
//! HTTP, through a signing-key rotation: it verifies access tokens with the JWKS alone, follows
//! the next key, and refuses tokens of a key once it is rotated out of the JWKS.

mod common;
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
