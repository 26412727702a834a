//! Authorization codes (RFC 6749 §4.1.2, RFC 7636): single-use, valid for 60 s, bound to the
//! client, the redirect URI and the PKCE challenge. Kept in the store as typed entries under a
//! digest of the code (`store::entries`, compare-and-swap), so a code issued by one instance is
//! redeemed once across all of them — and a second use by the same client with the same
//! verifier finds the session the first one started, to revoke it.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::server::core::store::{
    entries::{self, Write},
    Store, StoreResult,
};

/// How long a code may be exchanged (RFC 6749 §4.1.2 recommends at most ten minutes; the issue
/// asks for at most 60 s).
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// How long a code is remembered after it was issued, so a replay still finds (and revokes)
/// what the first exchange started.
const CODE_MEMORY: Duration = Duration::from_secs(600);

/// What an authorization code stands for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client the code was issued to; only it may redeem the code.
    pub client_id: String,
    /// The redirect URI of the authorization request, which the token request must repeat
    /// exactly (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// `BASE64URL(SHA256(code_verifier))` (RFC 7636 §4.2, S256).
    pub code_challenge: String,
    /// The signed-in user the code stands for: the family's owner and the tokens' `sub`.
    pub user_id: String,
    /// The scope granted, space-separated (RFC 6749 §3.3); the family the code starts keeps it.
    pub scope: String,
    /// The client's `nonce`, repeated in the ID token so it can detect a replayed one
    /// (OIDC Core §3.1.2.1).
    pub nonce: Option<String>,
    /// When the user signed in (seconds), for the ID token's `auth_time`.
    pub auth_time: u64,
    /// The audience the tokens are for (RFC 8707 `resource`): this provider's API, or a
    /// registered resource server's indicator. Codes issued before it existed are for the API.
    #[serde(default = "api_audience")]
    pub audience: String,
    /// When the code was issued (ms since the Unix epoch): it expires [`CODE_LIFETIME`] later.
    pub issued_ms: u64,
    /// The session the code was exchanged for, once it was.
    #[serde(default)]
    pub exchanged_for: Option<String>,
    /// Set when a second use was seen, so the first exchange revokes what it started even if
    /// the replay came before its family was written.
    #[serde(default)]
    pub replayed: bool,
}

fn api_audience() -> String {
    crate::server::core::tokens::AUDIENCE.to_owned()
}

/// What presenting a code came to.
#[derive(Debug)]
pub enum Redeemed {
    /// First use, bindings checked: the grant, now marked as exchanged for the given session.
    Fresh(CodeGrant),
    /// Second use by the same client with the same redirect URI and verifier: the session the
    /// first exchange started (to be revoked), if it did.
    Replayed(Option<String>),
    /// Unknown, expired, or bound to another client, redirect URI or verifier — spent or not:
    /// nothing was written.
    Refused(&'static str),
}

/// A new code for `grant`, stored until it can no longer matter.
pub async fn issue(store: &dyn Store, grant: CodeGrant) -> StoreResult<String> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    let expires_at_ms = grant.issued_ms + CODE_MEMORY.as_millis() as u64;
    entries::decide(store, &key(&code), |_: Option<CodeGrant>| {
        (
            (),
            Some(Write {
                state: grant.clone(),
                expires_at_ms,
            }),
        )
    })
    .await?;
    Ok(code)
}

/// Redeems `code` at `now_ms` for `session_id`, if `bindings` accepts the grant: one atomic
/// decision, so of two concurrent uses exactly one is `Fresh`.
///
/// A spent code is `Replayed` — and its session revoked by the caller — only when `bindings`
/// accept it too: the same client, redirect URI and PKCE verifier. Anyone else who saw a used
/// code (a log, a `Referer`) gets a plain refusal that writes nothing, so they cannot end the
/// user's session with it.
pub async fn redeem(
    store: &dyn Store,
    code: &str,
    now_ms: u64,
    session_id: &str,
    bindings: impl Fn(&CodeGrant) -> Result<(), &'static str>,
) -> StoreResult<Redeemed> {
    entries::decide(store, &key(code), |stored: Option<CodeGrant>| {
        let Some(mut grant) = stored else {
            return (Redeemed::Refused("unknown authorization code"), None);
        };
        let expires_at_ms = grant.issued_ms + CODE_MEMORY.as_millis() as u64;
        let spent = grant.exchanged_for.is_some() || grant.replayed;
        if !spent && now_ms >= grant.issued_ms + CODE_LIFETIME.as_millis() as u64 {
            return (Redeemed::Refused("the authorization code expired"), None);
        }
        // Checked before the code is spent, and before a replay revokes anything: someone
        // holding a code but not its client and verifier can neither burn the rightful
        // client's code nor end the session it started.
        if let Err(reason) = bindings(&grant) {
            return (Redeemed::Refused(reason), None);
        }
        if spent {
            let first = grant.exchanged_for.clone();
            grant.replayed = true;
            let write = Write {
                state: grant,
                expires_at_ms,
            };
            return (Redeemed::Replayed(first), Some(write));
        }
        grant.exchanged_for = Some(session_id.to_owned());
        let write = Write {
            state: grant.clone(),
            expires_at_ms,
        };
        (Redeemed::Fresh(grant), Some(write))
    })
    .await
}

/// Whether a replay was seen since the code was redeemed (read after the family is written).
pub async fn was_replayed(store: &dyn Store, code: &str) -> StoreResult<bool> {
    Ok(entries::read::<CodeGrant>(store, &key(code))
        .await?
        .is_some_and(|grant| grant.replayed))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, and a verifier
/// of 43 to 128 unreserved characters (§4.1).
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// The store key: a digest, so the store never holds a usable code.
fn key(code: &str) -> String {
    let digest = Sha256::digest(code.as_bytes());
    format!("oauth-code:{}", URL_SAFE_NO_PAD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!verifier_matches("short", challenge));
    }
}
