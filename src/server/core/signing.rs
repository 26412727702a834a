//! The asymmetric keys that sign access and ID tokens (ES256, P-256), published as a JWKS so
//! resource servers and OIDC clients verify tokens without ever holding a secret.
//!
//! One key signs; a *next* key may be published before it signs (so caches of the JWKS know it
//! by the time it does) and *previous* keys stay published and verifying until what they signed
//! has expired. The keys come from PEM files the operator names (`SIGNING_KEY_FILE`, …) or, by
//! default, are derived from the master secret — which is generated once and kept in the store
//! when `JWT_SECRET` is unset — so restarts and every instance on one store agree on them.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::DecodingKey;
use p256::{
    elliptic_curve::sec1::ToEncodedPoint,
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    PublicKey, SecretKey,
};
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::server::core::keys::KeyRing;

/// The JWS algorithm of every key here (RFC 7518 §3.4).
pub const ALGORITHM_NAME: &str = "ES256";

/// The purpose the derived signing key is drawn from the master secret under (see
/// [`KeyRing::derive`]): its own key, unrelated to the refresh MAC's.
const DERIVED_PURPOSE: &str = "es256-signing-key";

/// A P-256 private key that signs. No `Serialize`; its `Debug` shows only the key id.
pub struct PrivateKey {
    secret: SecretKey,
    public: PublicJwk,
}

impl PrivateKey {
    /// A key from 32 bytes of secret material (an HMAC output): hashed again in the one case in
    /// 2^32 where the bytes are not a valid P-256 scalar.
    pub fn from_material(material: &[u8]) -> Self {
        let mut bytes = Sha256::digest(material);
        loop {
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return Self::from_secret(secret);
            }
            bytes = Sha256::digest(bytes);
        }
    }

    /// A PKCS#8 PEM private key (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
    pub fn from_pem(pem: &str) -> Result<Self, &'static str> {
        SecretKey::from_pkcs8_pem(pem)
            .map(Self::from_secret)
            .map_err(|_| "expected a PKCS#8 PEM P-256 private key (BEGIN PRIVATE KEY)")
    }

    fn from_secret(secret: SecretKey) -> Self {
        let public = PublicJwk::new(&secret.public_key());
        Self { secret, public }
    }

    /// The public half, as the JWKS publishes it; its `kid` names this key in token headers.
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// The key as ring's signing key pair, parsed once (see [`crate::server::core::tokens`]).
    pub fn key_pair(&self) -> EcdsaKeyPair {
        let public = self.secret.public_key().to_encoded_point(false);
        EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &self.secret.to_bytes(),
            public.as_bytes(),
            &SystemRandom::new(),
        )
        .expect("a valid P-256 key pair is accepted")
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(kid {}, <redacted>)", self.public.kid)
    }
}

/// A public key as the JWKS shows it (RFC 7517, RFC 7518 §6.2), named by its RFC 7638
/// thumbprint, so the same key gets the same `kid` wherever it is loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    /// Key type: always `EC`.
    pub kty: &'static str,
    /// Curve: always `P-256`.
    pub crv: &'static str,
    /// The point's x coordinate, 32 bytes, base64url without padding.
    pub x: String,
    /// The point's y coordinate, 32 bytes, base64url without padding.
    pub y: String,
    /// The RFC 7638 thumbprint (SHA-256, base64url): the `kid` of the tokens this key signs.
    pub kid: String,
    /// The one algorithm the key is used with: [`ALGORITHM_NAME`].
    pub alg: &'static str,
    /// `use` in JSON: always `sig`, the key signs and never encrypts.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl PublicJwk {
    /// The JWK of `key`, with its thumbprint as `kid`.
    pub fn new(key: &PublicKey) -> Self {
        let point = key.to_encoded_point(false);
        let coordinate = |bytes: Option<&_>| {
            URL_SAFE_NO_PAD.encode(bytes.expect("an uncompressed point has both coordinates"))
        };
        let (x, y) = (coordinate(point.x()), coordinate(point.y()));
        // RFC 7638 §3.2: the required members, in lexical order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            kty: "EC",
            crv: "P-256",
            x,
            y,
            kid,
            alg: ALGORITHM_NAME,
            use_: "sig",
        }
    }

    /// A PEM public key (`BEGIN PUBLIC KEY`) or private key (only its public half is kept).
    pub fn from_pem(pem: &str) -> Result<Self, &'static str> {
        if let Ok(key) = PublicKey::from_public_key_pem(pem) {
            return Ok(Self::new(&key));
        }
        PrivateKey::from_pem(pem)
            .map(|key| key.public)
            .map_err(|_| "expected a PEM P-256 public or private key")
    }

    /// The key as jsonwebtoken verifies with it: every published key verifies access tokens and
    /// ID-token hints, so tokens signed before a rotation stay valid.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ec_components(&self.x, &self.y)
            .expect("coordinates we encoded ourselves decode")
    }
}

