//! DPoP at the HTTP boundary (RFC 9449): reading the `DPoP` header, checking its proof for
//! this request (`core::dpop`), refusing a proof used twice, and handing out nonces. The token
//! endpoint asks the store whether a proof's `jti` was seen — every instance on it agrees —
//! and a resource remembers the proofs it saw in memory, for as long as one is accepted.

use axum::http::{header::HeaderName, HeaderMap, HeaderValue};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use crate::server::{
    core::{
        dpop::{self, Expected, Nonces, Proof, ProofError, PROOF_WINDOW_SECS},
        keys::DerivedKeys,
    },
    http::{error::ApiError, oidc::error::OAuthError, state::IdpState},
};

/// The request header that carries a proof (§4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The response header that carries a fresh nonce (§8).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// How many proofs a resource remembers: past it the oldest go, and one of them could be
/// replayed within its minute — a bound token's thief would still need the key for a new one.
const SEEN_AT_RESOURCE: usize = 100_000;

/// What the server keeps for DPoP: its nonces and the proofs its resources have seen.
pub struct DpopChecks {
    nonces: Nonces,
    seen: Cache<String, ()>,
}

impl DpopChecks {
    /// Nonces under a key of their own, derived from the master secret.
    pub fn new(keys: &DerivedKeys) -> Self {
        Self {
            nonces: Nonces::new(keys.signing()),
            seen: Cache::new(SEEN_AT_RESOURCE),
        }
    }

    /// The nonce to send now, as a header value.
    pub fn nonce_header(&self, now_secs: u64) -> HeaderValue {
        HeaderValue::from_str(&self.nonces.current(now_secs)).expect("base64url is a header value")
    }
}

/// The one `DPoP` header of a request, if any; two are a malformed request (§4.3 step 1).
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one DPoP header");
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| "the DPoP header is not text")
}

/// The token endpoint's proof (§5), if the request has one: checked for `POST` at this
/// provider's token URL, with a current nonce, its `jti` never seen before by any instance on
/// the store. `None` without a header, or with DPoP off (`DPOP=off`).
pub async fn token_endpoint_proof(
    state: &IdpState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<Proof>, OAuthError> {
    let Some(checks) = &state.dpop else {
        return Ok(None);
    };
    let Some(proof) = proof_header(headers).map_err(OAuthError::InvalidDpopProof)? else {
        return Ok(None);
    };
    let now_secs = state.clock.now_secs();
    let url = format!("{}{path}", state.config.issuer);
    let expected = Expected {
        method: "POST",
        url: &url,
        access_token: None,
        now_secs,
    };
    let proof = dpop::verify(proof, &expected, &checks.nonces).map_err(|error| match error {
        ProofError::UseNonce => OAuthError::UseDpopNonce(checks.nonces.current(now_secs)),
        ProofError::Invalid(reason) => OAuthError::InvalidDpopProof(reason),
    })?;
    // §11.1: a proof is used once. Kept in the store for as long as its `iat` is accepted.
    let expires_ms = (proof.iat + 2 * PROOF_WINDOW_SECS) * 1000;
    let first_use = state
        .store
        .replace_throttle(&seen_key(&proof), None, "", expires_ms)
        .await?;
    if !first_use {
        return Err(OAuthError::InvalidDpopProof("the proof was used before"));
    }
    Ok(Some(proof))
}

/// A resource's proof for an access token bound to `jkt` (§7): checked for this request's
/// method and URL, the token's hash, a current nonce, and the key the token is bound to; a
/// proof this instance saw before is refused.
pub fn resource_proof(
    state: &IdpState,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: &str,
    jkt: &str,
) -> Result<(), ApiError> {
    let Some(checks) = &state.dpop else {
        return Err(ApiError::InvalidToken);
    };
    let proof = proof_header(headers)
        .map_err(|_| ApiError::InvalidDpopProof)?
        .ok_or(ApiError::InvalidDpopProof)?;
    let now_secs = state.clock.now_secs();
    let url = format!("{}{path}", state.config.issuer);
    let expected = Expected {
        method,
        url: &url,
        access_token: Some(access_token),
        now_secs,
    };
    let proof = dpop::verify(proof, &expected, &checks.nonces).map_err(|error| match error {
        ProofError::UseNonce => ApiError::UseDpopNonce(checks.nonces.current(now_secs)),
        ProofError::Invalid(reason) => {
            tracing::debug!(reason, "DPoP proof refused");
            ApiError::InvalidDpopProof
        }
    })?;
    if proof.jkt != jkt {
        tracing::debug!("DPoP proof of another key than the token is bound to");
        return Err(ApiError::InvalidDpopProof);
    }
    let key = seen_key(&proof);
    if checks.seen.get(&key).is_some() {
        return Err(ApiError::InvalidDpopProof);
    }
    checks.seen.insert(key, ());
    Ok(())
}

/// The key a proof is remembered under: its key's thumbprint and its `jti`, hashed to a fixed
/// length whatever the client sent.
fn seen_key(proof: &Proof) -> String {
    let digest = Sha256::digest(format!("{}.{}", proof.jkt, proof.jti));
    format!("dpop-jti:{}", URL_SAFE_NO_PAD.encode(&digest[..18]))
}
