//! Each check of a proof (RFC 9449 §4.3), on proofs made here with a real P-256 key.

use p256::{elliptic_curve::sec1::ToEncodedPoint, pkcs8::EncodePrivateKey, SecretKey};
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use serde_json::json;

use super::*;

const URL: &str = "http://127.0.0.1:3000/oauth/token";
const NOW: u64 = 1_700_000_000;

/// A client's key: signs proofs, with its public half as a JWK.
struct ClientKey {
    pair: EcdsaKeyPair,
    x: String,
    y: String,
}

impl ClientKey {
    fn new(seed: u8) -> Self {
        let secret = SecretKey::from_slice(&[seed; 32]).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        let der = secret.to_pkcs8_der().unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.as_bytes(),
            &SystemRandom::new(),
        )
        .unwrap();
        Self {
            pair,
            x: URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            y: URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y})
    }

    /// A proof with `claims`, and `header` members over ours, signed by this key whatever the
    /// header says.
    fn sign(&self, header: Value, claims: Value) -> String {
        let mut full = json!({"typ": PROOF_TYPE, "alg": "ES256", "jwk": self.jwk()});
        for (name, value) in header.as_object().unwrap() {
            full[name] = value.clone();
        }
        let segment = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
        let input = format!("{}.{}", segment(&full), segment(&claims));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

fn nonces() -> Nonces {
    Nonces::new(b"nonce-key-of-at-least-32-bytes!!")
}

fn claims(nonce: &str) -> Value {
    json!({"jti": "j1", "htm": "POST", "htu": URL, "iat": NOW, "nonce": nonce})
}

fn expected(access_token: Option<&str>) -> Expected<'_> {
    Expected {
        method: "POST",
        url: URL,
        access_token,
        now_secs: NOW,
    }
}

#[test]
fn a_proof_of_this_request_with_a_current_nonce_gives_its_keys_thumbprint() {
    let key = ClientKey::new(7);
    let nonce = nonces().current(NOW);
    let proof = key.sign(json!({}), claims(&nonce));
    let checked = verify(&proof, &expected(None), &nonces()).unwrap();
    assert_eq!(checked.jkt, thumbprint(&key.x, &key.y));
    assert_eq!((checked.jti.as_str(), checked.iat), ("j1", NOW));
    // htu is compared without query and fragment (§4.3 step 9).
    let mut with_query = claims(&nonce);
    with_query["htu"] = json!(format!("{URL}?a=1#f"));
    assert!(verify(&key.sign(json!({}), with_query), &expected(None), &nonces()).is_ok());
}

/// RFC 9449 §4.1's example key and the `jkt` §6.1 gives for it.
#[test]
fn the_thumbprint_is_the_rfcs() {
    assert_eq!(
        thumbprint(
            "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
        ),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
}

#[test]
fn each_claim_must_name_this_request_and_now() {
    let key = ClientKey::new(7);
    let nonce = nonces().current(NOW);
    let refused = |change: Value| {
        let mut claims = claims(&nonce);
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        verify(&key.sign(json!({}), claims), &expected(None), &nonces()).unwrap_err()
    };
    assert_eq!(
        refused(json!({"htm": "GET"})),
        ProofError::Invalid("htm is not this request's method")
    );
    assert_eq!(
        refused(json!({"htu": "http://127.0.0.1:3000/oauth/revoke"})),
        ProofError::Invalid("htu is not this request's URL")
    );
    assert_eq!(
        refused(json!({"iat": NOW - PROOF_WINDOW_SECS - 1})),
        ProofError::Invalid("iat is outside the accepted window")
    );
    assert_eq!(
        refused(json!({"iat": NOW + PROOF_WINDOW_SECS + 1})),
        ProofError::Invalid("iat is outside the accepted window")
    );
    assert_eq!(refused(json!({"nonce": null})), ProofError::UseNonce);
    assert_eq!(refused(json!({"nonce": "made-up"})), ProofError::UseNonce);
}

#[test]
fn the_header_must_be_a_dpop_proof_with_a_public_p256_key() {
    let key = ClientKey::new(7);
    let nonce = nonces().current(NOW);
    let refused = |header: Value| {
        verify(
            &key.sign(header, claims(&nonce)),
            &expected(None),
            &nonces(),
        )
        .unwrap_err()
    };
    assert_eq!(
        refused(json!({"typ": "JWT"})),
        ProofError::Invalid("typ is not dpop+jwt")
    );
    assert_eq!(
        refused(json!({"alg": "HS256"})),
        ProofError::Invalid("alg must be ES256")
    );
    assert_eq!(
        refused(json!({"alg": "none"})),
        ProofError::Invalid("alg must be ES256")
    );
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0");
    assert_eq!(
        refused(json!({"jwk": private})),
        ProofError::Invalid("the jwk holds a private key")
    );
    assert_eq!(
        refused(json!({"jwk": {"kty": "oct", "k": "c2VjcmV0"}})),
        ProofError::Invalid("the jwk holds a private key")
    );
    // Another key's jwk: the signature does not verify with it.
    let other = ClientKey::new(8);
    assert_eq!(
        refused(json!({"jwk": other.jwk()})),
        ProofError::Invalid("a bad signature or claims")
    );
}

#[test]
fn at_a_resource_ath_must_be_the_access_tokens_hash() {
    let key = ClientKey::new(7);
    let nonce = nonces().current(NOW);
    let mut bound = claims(&nonce);
    bound["ath"] = json!(token_hash("the-access-token"));
    let proof = key.sign(json!({}), bound);
    assert!(verify(&proof, &expected(Some("the-access-token")), &nonces()).is_ok());
    assert_eq!(
        verify(&proof, &expected(Some("another-token")), &nonces()).unwrap_err(),
        ProofError::Invalid("ath is not the access token's hash")
    );
    let without = key.sign(json!({}), claims(&nonce));
    assert!(verify(&without, &expected(Some("the-access-token")), &nonces()).is_err());
}

#[test]
fn a_nonce_is_good_for_its_window_and_the_next_on_every_instance_with_the_key() {
    let nonce = nonces().current(NOW);
    let another_instance = nonces();
    assert!(another_instance.accepts(&nonce, NOW));
    assert!(another_instance.accepts(&nonce, NOW + NONCE_WINDOW_SECS));
    assert!(!another_instance.accepts(&nonce, NOW + 2 * NONCE_WINDOW_SECS));
    assert!(!Nonces::new(b"another-key-of-at-least-32-bytes").accepts(&nonce, NOW));
    assert!(!another_instance.accepts("", NOW));
}
