//! A resource server's DPoP check (RFC 9449 §7), with the JWKS-only verifier beside it: a token
//! bound to a key (`cnf.jkt`) is accepted only with a proof of that key for this very request —
//! `typ: dpop+jwt`, ES256, a public P-256 `jwk`, this method (`htm`) and URL (`htu`), an `iat`
//! within a minute, the token's hash (`ath`) — and each proof once. It asks for no server
//! nonce (RFC 9449 §9 leaves that to the resource).
//!
//! Copy it with `verifier.rs`; it needs `base64`, `jsonwebtoken`, `serde_json` and `sha2`.

use std::{collections::HashMap, sync::Mutex};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How far a proof's `iat` may be from now, either way.
const WINDOW_SECS: u64 = 60;

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    ath: Option<String>,
}

/// Checks proofs and remembers the ones it accepted while they could be replayed.
#[derive(Default)]
pub struct ProofChecker {
    seen: Mutex<HashMap<String, u64>>,
}

impl ProofChecker {
    /// Whether `proof` proves the key `jkt` for `method` at `url` with `access_token`, at
    /// `now` (seconds since the epoch); why not, if it does not.
    pub fn check(
        &self,
        proof: &str,
        method: &str,
        url: &str,
        access_token: &str,
        jkt: &str,
        now: u64,
    ) -> Result<(), &'static str> {
        let header: Value = proof
            .split('.')
            .next()
            .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or("not a JWT")?;
        if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
            return Err("not an ES256 dpop+jwt");
        }
        let jwk = &header["jwk"];
        if ["d", "p", "q", "k"]
            .iter()
            .any(|private| !jwk[private].is_null())
        {
            return Err("a private key in jwk");
        }
        let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
            return Err("not a P-256 jwk");
        };
        if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || thumbprint(x, y) != jkt {
            return Err("not the key the token is bound to");
        }
        let key = DecodingKey::from_ec_components(x, y).map_err(|_| "a bad jwk")?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let claims = decode::<ProofClaims>(proof, &key, &validation)
            .map_err(|_| "a bad signature")?
            .claims;
        let htu = claims.htu.split(['?', '#']).next().unwrap_or_default();
        if claims.htm != method || htu != url {
            return Err("not a proof for this request");
        }
        if claims.iat.abs_diff(now) > WINDOW_SECS {
            return Err("iat outside the window");
        }
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()));
        if claims.ath.as_deref() != Some(ath.as_str()) {
            return Err("ath is not this token's hash");
        }
        let mut seen = self.seen.lock().expect("not poisoned");
        seen.retain(|_, iat| iat.abs_diff(now) <= WINDOW_SECS);
        if seen
            .insert(format!("{jkt}.{}", claims.jti), claims.iat)
            .is_some()
        {
            return Err("the proof was used before");
        }
        Ok(())
    }
}

/// RFC 7638: what `cnf.jkt` names for a P-256 key.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
