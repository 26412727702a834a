//! Access tokens: short-lived JWTs, signed with ES256 by default (the public keys are the JWKS,
//! `server::core::signing`) and checked strictly (RFC 8725): `exp`, `iat`, `iss`, `aud`, `sub` and
//! the session id are all required, `typ` must be `at+jwt` (RFC 9068 §2.1, RFC 8725 §3.11: no
//! other JWT can pass for an access token), and `kid` names the key — and with it the one
//! algorithm that key is accepted with, so a token cannot choose how it is checked (RFC 8725
//! §3.1: no HS256 token "signed" with a public key).
//!
//! A token whose signature was checked once is remembered by its exact text: a client sends
//! the same token with every request for its whole lifetime, and the signature check (an ECDSA
//! verify, ~0.3 ms; an HMAC ~5 µs: `docs/verify-cost-per-algorithm.md`) would be most of what a
//! protected request costs.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use quick_cache::sync::Cache;
use ring::{rand::SystemRandom, signature::EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::server::core::{
    clock::Clock,
    keys::{key_id, DerivedKeys},
    signing::SigningKeys,
    store::FIRST_PARTY_CLIENT,
};

/// RFC 9068 §2.1: the `typ` of a JWT access token (`application/at+jwt` is the long form).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The `iss` of the previous format's access tokens, accepted only during the upgrade window
/// (`server::core::upgrade`); every token now names the issuer of discovery.
pub const PREVIOUS_ISSUER: &str = "tokenflight";
/// The `aud` of access tokens for this provider's own API; a token for another audience (a
/// resource server's, RFC 8707) is refused here.
pub const AUDIENCE: &str = "tokenflight-api";

/// How many verified tokens are remembered: about one per active client, at ~0.5 KB each.
/// Past it the least useful entries are dropped and their next use is checked again.
const VERIFIED_TOKENS_CAPACITY: usize = 10_000;

/// One key that verifies: its `kid`, the only algorithm it is accepted with, and — for the keys
/// of the previous token format (HS256, ES256 derived from the master secret) — the second
/// after which it is no longer accepted, which no token it verifies may outlive.
struct VerifyingKey {
    kid: String,
    algorithm: Algorithm,
    key: DecodingKey,
    until_secs: Option<u64>,
}

/// The key that signs: ES256 with ring's key pair, parsed once (jsonwebtoken's RustCrypto
/// backend re-parses the key and derives its public point on every signature: 447 µs a token
/// against 12 µs, `docs/verify-cost-per-algorithm.md`); HS256 through jsonwebtoken.
enum Signer {
    // Boxed: the key pair is 240 bytes, the HMAC key 32.
    Es256(Box<EcdsaKeyPair>),
    Hs256(EncodingKey),
}

impl Signer {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Es256(_) => Algorithm::ES256,
            Self::Hs256(_) => Algorithm::HS256,
        }
    }

    /// The JWS compact serialisation (RFC 7515 §7.1) of `claims` under `header`.
    fn sign(&self, header: &Header, claims: &impl Serialize) -> String {
        const INFALLIBLE: &str = "signing a serialisable struct with a valid key cannot fail";
        match self {
            Self::Hs256(key) => encode(header, claims, key).expect(INFALLIBLE),
            Self::Es256(pair) => {
                let input = format!("{}.{}", segment(header), segment(claims));
                // RFC 7518 §3.4: the signature is R ‖ S, 64 bytes (ring's "fixed" format).
                let signature = pair
                    .sign(&SystemRandom::new(), input.as_bytes())
                    .expect(INFALLIBLE);
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
            }
        }
    }
}

/// A fresh `jti`: 128 random bits, base64url.
fn token_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// One part of a JWS: the value's JSON, base64url without padding (RFC 7515 §2).
fn segment(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("headers and claims serialise"))
}

/// The key that signs and the keys that verify, each pinned to one algorithm.
pub struct TokenKeys {
    signing_kid: String,
    signer: Signer,
    verifying: Vec<VerifyingKey>,
}

impl TokenKeys {
    /// ES256: the signing key signs; it and every other published key (next, previous) verify.
    pub fn es256(keys: &SigningKeys) -> Self {
        Self {
            signing_kid: keys.signing().public().kid.clone(),
            signer: Signer::Es256(Box::new(keys.signing().key_pair())),
            verifying: keys
                .published()
                .map(|jwk| VerifyingKey {
                    kid: jwk.kid.clone(),
                    algorithm: Algorithm::ES256,
                    key: jwk.decoding_key(),
                    until_secs: None,
                })
                .collect(),
        }
    }