/// The signing key, and every public key the JWKS publishes: the signing key's first, then the
/// next one (published, not yet signing), then the previous ones (still verifying).
pub struct SigningKeys {
    signing: PrivateKey,
    next: Option<PublicJwk>,
    previous: Vec<PublicJwk>,
}

impl SigningKeys {
    /// Keys from files: `signing` signs, `next` is published ahead of signing and `previous` stay
    /// published until what they signed has expired.
    pub fn new(signing: PrivateKey, next: Option<PublicJwk>, previous: Vec<PublicJwk>) -> Self {
        Self {
            signing,
            next,
            previous,
        }
    }

    /// The default without key files: derived from the master secret (`JWT_SECRET`, or the one
    /// generated once and kept in the store), and from each of `JWT_PREVIOUS_SECRETS` a
    /// previous key, so rotating the secret keeps earlier tokens verifiable, as before.
    pub fn derived(ring: &KeyRing) -> Self {
        let derived = ring.derive(DERIVED_PURPOSE);
        let mut keys = derived.verifying().map(PrivateKey::from_material);
        let signing = keys.next().expect("the signing key comes first");
        Self::new(signing, None, keys.map(|key| key.public).collect())
    }

    /// The key that signs every new access and ID token.
    pub fn signing(&self) -> &PrivateKey {
        &self.signing
    }

    /// Every published key, the signing key first.
    pub fn published(&self) -> impl Iterator<Item = &PublicJwk> {
        std::iter::once(self.signing.public())
            .chain(self.next.iter())
            .chain(self.previous.iter())
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("signing", &self.signing)
            .field("next", &self.next.as_ref().map(|key| &key.kid))
            .field("previous", &self.previous.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_stable_per_secret_and_previous_secrets_stay_published() {
        let first = SigningKeys::derived(&KeyRing::new(vec![1; 32], vec![]));
        let again = SigningKeys::derived(&KeyRing::new(vec![1; 32], vec![]));
        assert_eq!(first.signing().public(), again.signing().public());
        let rotated = SigningKeys::derived(&KeyRing::new(vec![2; 32], vec![vec![1; 32]]));
        let kids: Vec<_> = rotated.published().map(|key| key.kid.clone()).collect();
        assert_eq!(kids.len(), 2);
        assert_ne!(kids[0], first.signing().public().kid);
        assert_eq!(kids[1], first.signing().public().kid);
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 has no P-256 example: this pins the canonical form; the Node suite
        // (end2end/oidc) checks that jose's `calculateJwkThumbprint` agrees.
        let key = PrivateKey::from_material(&[7; 32]);
        let jwk = key.public();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk.x, jwk.y
        );
        assert_eq!(
            jwk.kid,
            URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!((jwk.x.len(), jwk.y.len(), jwk.kid.len()), (43, 43, 43));
    }

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let key = PrivateKey::from_material(&[7; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public().kid) && shown.contains("redacted"));
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode(key.secret.to_bytes())));
    }
}
