//! Access tokens: short-lived JWTs, signed with ES256 by default (the public keys are the JWKS,
//! `server::signing`) and checked strictly (RFC 8725): `exp`, `iat`, `iss`, `aud`, `sub` and
//! the session id are all required, `typ` must be `at+jwt` (RFC 9068 §2.1, RFC 8725 §3.11: no
//! other JWT can pass for an access token), and `kid` names the key — and with it the one
//! algorithm that key is accepted with, so a token cannot choose how it is checked (RFC 8725
//! §3.1: no HS256 token "signed" with a public key).
//!
//! A token whose signature was checked once is remembered by its exact text: a client sends
//! the same token with every request for its whole lifetime, and the signature check (an ECDSA
//! verify, ~0.1 ms; an HMAC ~3 µs) was most of what a protected request cost.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};

use super::{
    clock::Clock,
    keys::{key_id, DerivedKeys},
    signing::SigningKeys,
};

/// RFC 9068 §2.1: the `typ` of a JWT access token (`application/at+jwt` is the long form).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// `iss` and `aud` of every access token; a token minted for another service is refused.
pub const ISSUER: &str = "tokenflight";
pub const AUDIENCE: &str = "tokenflight-api";

/// How many verified tokens are remembered: about one per active client, at ~0.5 KB each.
/// Past it the least useful entries are dropped and their next use is checked again.
const VERIFIED_TOKENS_CAPACITY: usize = 10_000;

/// One key that verifies: its `kid`, the only algorithm it is accepted with, and — for the
/// HS256 keys of the versions before ES256 — the second after which it is no longer accepted.
struct VerifyingKey {
    kid: String,
    algorithm: Algorithm,
    key: DecodingKey,
    until_secs: Option<u64>,
}

/// The key that signs and the keys that verify, each pinned to one algorithm.
pub struct TokenKeys {
    algorithm: Algorithm,
    signing_kid: String,
    encoding: EncodingKey,
    verifying: Vec<VerifyingKey>,
}

impl TokenKeys {
    /// ES256: the signing key signs; it and every other published key (next, previous) verify.
    pub fn es256(keys: &SigningKeys) -> Self {
        Self {
            algorithm: Algorithm::ES256,
            signing_kid: keys.signing().public().kid.clone(),
            encoding: keys.signing().encoding_key(),
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
            algorithm: Algorithm::HS256,
            signing_kid: key_id(keys.signing()),
            encoding: EncodingKey::from_secret(keys.signing()),
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
    /// `until_secs`: after an upgrade, the tokens it issued keep working until they expire —
    /// at most one access-token lifetime after this process started — and none after, so a
    /// leaked `JWT_SECRET` can no longer mint access tokens at all.
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
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session (refresh family) the token belongs to: revoking it revokes the token.
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
    /// Sequence number within the session, so "every token issued so far" can be cut off.
    pub ver: u64,
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
    #[error("malformed or badly signed: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
}

/// Mints and verifies access tokens (and signs ID tokens) with the server's keys and clock.
pub struct TokenIssuer {
    keys: TokenKeys,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    /// Tokens whose signature and claims passed, by their exact text (so a token that differs
    /// in one byte is checked afresh). Only `exp` is re-checked on a hit; revocation is the
    /// caller's check, made on every request either way.
    verified: Cache<String, Arc<AccessClaims>>,
}

impl TokenIssuer {
    pub fn new(keys: impl Into<TokenKeys>, ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys: keys.into(),
            ttl,
            clock,
            verified: Cache::new(VERIFIED_TOKENS_CAPACITY),
        }
    }

    /// A token for the full TTL, with no session end to respect (benchmarks, tests).
    pub fn issue(&self, user_id: &str, session_id: &str, ver: u64) -> String {
        self.issue_within(user_id, session_id, ver, Duration::MAX).0
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
    ) -> (String, u64) {
        let now_ms = self.clock.now_ms();
        let after =
            |span: Duration| now_ms.saturating_add(span.as_millis().try_into().unwrap_or(u64::MAX));
        let (ttl_ends_ms, session_ends_ms) = (after(self.ttl), after(session_left));
        let exp = ttl_ends_ms.div_ceil(1000).min(session_ends_ms / 1000);
        let lifetime = (exp * 1000).saturating_sub(now_ms) / 1000;
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat: now_ms / 1000,
            exp,
            ver,
        };
        (self.sign(ACCESS_TOKEN_TYPE, &claims), lifetime)
    }