    /// HS256 with shared keys: how access tokens were signed before ES256; kept for the
    /// benchmark's comparison and unit tests.
    pub fn hs256(keys: impl Into<DerivedKeys>) -> Self {
        let keys = keys.into();
        Self {
            signing_kid: key_id(keys.signing()),
            signer: Signer::Hs256(EncodingKey::from_secret(keys.signing())),
            verifying: keys
                .verifying()
                .map(|key| VerifyingKey {
                    kid: key_id(key),
                    algorithm: Algorithm::HS256,
                    key: DecodingKey::from_secret(key),
                    until_secs: None,
                })
                .collect(),
        }
    }

    /// Also accepts HS256 tokens of `keys` (what the version before ES256 signed) until
    /// `until_secs`, the end of the upgrade window (`server::core::upgrade`): the tokens it
    /// issued keep working until they expire, and none after.
    pub fn accepting_hs256_until(mut self, keys: &DerivedKeys, until_secs: u64) -> Self {
        self.verifying
            .extend(keys.verifying().map(|key| VerifyingKey {
                kid: key_id(key),
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(key),
                until_secs: Some(until_secs),
            }));
        self
    }

    /// Also accepts ES256 tokens of `keys` (the previous format's keys, derived from the master
    /// secret) until `until_secs`, the end of the upgrade window; they never sign.
    pub fn accepting_es256_until(mut self, keys: &SigningKeys, until_secs: u64) -> Self {
        self.verifying
            .extend(keys.published().map(|jwk| VerifyingKey {
                kid: jwk.kid.clone(),
                algorithm: Algorithm::ES256,
                key: jwk.decoding_key(),
                until_secs: Some(until_secs),
            }));
        self
    }

    /// The verifying key `kid` names, with its pinned algorithm, if it is accepted at `now`.
    fn find(&self, kid: &str, now_secs: u64) -> Option<&VerifyingKey> {
        self.verifying
            .iter()
            .find(|key| key.kid == kid && key.until_secs.is_none_or(|until| now_secs < until))
    }
}

/// A shared key, HS256 (tests, benchmarks).
impl From<Vec<u8>> for TokenKeys {
    fn from(key: Vec<u8>) -> Self {
        Self::hs256(key)
    }
}

impl From<DerivedKeys> for TokenKeys {
    fn from(keys: DerivedKeys) -> Self {
        Self::hs256(keys)
    }
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer of discovery (`PUBLIC_ORIGIN` or the listening address); [`PREVIOUS_ISSUER`]
    /// in tokens of the previous format.
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session (refresh family) the token belongs to: revoking it revokes the token.
    pub sid: String,
    /// When the token was issued, in whole seconds since the Unix epoch.
    pub iat: u64,
    /// When it expires, in whole seconds since the Unix epoch; never after its session's end.
    pub exp: u64,
    /// Sequence number within the session, so "every token issued so far" can be cut off.
    pub ver: u64,
    /// RFC 9068 §2.2: the OAuth client the token was issued to — the demo's own session has a
    /// client id of its own, [`FIRST_PARTY_CLIENT`]; a machine token's is its `sub`. Absent
    /// only from tokens of the previous format, which expire within one token lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// RFC 9068 §2.2.3: the scopes granted, space-separated. Absent from the first-party
    /// session's tokens, which carry the user's whole authority (its roles decide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 9068 §2.2, RFC 7519 §4.1.7: this token's own identifier, random, never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// RFC 9068 §2.2.1: when the user signed in, in seconds since the epoch, where known — the
    /// first-party session's start, an OAuth code's sign-in; not kept across an OAuth refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// RFC 9449 §6.1: the key the token is bound to (DPoP); a bound token is accepted only
    /// with a proof of that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// RFC 7800 `cnf` as DPoP uses it: the bound key's RFC 7638 thumbprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The SHA-256 JWK thumbprint of the client's public key.
    pub jkt: String,
}

/// Whom an access token is for, beyond its user and session (RFC 9068 §2.2): the client it was
/// issued to and the scopes that client was granted.
#[derive(Clone, Copy, Debug)]
pub struct IssuedTo<'a> {
    /// The OAuth client (`client_id`).
    pub client_id: &'a str,
    /// The granted scopes, space-separated; `None` for the first-party session.
    pub scope: Option<&'a str>,
    /// The user's own claims the operator asked access tokens to carry (`ACCESS_TOKEN_CLAIMS`,
    /// RFC 9068 §2.2.2); never one of ours, which `USERS_FILE` and the variable both refuse.
    pub user_claims: Option<&'a Map<String, Value>>,
    /// When the user signed in (`auth_time`), where known.
    pub auth_time: Option<u64>,
    /// The `aud`: [`AUDIENCE`], or a registered resource server's indicator (RFC 8707).
    pub audience: &'a str,
    /// The DPoP key the token is bound to (`cnf.jkt`), if the client proved one.
    pub dpop_jkt: Option<&'a str>,
}

