//! ID tokens (OpenID Connect Core §2): who signed in, for which client, signed with the same
//! ES256 key as access tokens and checked by clients against the JWKS.

use jsonwebtoken::{decode, decode_header, Validation};
use serde::{Deserialize, Serialize};

use crate::{api::auth::User, server::http::state::IdpState};

/// The claims of an ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    /// When the user signed in (Core §2); left out of refreshed ID tokens (§12.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Echoed from the authorization request (Core §3.1.2.1), only in the code exchange's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The session (refresh family) — what RP-initiated logout ends.
    pub sid: String,
    pub preferred_username: String,
}

/// What an ID token is about.
pub struct Subject<'a> {
    pub issuer: &'a str,
    pub user: &'a User,
    pub client_id: &'a str,
    pub session_id: &'a str,
    pub auth_time: Option<u64>,
    pub nonce: Option<String>,
}

/// Mints an ID token living as long as an access token.
pub fn mint(state: &IdpState, subject: Subject<'_>) -> String {
    let now = state.clock.now_secs();
    let claims = IdClaims {
        iss: subject.issuer.to_owned(),
        sub: subject.user.id.clone(),
        aud: subject.client_id.to_owned(),
        exp: now + state.config.access_token_ttl.as_secs().max(1),
        iat: now,
        auth_time: subject.auth_time,
        nonce: subject.nonce,
        sid: subject.session_id.to_owned(),
        preferred_username: subject.user.username.clone(),
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
