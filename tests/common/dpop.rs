//! A DPoP client key for the tests (RFC 9449): signs proofs — good ones, and each kind of bad
//! one a test needs — with a real P-256 key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use p256::{elliptic_curve::sec1::ToEncodedPoint, pkcs8::EncodePrivateKey, SecretKey};
use ring::{
    rand::{SecureRandom, SystemRandom},
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::oidc::ISSUER;

/// A client's key pair.
pub struct DpopKey {
    pair: EcdsaKeyPair,
    pub x: String,
    pub y: String,
}

impl DpopKey {
    pub fn new(seed: u8) -> Self {
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

    pub fn jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y})
    }

    /// RFC 7638: what a token bound to this key names in `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A good proof for `method` at this provider's `path`, made at `iat`, with `nonce`, and
    /// `ath` for `access_token`; a fresh random `jti`.
    pub fn proof(
        &self,
        method: &str,
        path: &str,
        iat: u64,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": random_jti(), "htm": method, "htu": format!("{ISSUER}{path}"), "iat": iat,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        self.sign(json!({}), claims)
    }

    /// A proof of `claims` with `header` members over the usual ones, signed by this key
    /// whatever the header says.
    pub fn sign(&self, header: Value, claims: Value) -> String {
        let mut full = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk()});
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

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}