impl IssuedTo<'static> {
    /// The demo's own browser session: its own client id, no scope (its roles decide).
    pub const FIRST_PARTY: Self = Self {
        client_id: FIRST_PARTY_CLIENT,
        scope: None,
        user_claims: None,
        auth_time: None,
        audience: AUDIENCE,
        dpop_jkt: None,
    };
}

/// What an access token's payload is written as: the user's claims the operator asked for
/// beside ours.
#[derive(Serialize)]
struct Minted<'a> {
    #[serde(flatten)]
    user_claims: Option<&'a Map<String, Value>>,
    #[serde(flatten)]
    claims: &'a AccessClaims,
}

/// What a token's payload is read as: our claims, and `nbf`, which we never set but must honour
/// when present (RFC 7519 §4.1.5).
#[derive(Deserialize)]
struct Decoded {
    #[serde(flatten)]
    claims: AccessClaims,
    nbf: Option<u64>,
}

/// Why a token was refused. Logged, never shown: the client just sees `invalid_token`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of ours (format, `typ`, `kid`, signature, `iss`, `aud`, a claim); the text
    /// says which check failed.
    #[error("malformed or badly signed: {0}")]
    Invalid(String),
    /// Genuine, but past its `exp`: the client refreshes and retries.
    #[error("expired")]
    Expired,
}

/// Mints and verifies access tokens (and signs ID tokens) with the server's keys and clock.
pub struct TokenIssuer {
    keys: TokenKeys,
    /// The `iss` of every token (`Config::issuer`).
    issuer: String,
    /// The end of the upgrade window, if this start opened one: until then a token of the
    /// previous format (`iss` = [`PREVIOUS_ISSUER`]) is accepted.
    previous_format_until: Option<u64>,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    /// Tokens whose signature and claims passed, by their exact text (so a token that differs
    /// in one byte is checked afresh). Only `exp` is re-checked on a hit; revocation is the
    /// caller's check, made on every request either way.
    verified: Cache<String, Arc<AccessClaims>>,
}

