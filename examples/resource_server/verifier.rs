//! A resource server's whole token check, with the JWKS alone: no shared secret, no call to the
//! identity provider per request. The issuer and `jwks_uri` come from the provider's discovery
//! document (RFC 8414 §3: its `issuer` must be the one asked for, and every token's `iss` must
//! be it, RFC 9068 §4). Keys are fetched from `jwks_uri`, kept by `kid`, fetched
//! again when a token names a `kid` not seen yet (a key published for a rotation) and on every
//! [`JwksVerifier::reload`] (run every few minutes, the JWKS's `max-age`), so a key the
//! provider stopped publishing stops verifying.
//!
//! Copy this file and `dpop.rs` into your own service; they need `base64`, `jsonwebtoken`,
//! `reqwest`, `serde`, `serde_json`, `sha2` and `tokio`.

use std::sync::RwLock;

use jsonwebtoken::{
    decode, decode_header,
    jwk::{Jwk, JwkSet},
    Algorithm, DecodingKey, Validation,
};
use serde::Deserialize;

use super::dpop::ProofChecker;

/// What this resource server reads from Tokenflight's access tokens (`exp`, `iss` and `aud`
/// are checked by jsonwebtoken).
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// RFC 9449 §6.1: the key the token is bound to, if it is a DPoP token.
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// `cnf` of a DPoP-bound token.
#[derive(Debug, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// The request a token came with: what a DPoP proof must be about.
pub struct Request<'a> {
    /// The `Authorization` header: `Bearer <token>` or `DPoP <token>`.
    pub authorization: &'a str,
    /// The `DPoP` header, if any.
    pub proof: Option<&'a str>,
    /// The method, and the URL without query (`htm`, `htu`).
    pub method: &'a str,
    pub url: &'a str,
    /// Now, in seconds since the epoch.
    pub now: u64,
}

/// Why a token was refused (the client is told `invalid_token`, whatever it was).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not a JWT, or no kid")]
    Malformed,
    #[error("no published key has this kid")]
    UnknownKey,
    #[error("signature, algorithm, type, issuer, audience or expiry wrong: {0}")]
    Invalid(String),
    #[error("the JWKS could not be fetched: {0}")]
    JwksUnavailable(String),
    #[error("discovery names another issuer: {0}")]
    IssuerMismatch(String),
    #[error("a DPoP-bound token without a valid proof of its key: {0}")]
    Dpop(&'static str),
}

/// What the verifier reads from discovery.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

pub struct JwksVerifier {
    proofs: ProofChecker,
    issuer: String,
    jwks_uri: String,
    http: reqwest::Client,
    keys: RwLock<JwkSet>,
}

impl JwksVerifier {
    /// A verifier for tokens of `issuer` (e.g. `https://id.example.com`): reads its discovery
    /// document, then its JWKS once.
    pub async fn discover(issuer: &str) -> Result<Self, Refused> {
        let http = reqwest::Client::new();
        let url = format!("{issuer}/.well-known/openid-configuration");
        let discovery: Discovery = fetch_json(&http, &url).await?;
        if discovery.issuer != issuer {
            return Err(Refused::IssuerMismatch(discovery.issuer));
        }
        let verifier = Self {
            proofs: ProofChecker::default(),
            issuer: discovery.issuer,
            jwks_uri: discovery.jwks_uri,
            http,
            keys: RwLock::new(JwkSet { keys: Vec::new() }),
        };
        verifier.reload().await?;
        Ok(verifier)
    }

    /// Fetches the JWKS again, replacing the keys held: what is no longer published no longer
    /// verifies.
    pub async fn reload(&self) -> Result<(), Refused> {
        let keys: JwkSet = fetch_json(&self.http, &self.jwks_uri).await?;
        *self.keys.write().expect("not poisoned") = keys;
        Ok(())
    }

    /// The claims of a valid access token: ES256 only (the key's algorithm, never the token's
    /// choice), `typ: at+jwt`, the discovered issuer, audience `tokenflight-api`, unexpired.
    pub async fn verify(&self, token: &str) -> Result<Claims, Refused> {
        let header = decode_header(token).map_err(|_| Refused::Malformed)?;
        let kid = header.kid.ok_or(Refused::Malformed)?;
        let jwk = match self.key(&kid) {
            Some(jwk) => jwk,
            None => {
                self.reload().await?;
                self.key(&kid).ok_or(Refused::UnknownKey)?
            }
        };
        if header.alg != Algorithm::ES256 || !header.typ.as_deref().is_some_and(is_access_token) {
            return Err(Refused::Invalid("not an ES256 at+jwt".into()));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Refused::Invalid(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&["tokenflight-api"]);
        validation.leeway = 0;
        decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| Refused::Invalid(error.to_string()))
    }

    /// The claims of the request's access token: [`verify`](Self::verify), and for a token
    /// bound to a key, `Authorization: DPoP` with a proof of that key for this request; a bound
    /// token sent as `Bearer` is refused (RFC 9449 §7.1).
    pub async fn verify_request(&self, request: &Request<'_>) -> Result<Claims, Refused> {
        let (scheme, token) = request
            .authorization
            .split_once(' ')
            .ok_or(Refused::Malformed)?;
        let claims = self.verify(token.trim()).await?;
        match (&claims.cnf, scheme.to_ascii_lowercase().as_str()) {
            (Some(cnf), "dpop") => {
                let proof = request.proof.ok_or(Refused::Dpop("no DPoP header"))?;
                self.proofs
                    .check(
                        proof,
                        request.method,
                        request.url,
                        token.trim(),
                        &cnf.jkt,
                        request.now,
                    )
                    .map_err(Refused::Dpop)?;
            }
            (None, "bearer") => {}
            (Some(_), _) => return Err(Refused::Dpop("a bound token sent as Bearer")),
            (None, _) => return Err(Refused::Malformed),
        }
        Ok(claims)
    }

    fn key(&self, kid: &str) -> Option<Jwk> {
        self.keys.read().expect("not poisoned").find(kid).cloned()
    }
}

/// `GET url` as JSON of type `T`; any failure is the provider being unreachable.
async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, Refused> {
    let unavailable = |error: reqwest::Error| Refused::JwksUnavailable(error.to_string());
    let text = http
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(unavailable)?
        .text()
        .await
        .map_err(unavailable)?;
    serde_json::from_str(&text).map_err(|error| Refused::JwksUnavailable(error.to_string()))
}

fn is_access_token(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}