    /// Signs `claims` with the signing key, `typ` and `kid` in the header (ID tokens use this
    /// with `JWT`).
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        let header = Header {
            typ: Some(typ.to_owned()),
            kid: Some(self.keys.signing_kid.clone()),
            ..Header::new(self.keys.algorithm)
        };
        encode(&header, claims, &self.keys.encoding)
            .expect("signing a serialisable struct with a valid key cannot fail")
    }

    /// The key `kid` names and its algorithm, if it verifies now (ID-token hints at logout).
    pub fn verifying_key(&self, kid: &str) -> Option<(Algorithm, &DecodingKey)> {
        self.keys
            .find(kid, self.clock.now_secs())
            .map(|key| (key.algorithm, &key.key))
    }

    /// What a protected request's token check costs when the token is new: the signature and
    /// the claims, without the cache (the benchmark's first-use figure).
    pub fn verify_uncached(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.check_signature_and_claims(token)
    }

    /// The token's claims if it is ours, well-formed and unexpired.
    pub fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, TokenError> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.check_signature_and_claims(token)?);
                self.verified.insert(token.to_owned(), Arc::clone(&claims));
                claims
            }
        };
        if self.clock.now_secs() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn check_signature_and_claims(&self, token: &str) -> Result<AccessClaims, TokenError> {
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
        let Decoded { claims, nbf } =
            decode::<Decoded>(token, &key.key, &validation(key.algorithm))
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
        Ok(claims)
    }
}