impl TokenIssuer {
    /// Mints tokens signed with `keys` that live `ttl` (`ACCESS_TOKEN_TTL_SECS`) by `clock`,
    /// naming `issuer`.
    pub fn new(
        keys: impl Into<TokenKeys>,
        issuer: impl Into<String>,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys: keys.into(),
            issuer: issuer.into(),
            previous_format_until: None,
            ttl,
            clock,
            verified: Cache::new(VERIFIED_TOKENS_CAPACITY),
        }
    }

    /// Also accepts tokens of the previous format until `until_secs` (`server::core::upgrade`).
    pub fn accepting_previous_format_until(mut self, until_secs: Option<u64>) -> Self {
        self.previous_format_until = until_secs;
        self
    }

    /// The `iss` every token names.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A first-party token for the full TTL, with no session end to respect (benchmarks,
    /// tests).
    pub fn issue(&self, user_id: &str, session_id: &str, ver: u64) -> String {
        self.issue_within(
            user_id,
            session_id,
            ver,
            Duration::MAX,
            IssuedTo::FIRST_PARTY,
        )
        .0
    }

    /// A token for a session that ends in `session_left`, and its lifetime in seconds (the
    /// `expires_in`): it never outlives its session, so no instance needs a store lookup to
    /// refuse it after the session's absolute end.
    ///
    /// `exp` is in whole seconds, so it is rounded *up* from now + TTL: a token issued at x.95 s
    /// with a one-second TTL must not die 50 ms later while its `expires_in` promises a second
    /// (the client would send it, and its retry, to a certain 401). It lives at least its
    /// `expires_in`, at most one second more, and never past the session's end.
    pub fn issue_within(
        &self,
        user_id: &str,
        session_id: &str,
        ver: u64,
        session_left: Duration,
        issued_to: IssuedTo<'_>,
    ) -> (String, u64) {
        let now_ms = self.clock.now_ms();
        let after =
            |span: Duration| now_ms.saturating_add(span.as_millis().try_into().unwrap_or(u64::MAX));
        let (ttl_ends_ms, session_ends_ms) = (after(self.ttl), after(session_left));
        let exp = ttl_ends_ms.div_ceil(1000).min(session_ends_ms / 1000);
        let lifetime = (exp * 1000).saturating_sub(now_ms) / 1000;
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: issued_to.audience.to_owned(),
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now_ms / 1000,
            exp,
            ver,
            client_id: Some(issued_to.client_id.to_owned()),
            scope: issued_to.scope.map(str::to_owned),
            jti: Some(token_id()),
            auth_time: issued_to.auth_time,
            cnf: issued_to.dpop_jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
        };
        let minted = Minted {
            user_claims: issued_to.user_claims.filter(|claims| !claims.is_empty()),
            claims: &claims,
        };
        (self.sign(ACCESS_TOKEN_TYPE, &minted), lifetime)
    }

    /// Signs `claims` with the signing key, `typ` and `kid` in the header (ID tokens use this
    /// with `JWT`).
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        let header = Header {
            typ: Some(typ.to_owned()),
            kid: Some(self.keys.signing_kid.clone()),
            ..Header::new(self.keys.signer.algorithm())
        };
        self.keys.signer.sign(&header, claims)
    }

    /// The key `kid` names and its algorithm, if it verifies now (ID-token hints at logout).
    pub fn verifying_key(&self, kid: &str) -> Option<(Algorithm, &DecodingKey)> {
        self.keys
            .find(kid, self.clock.now_secs())
            .map(|key| (key.algorithm, &key.key))
    }

    /// The token's claims if it is ours, well-formed and unexpired.
    pub fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, TokenError> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.check_signature_and_claims(token, true)?);
                self.verified.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        if self.clock.now_secs() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// A token of ours for any audience — this API's or a resource server's (RFC 8707) — for
    /// introspection and revocation, which answer about both: every check of
    /// [`verify`](Self::verify) but `aud`, which the caller makes. Not remembered, so the cache
    /// only ever holds tokens for this API.
    pub fn verify_any_audience(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims = self.check_signature_and_claims(token, false)?;
        if self.clock.now_secs() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn check_signature_and_claims(
        &self,
        token: &str,
        for_this_api: bool,
    ) -> Result<AccessClaims, TokenError> {
        let invalid = |reason: &str| TokenError::Invalid(reason.to_owned());
        let header = decode_header(token).map_err(|error| invalid(&error.to_string()))?;
        let typ = header.typ.as_deref().unwrap_or_default();
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
            && !typ.eq_ignore_ascii_case("application/at+jwt")
        {
            return Err(invalid("typ is not at+jwt"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
        let now = self.clock.now_secs();
        let key = self
            .keys
            .find(&kid, now)
            .ok_or_else(|| invalid("unknown kid"))?;
        // The key decides the algorithm, never the token's `alg` (RFC 8725 §3.1).
        if header.alg != key.algorithm {
            return Err(invalid("alg does not match the key"));
        }
        // RFC 7515 §4.1.11: a `crit` header lists extensions the recipient must understand or
        // refuse the token; we understand none, and never send one.
        if header.crit.is_some() {
            return Err(invalid("crit header"));
        }
        let mut validation = validation(key.algorithm);
        validation.validate_aud = for_this_api;
        let Decoded { claims, nbf } = decode::<Decoded>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|error| TokenError::Invalid(error.to_string()))?;
        // RFC 7519 §4.1.5 and §4.1.6: not before `nbf`, and a token cannot have been issued
        // later than now. Ours never carry `nbf` and their `iat` is never ahead of this clock,
        // so either one in the future is a token we did not mint. No leeway, as for `exp`.
        if nbf.is_some_and(|nbf| nbf > now) {
            return Err(invalid("nbf in the future"));
        }
        if claims.iat > now {
            return Err(invalid("iat in the future"));
        }
        // A key of the previous format verifies only tokens that die inside its window: the
        // cache, which re-checks only `exp`, can then never carry one past it.
        if key.until_secs.is_some_and(|until| claims.exp > until) {
            return Err(invalid("outlives the upgrade window"));
        }
        let previous_format = self
            .previous_format_until
            .is_some_and(|until| now < until && claims.exp <= until);
        if claims.iss != self.issuer && !(previous_format && claims.iss == PREVIOUS_ISSUER) {
            return Err(invalid("iss is not this issuer"));
        }
        Ok(claims)
    }
}

/// The claim checks of an access token, for the one algorithm its key is pinned to.
fn validation(algorithm: Algorithm) -> Validation {
    // `iss` is checked by the caller: the previous format's is accepted inside its window only.
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Expiry is checked by `verify` against the injected clock, with no leeway: issuer and
    // verifier are the same process and share that clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    validation
}

#[cfg(test)]
mod tests;
