//! DPoP proofs (RFC 9449): a client proves, request by request, that it holds the private key a
//! token is bound to, so a stolen token is worth nothing without the key.
//!
//! A proof is a JWT the client signs with its key, the public half in its header. It is checked
//! completely here (§4.3): `typ: dpop+jwt`; an asymmetric `alg` (ES256); a public `jwk` only,
//! never one with private parts; `htm` and `htu` (without query and fragment) naming this very
//! request; `iat` within [`PROOF_WINDOW_SECS`] of now; `ath` the hash of the access token it
//! comes with; and a server nonce (§8). The key's RFC 7638 thumbprint (`jkt`) is what tokens and
//! refresh families are bound to. Whether its `jti` was seen before is the caller's check (the
//! token endpoint asks the store, so every instance on it agrees).
//!
//! Nonces are stateless: an HMAC of the current time window under a key derived from the master
//! secret, so every instance sharing the secret issues and accepts the same nonces with no write
//! per nonce. A nonce is good for its window and the next one.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `typ` of a proof (§4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The proof algorithms accepted, for discovery's `dpop_signing_alg_values_supported`.
pub const ALGORITHMS: &[&str] = &["ES256"];
/// How far a proof's `iat` may be from now, either way (§11.1): clocks drift a little.
pub const PROOF_WINDOW_SECS: u64 = 60;
/// How long one nonce window lasts; a nonce is accepted in its window and the next.
pub const NONCE_WINDOW_SECS: u64 = 300;

/// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What the proof must be about: this request.
pub struct Expected<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The request's URL without query and fragment (`htu`): this provider's issuer and path.
    pub url: &'a str,
    /// The access token the proof comes with, whose hash `ath` must be (at a resource).
    pub access_token: Option<&'a str>,
    /// Now, in seconds since the epoch.
    pub now_secs: u64,
}

/// A proof that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of its key: what a token's `cnf.jkt` names.
    pub jkt: String,
    /// Its identifier, to be used once.
    pub jti: String,
    /// When it was made.
    pub iat: u64,
}

/// Why a proof was refused; the text is for logs and `error_description`, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a proof, or one that fails a check: `invalid_dpop_proof`.
    #[error("{0}")]
    Invalid(&'static str),
    /// No nonce, or one past its window: `use_dpop_nonce`, with a fresh one to retry with.
    #[error("a current DPoP nonce is required")]
    UseNonce,
}

/// The claims of a proof.
#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks `proof` against what it must be about; its key's thumbprint when it holds.
pub fn verify(proof: &str, expected: &Expected<'_>, nonces: &Nonces) -> Result<Proof, ProofError> {
    let invalid = ProofError::Invalid;
    let header = proof.split('.').next().unwrap_or_default();
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(invalid("not a JWT"))?;
    if header["typ"] != PROOF_TYPE {
        return Err(invalid("typ is not dpop+jwt"));
    }
    // The one asymmetric algorithm this provider checks; `none` and HS256 never pass (§4.3).
    if header["alg"] != "ES256" {
        return Err(invalid("alg must be ES256"));
    }
    let jwk = header["jwk"].as_object().ok_or(invalid("no jwk"))?;
    if PRIVATE_MEMBERS
        .iter()
        .any(|member| jwk.contains_key(*member))
    {
        return Err(invalid("the jwk holds a private key"));
    }
    let (Some("EC"), Some("P-256"), Some(x), Some(y)) = (
        jwk.get("kty").and_then(Value::as_str),
        jwk.get("crv").and_then(Value::as_str),
        jwk.get("x").and_then(Value::as_str),
        jwk.get("y").and_then(Value::as_str),
    ) else {
        return Err(invalid("the jwk is not a P-256 public key"));
    };
    let key = DecodingKey::from_ec_components(x, y).map_err(|_| invalid("a bad jwk"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let claims = decode::<Claims>(proof, &key, &validation)
        .map_err(|_| invalid("a bad signature or claims"))?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid("jti"));
    }
    if claims.htm != expected.method {
        return Err(invalid("htm is not this request's method"));
    }
    // §4.3 step 9: compared without query and fragment.
    let htu = claims.htu.split(['?', '#']).next().unwrap_or_default();
    if htu != expected.url {
        return Err(invalid("htu is not this request's URL"));
    }
    if claims.iat.abs_diff(expected.now_secs) > PROOF_WINDOW_SECS {
        return Err(invalid("iat is outside the accepted window"));
    }
    match (expected.access_token, &claims.ath) {
        (Some(token), Some(ath)) if *ath == token_hash(token) => {}
        (Some(_), _) => return Err(invalid("ath is not the access token's hash")),
        (None, _) => {}
    }
    if !claims
        .nonce
        .as_deref()
        .is_some_and(|nonce| nonces.accepts(nonce, expected.now_secs))
    {
        return Err(ProofError::UseNonce);
    }
    Ok(Proof {
        jkt: thumbprint(x, y),
        jti: claims.jti,
        iat: claims.iat,
    })
}

/// RFC 7638: the SHA-256 of the key's required members, in lexicographic order, base64url.
pub fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// §4.2 `ath`: the base64url SHA-256 of the access token.
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Server nonces (§8, §9) every instance with the same master secret agrees on.
pub struct Nonces {
    key: Vec<u8>,
}

impl Nonces {
    /// Nonces under `key` (derived from the master secret for this purpose alone).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The nonce of the window `now_secs` falls in.
    pub fn current(&self, now_secs: u64) -> String {
        let window = now_secs / NONCE_WINDOW_SECS;
        let mut nonce = window.to_be_bytes().to_vec();
        nonce.extend_from_slice(&self.tag(window));
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// Whether `nonce` is ours, of the current window or the one before.
    pub fn accepts(&self, nonce: &str, now_secs: u64) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((window, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let window = u64::from_be_bytes(*window);
        let current = now_secs / NONCE_WINDOW_SECS;
        (window == current || window + 1 == current) && self.tag(window).as_slice() == tag
    }

    fn tag(&self, window: u64) -> [u8; 16] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(&window.to_be_bytes());
        let mut tag = [0; 16];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        tag
    }
}

#[cfg(test)]
mod tests;
