//! The OAuth endpoints' one error type, mapped once to RFC 6749 §5.2: a stable `error` code, a
//! safe `error_description`, the status the RFC names, and never a cache.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::server::http::dpop::DPOP_NONCE;
use crate::server::{
    core::{clients::ClientAuthError, families::RefreshRefusal, store::StoreError},
    http::error::REALM,
};

/// Every way the token, revocation and introspection endpoints refuse a request, answered as
/// RFC 6749 §5.2's `{"error", "error_description"}` with `Cache-Control: no-store`.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A parameter missing, repeated or malformed (§5.2 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Unknown client, wrong secret, a confidential client without its secret, or a client
    /// authenticating by a method it is not registered for.
    #[error("client authentication failed")]
    InvalidClient,
    /// The code or refresh token is unknown, expired, used, revoked or another client's.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// A grant type the client's registration leaves out of its `grant_types`.
    #[error("this client may not use this grant")]
    UnauthorizedClient,
    /// A `grant_type` other than `authorization_code`, `refresh_token` and
    /// `client_credentials`.
    #[error("only authorization_code, refresh_token and client_credentials are supported")]
    UnsupportedGrantType,
    /// A refresh asked for a scope the family was not granted (RFC 6749 §6), or a machine
    /// client for a scope (§4.4.2).
    #[error("{0}")]
    InvalidScope(&'static str),
    /// RFC 8707 §2: a `resource` that is not registered, or not the one the grant was for.
    #[error("{0}")]
    InvalidTarget(&'static str),
    /// RFC 9449 §5: a DPoP proof missing where required, malformed, replayed, or of another key
    /// than the one the grant is bound to.
    #[error("{0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §8: the proof needs this server nonce; retry with it (also in `DPoP-Nonce`).
    #[error("a current DPoP nonce is required")]
    UseDpopNonce(String),
    /// The store is away (or a demo fault): retry.
    #[error("temporarily unavailable, try again")]
    Unavailable,
}

impl From<ClientAuthError> for OAuthError {
    fn from(error: ClientAuthError) -> Self {
        match error {
            ClientAuthError::TwoClientIds => Self::InvalidRequest("two different client ids"),
            ClientAuthError::TwoMethods => {
                Self::InvalidRequest("more than one client authentication method (RFC 6749 §2.3)")
            }
            ClientAuthError::InvalidClient => Self::InvalidClient,
        }
    }
}

#[derive(Serialize)]
struct OAuthErrorBody {
    error: &'static str,
    error_description: String,
}

impl OAuthError {
    /// The `error` code clients branch on: RFC 6749 §5.2's, and `temporarily_unavailable` for a
    /// store outage (503).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce(_) => "use_dpop_nonce",
            Self::Unavailable => "temporarily_unavailable",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            // RFC 6749 §5.2: 401 for a failed client authentication.
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<StoreError> for OAuthError {
    /// Logged where it happened (`store::timed`).
    fn from(_: StoreError) -> Self {
        Self::Unavailable
    }
}

impl From<RefreshRefusal> for OAuthError {
    fn from(refusal: RefreshRefusal) -> Self {
        tracing::info!(%refusal, "oauth refresh refused");
        match refusal {
            RefreshRefusal::Unavailable | RefreshRefusal::StoreUnavailable => Self::Unavailable,
            RefreshRefusal::WrongKey => {
                Self::InvalidDpopProof("the refresh token is bound to another DPoP key")
            }
            _ => Self::InvalidGrant("the refresh token is invalid, expired, revoked or reused"),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody {
            error: self.code(),
            error_description: self.to_string(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            Self::InvalidClient => {
                let challenge = format!("Basic realm=\"{REALM}\"");
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Self::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::UseDpopNonce(nonce) => {
                if let Ok(value) = HeaderValue::from_str(&nonce) {
                    headers.insert(DPOP_NONCE, value);
                }
            }
            _ => {}
        }
        response
    }
}
