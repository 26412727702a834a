//! ID tokens (OpenID Connect Core §2): who signed in, for which client, signed with the same
//! ES256 key as access tokens and checked by clients against the JWKS.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{decode, decode_header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{api::auth::User, server::http::state::IdpState};

/// The claims of an ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdClaims {
    /// The issuer: the same as discovery's and the authorization response's (RFC 9207).
    pub iss: String,
    /// The user's id (`u-<username>`).
    pub sub: String,
    /// The client the token was issued to.
    pub aud: String,
    /// Expiry, seconds since the epoch: an access token's lifetime after `iat`.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// When the user signed in (Core §2); left out of refreshed ID tokens (§12.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Echoed from the authorization request (Core §3.1.2.1), only in the code exchange's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Core §3.1.3.6: the left half of the SHA-256 of the access token issued beside this ID
    /// token, base64url — so a client can tell the two were issued together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The session (refresh family) — what RP-initiated logout ends.
    pub sid: String,
    /// The username the user signs in with.
    pub preferred_username: String,
    /// The user's own claims (`USERS_FILE`) that the granted scope releases (OIDC Core §5.4:
    /// `email` with `email`, `department` with `profile`…). The file may not name any claim
    /// above (`core::users::claims::RESERVED`), so none is written twice.
    #[serde(flatten)]
    pub released: Map<String, Value>,
}

/// What an ID token is about.
pub struct Subject<'a> {
    /// Becomes `iss`.
    pub issuer: &'a str,
    /// Becomes `sub` and `preferred_username`; their own claims come from the user store.
    pub user: &'a User,
    /// Becomes `aud`.
    pub client_id: &'a str,
    /// Becomes `sid`.
    pub session_id: &'a str,
    /// Becomes `auth_time`, when known.
    pub auth_time: Option<u64>,
    /// Becomes `nonce`, when the authorization request had one.
    pub nonce: Option<String>,
    /// The access token issued beside the ID token: becomes `at_hash`.
    pub access_token: Option<&'a str>,
}

/// Core §3.1.3.6 `at_hash` for ES256: the left-most 128 bits of SHA-256, base64url.
fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

/// Mints an ID token living as long as an access token: the provider's claims, and the user's
/// own (`USERS_FILE`) that the grant's space-separated `scope` releases — `email` with `email`,
/// the rest of the profile with `profile` (OIDC Core §5.4).
pub fn mint(state: &IdpState, subject: Subject<'_>, scope: &str) -> String {
    let now = state.clock.now_secs();
    let claims = IdClaims {
        iss: subject.issuer.to_owned(),
        sub: subject.user.id.clone(),
        aud: subject.client_id.to_owned(),
        exp: now + state.config.access_token_ttl.as_secs().max(1),
        iat: now,
        auth_time: subject.auth_time,
        nonce: subject.nonce,
        at_hash: subject.access_token.map(at_hash),
        sid: subject.session_id.to_owned(),
        preferred_username: subject.user.username.clone(),
        released: state.users.claims(&subject.user.id, scope),
    };
    state.tokens.sign("JWT", &claims)
}

/// An `id_token_hint` (RP-Initiated Logout §2): one we signed, whatever its age — a hint may
/// have expired by the time the user signs out.
pub fn verify_hint(state: &IdpState, token: &str) -> Option<IdClaims> {
    let header = decode_header(token).ok()?;
    let (algorithm, key) = state.tokens.verifying_key(header.kid.as_deref()?)?;
    if header.alg != algorithm {
        return None;
    }
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    decode::<IdClaims>(token, key, &validation)
        .ok()
        .map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    /// OpenID Connect Core §3.1.3.6 with the SHA-256 of a known input, checked independently
    /// (`printf %s token | openssl dgst -sha256 -binary | head -c16 | basenc --base64url`).
    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_base64url() {
        assert_eq!(super::at_hash("token"), "PEaenWxYddN6Q_NT1PiOYQ");
    }
}