/// The claim checks of an access token, for the one algorithm its key is pinned to.
fn validation(algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Expiry is checked by `verify` against the injected clock, with no leeway: issuer and
    // verifier are the same process and share that clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    validation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{clock::ManualClock, keys::KeyRing, signing::SigningKeys};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn issuer(clock: &ManualClock) -> TokenIssuer {
        TokenIssuer::new(
            SECRET.to_vec(),
            Duration::from_secs(60),
            Arc::new(clock.clone()),
        )
    }

    /// A header as ours, so a test changes only what it means to.
    fn header() -> Header {
        Header {
            typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
            kid: Some(key_id(SECRET)),
            ..Header::new(Algorithm::HS256)
        }
    }

    #[test]
    fn a_fresh_token_verifies_and_carries_its_session() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        clock.advance(Duration::from_millis(999 - clock.now_ms() % 1000));
        let issued_ms = clock.now_ms();
        let claims = issuer.verify(&issuer.issue("u1", "s1", 7)).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str(), claims.ver),
            ("u1", "s1", 7)
        );
        assert_eq!(claims.exp * 1000 - issued_ms, 60_001, "its TTL, rounded up");
    }

    #[test]
    fn a_token_lives_at_least_its_expires_in_whatever_the_millisecond_it_is_issued() {
        let clock = ManualClock::new();
        let issuer = TokenIssuer::new(
            SECRET.to_vec(),
            Duration::from_secs(1),
            Arc::new(clock.clone()),
        );
        for _ in 0..40 {
            clock.advance(Duration::from_millis(37));
            let issued_ms = clock.now_ms();
            let (token, expires_in) = issuer.issue_within("u1", "s1", 0, Duration::from_secs(3600));
            let claims = issuer.verify(&token).unwrap();
            assert_eq!(expires_in, 1, "issued at {issued_ms} ms");
            let lives_ms = claims.exp * 1000 - issued_ms;
            assert!((1000..2000).contains(&lives_ms), "issued at {issued_ms} ms");
        }
    }

    #[test]
    fn a_token_never_outlives_its_session() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        for left_ms in [0, 400, 1_000, 2_500, 59_999] {
            let session_ends_ms = clock.now_ms() + left_ms;
            let (token, expires_in) =
                issuer.issue_within("u1", "s1", 0, Duration::from_millis(left_ms));
            let claims = issuer.check_signature_and_claims(&token).unwrap();
            assert!(claims.exp * 1000 <= session_ends_ms, "{left_ms} ms left");
            assert!(expires_in * 1000 <= left_ms, "{left_ms} ms left");
        }
    }

    #[test]
    fn a_token_is_refused_from_the_second_it_expires_with_no_leeway() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let token = issuer.issue("u1", "s1", 0);
        let exp = issuer.verify(&token).unwrap().exp;
        clock.advance(Duration::from_millis(exp * 1000 - clock.now_ms() - 1));
        assert!(
            issuer.verify(&token).is_ok(),
            "valid until the last millisecond"
        );
        clock.advance(Duration::from_millis(1));
        assert_eq!(issuer.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_remembered_token_does_not_vouch_for_one_that_differs_in_a_byte() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let token = issuer.issue("u1", "s1", 0);
        assert!(issuer.verify(&token).is_ok());
        assert!(issuer.verify(&token).is_ok(), "remembered");
        for position in [token.len() - 1, token.find('.').unwrap() + 3] {
            let mut tampered = token.clone().into_bytes();
            tampered[position] = if tampered[position] == b'A' {
                b'B'
            } else {
                b'A'
            };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(issuer.verify(&tampered).is_err(), "byte {position} changed");
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let clock = ManualClock::new();
        let other = TokenIssuer::new(
            vec![7; 32],
            Duration::from_secs(60),
            Arc::new(clock.clone()),
        );
        assert!(issuer(&clock).verify(&other.issue("u1", "s1", 0)).is_err());
    }

    #[test]
    fn an_unsigned_alg_none_token_is_refused() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let signed = issuer.issue("u1", "s1", 0);
        let payload = signed.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let forged = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(issuer.verify(&forged).is_err());
    }

    #[test]
    fn a_token_without_a_session_id_is_refused() {
        #[derive(Serialize)]
        struct NoSid<'a> {
            iss: &'a str,
            aud: &'a str,
            sub: &'a str,
            iat: u64,
            exp: u64,
            ver: u64,
        }
        let clock = ManualClock::new();
        let now = clock.now_secs();
        let claims = NoSid {
            iss: ISSUER,
            aud: AUDIENCE,
            sub: "u1",
            iat: now,
            exp: now + 60,
            ver: 0,
        };
        let token = encode(&header(), &claims, &EncodingKey::from_secret(SECRET));
        assert!(issuer(&clock).verify(&token.unwrap()).is_err());
    }

    #[test]
    fn a_token_for_another_audience_is_refused() {
        let clock = ManualClock::new();
        let now = clock.now_secs();
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: "someone-else".into(),
            sub: "u1".into(),
            sid: "s1".into(),
            iat: now,
            exp: now + 60,
            ver: 0,
        };
        let token = encode(&header(), &claims, &EncodingKey::from_secret(SECRET));
        assert!(issuer(&clock).verify(&token.unwrap()).is_err());
    }

    #[test]
    fn tokens_carry_at_jwt_and_a_kid_and_other_types_are_refused() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let token = issuer.issue("u1", "s1", 0);
        let issued = decode_header(&token).unwrap();
        assert_eq!(issued.typ.as_deref(), Some("at+jwt"));
        assert_eq!(issued.kid, Some(key_id(SECRET)));
        let claims = issuer.verify(&token).unwrap();
        for typ in [Some("JWT"), None] {
            let header = Header {
                typ: typ.map(str::to_owned),
                ..header()
            };
            let other = encode(&header, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
            assert!(issuer.verify(&other).is_err(), "typ {typ:?}");
        }
        let no_kid = Header {
            kid: None,
            ..header()
        };
        let token = encode(&no_kid, &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert!(issuer.verify(&token).is_err(), "no kid");
    }

    #[test]
    fn a_previous_key_still_verifies_but_no_longer_signs() {
        let clock = ManualClock::new();
        let ttl = Duration::from_secs(60);
        let ring = KeyRing::new(vec![2; 32], vec![vec![1; 32]]);
        let rotated = TokenIssuer::new(ring.derive("t"), ttl, Arc::new(clock.clone()));
        let old_ring = KeyRing::new(vec![1; 32], vec![]);
        let old_only = TokenIssuer::new(old_ring.derive("t"), ttl, Arc::new(clock.clone()));
        assert!(rotated.verify(&old_only.issue("u1", "s1", 0)).is_ok());
        let fresh = rotated.issue("u1", "s1", 1);
        assert!(old_only.verify(&fresh).is_err(), "signed with the new key");
    }

    fn es256(clock: &ManualClock, seed: u8) -> (TokenIssuer, SigningKeys) {
        let keys = SigningKeys::derived(&KeyRing::new(vec![seed; 32], vec![]));
        let issuer = TokenIssuer::new(
            TokenKeys::es256(&keys),
            Duration::from_secs(60),
            Arc::new(clock.clone()),
        );
        (issuer, keys)
    }

    #[test]
    fn es256_tokens_verify_and_name_the_published_key() {
        let clock = ManualClock::new();
        let (issuer, keys) = es256(&clock, 1);
        let token = issuer.issue("u1", "s1", 0);
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(
            header.kid.as_deref(),
            Some(keys.signing().public().kid.as_str())
        );
        assert!(issuer.verify(&token).is_ok());
        let (other, _) = es256(&clock, 2);
        assert!(other.verify(&token).is_err(), "another key pair");
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let clock = ManualClock::new();
        let (issuer, keys) = es256(&clock, 1);
        let claims = AccessClaims::clone(&issuer.verify(&issuer.issue("u1", "s1", 0)).unwrap());
        let jwk = keys.signing().public();
        let header = Header {
            typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
            kid: Some(jwk.kid.clone()),
            ..Header::new(Algorithm::HS256)
        };
        let public_as_secret = [jwk.x.as_bytes(), jwk.y.as_bytes()].concat();
        let forged = encode(
            &header,
            &claims,
            &EncodingKey::from_secret(&public_as_secret),
        );
        assert!(issuer.verify(&forged.unwrap()).is_err());
    }

    #[test]
    fn tokens_of_the_hs256_version_are_accepted_only_until_the_deadline() {
        let clock = ManualClock::new();
        let legacy = KeyRing::new(vec![9; 32], vec![]).derive("access-token");
        let old_version = TokenIssuer::new(
            legacy.clone(),
            Duration::from_secs(60),
            Arc::new(clock.clone()),
        );
        let (es, keys) = es256(&clock, 1);
        drop(es);
        let until = clock.now_secs() + 61;
        let upgraded = TokenIssuer::new(
            TokenKeys::es256(&keys).accepting_hs256_until(&legacy, until),
            Duration::from_secs(600),
            Arc::new(clock.clone()),
        );
        let before = old_version.issue("u1", "s1", 0);
        assert!(
            upgraded.verify(&before).is_ok(),
            "issued before the upgrade"
        );
        clock.advance(Duration::from_secs(61));
        let late = old_version.issue("u1", "s1", 1);
        assert!(upgraded.verify(&late).is_err(), "past the deadline");
        assert_eq!(
            decode_header(upgraded.issue("u1", "s1", 2)).unwrap().alg,
            Algorithm::ES256,
            "never signs HS256"
        );
    }
}
