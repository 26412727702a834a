//! Access tokens: short-lived JWTs, signed with one pinned algorithm and checked strictly
//! (RFC 8725): `exp`, `iat`, `iss`, `aud`, `sub` and the session id are all required.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::clock::Clock;

/// `iss` and `aud` of every token; a token minted for another service is refused.
pub const ISSUER: &str = "tokenflight";
pub const AUDIENCE: &str = "tokenflight-api";

/// The only algorithm accepted: a token claiming `none`, RS256 or anything else is refused.
const ALGORITHM: Algorithm = Algorithm::HS256;

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

/// Why a token was refused. Logged, never shown: the client just sees `invalid_token`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed or badly signed: {0}")]
    Invalid(String),
    #[error("expired")]
    Expired,
}

/// Mints and verifies access tokens with the server's key and clock.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl TokenIssuer {
    pub fn new(secret: &[u8], ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked below against the injected clock, with no leeway: issuer and
        // verifier are the same process and share that clock.
        validation.validate_exp = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            clock,
        }
    }

    /// Lifetime of a new token, as sent in `expires_in`.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: &str, session_id: &str, ver: u64) -> String {
        let iat = self.clock.now_secs();
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iat,
            exp: iat + self.ttl.as_secs(),
            ver,
        };
        encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .expect("HMAC signing of a serialisable struct cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|error| TokenError::Invalid(error.to_string()))?
            .claims;
        if self.clock.now_secs() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::clock::ManualClock;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn issuer(clock: &ManualClock) -> TokenIssuer {
        TokenIssuer::new(SECRET, Duration::from_secs(60), Arc::new(clock.clone()))
    }

    #[test]
    fn a_fresh_token_verifies_and_carries_its_session() {
        let clock = ManualClock::new();
        let issuer = issuer(&clock);
        let claims = issuer.verify(&issuer.issue("u1", "s1", 7)).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str(), claims.ver),
            ("u1", "s1", 7)
        );
        assert_eq!(claims.exp - claims.iat, 60);
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
    fn a_token_signed_with_another_key_is_refused() {
        let clock = ManualClock::new();
        let other = TokenIssuer::new(&[7; 32], Duration::from_secs(60), Arc::new(clock.clone()));
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
        let token = encode(
            &Header::new(ALGORITHM),
            &claims,
            &EncodingKey::from_secret(SECRET),
        );
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
        let token = encode(
            &Header::new(ALGORITHM),
            &claims,
            &EncodingKey::from_secret(SECRET),
        );
        assert!(issuer(&clock).verify(&token.unwrap()).is_err());
    }
}
