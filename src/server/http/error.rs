//! The server's one error type, and the one place it becomes a status code and a JSON body.
//!
//! Handlers return `Result<_, ApiError>`; the client sees a stable code and a safe message, the
//! log sees the details.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::api::auth::{codes, ApiErrorBody};

/// The realm named in every `WWW-Authenticate` challenge.
pub const REALM: &str = "tokenflight";

/// Every way a request to the JSON API fails; each variant has one status and one stable
/// `error` code (`crate::api::auth::codes`), which clients branch on instead of the message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Wrong username or password, one answer for both so usernames cannot be probed: 401.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// No refresh cookie, or one its family refused (unknown, expired, reused): 400, as RFC 6749
    /// §5.2 answers a bad grant; the client must sign in again.
    #[error("the refresh credential was refused")]
    InvalidGrant,
    /// No `Authorization: Bearer` header at all (RFC 6750 §3.1: challenge without an error code).
    #[error("no access token")]
    MissingToken,
    /// A Bearer token that is malformed, forged, expired or whose session ended: 401 with a
    /// challenge (RFC 6750 §3.1), so the client refreshes and retries.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// RFC 9449 §7.1: a DPoP-bound token without a valid proof of its key (missing, malformed,
    /// replayed, another key): 401 with a `DPoP` challenge.
    #[error("the DPoP proof is missing or invalid")]
    InvalidDpopProof,
    /// RFC 9449 §9: the proof needs this server nonce: 401 with a `DPoP` challenge and the
    /// nonce in `DPoP-Nonce`; the client retries once with it, and never refreshes for it.
    #[error("a current DPoP nonce is required")]
    UseDpopNonce(String),
    /// The user lacks the named role: 403 (RFC 6750 §3.1); refreshing will not help.
    #[error("this needs the {0} role")]
    InsufficientScope(&'static str),
    /// Sign-ins throttled for this account or address: 429, with `Retry-After`.
    #[error("too many failed sign-in attempts")]
    TooManyAttempts {
        /// Seconds until this account may be tried again from this address, sent as
        /// `Retry-After`.
        retry_after_secs: u64,
    },
    /// A cookie-authenticated request that `Sec-Fetch-Site` (or `Origin`) says another site sent:
    /// 403, the CSRF defence.
    #[error("cross-site request refused")]
    CrossSite,
    /// Two cookies of one of our names: one was planted, and which is unknowable.
    #[error("two cookies of one name were sent: clear this site's cookies and sign in again")]
    AmbiguousCookies,
    /// A body that is not `application/json`: 415. Forms and `text/plain` are the bodies another
    /// site can send without a CORS preflight.
    #[error("this content type is not accepted here")]
    UnsupportedMediaType,
    /// A body over the endpoint's limit: 413, refused before it is read.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A body that does not parse as JSON: 400.
    #[error("the body is not valid JSON")]
    InvalidJson,
    /// JSON of the wrong shape or a value out of range: 422, with a message that names the
    /// problem without echoing the input.
    #[error("{0}")]
    Validation(String),
    /// A field the server refuses to even look at (400, unlike a body of the wrong shape).
    #[error("{0}")]
    BadField(&'static str),
    /// No such API route, or a resource that is not the caller's (the two look alike on purpose).
    #[error("not found")]
    NotFound,
    /// A known path with a method it does not take: 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The store is unreachable or slow (or a demo fault): retry after `Retry-After`.
    #[error("temporarily unavailable, try again")]
    Unavailable,
}

/// How long a client should wait after a 503 before trying again: store timeouts are short
/// and a reconnecting store is usually back within a second or two.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 1;

impl From<crate::server::core::store::StoreError> for ApiError {
    /// The store failing is never the client's fault, nor a bug of ours: 503, retry later.
    /// The detail was logged where it happened (`store::timed`).
    fn from(_: crate::server::core::store::StoreError) -> Self {
        Self::Unavailable
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::InvalidCredentials
            | Self::MissingToken
            | Self::InvalidToken
            | Self::InvalidDpopProof
            | Self::UseDpopNonce(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidGrant | Self::InvalidJson | Self::BadField(_) | Self::AmbiguousCookies => {
                StatusCode::BAD_REQUEST
            }
            Self::InsufficientScope(_) | Self::CrossSite => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => codes::INVALID_CREDENTIALS,
            Self::InvalidGrant => codes::INVALID_GRANT,
            Self::MissingToken => codes::UNAUTHENTICATED,
            Self::InvalidToken => codes::INVALID_TOKEN,
            Self::InvalidDpopProof => codes::INVALID_DPOP_PROOF,
            Self::UseDpopNonce(_) => codes::USE_DPOP_NONCE,
            Self::InsufficientScope(_) => codes::INSUFFICIENT_SCOPE,
            Self::TooManyAttempts { .. } => codes::TOO_MANY_ATTEMPTS,
            Self::CrossSite => codes::CROSS_SITE_REQUEST,
            Self::AmbiguousCookies => codes::AMBIGUOUS_COOKIES,
            Self::UnsupportedMediaType => codes::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => codes::PAYLOAD_TOO_LARGE,
            Self::InvalidJson => codes::INVALID_JSON,
            Self::Validation(_) | Self::BadField(_) => codes::VALIDATION_FAILED,
            Self::NotFound => codes::NOT_FOUND,
            Self::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            Self::Unavailable => codes::TEMPORARILY_UNAVAILABLE,
        }
    }

    /// The RFC 6750 challenge for the errors a protected resource can answer.
    pub(crate) fn challenge(&self) -> Option<String> {
        // RFC 9449 §7.1: DPoP's own scheme, with the algorithms it takes.
        if let Self::InvalidDpopProof | Self::UseDpopNonce(_) = self {
            let algs = crate::server::core::dpop::ALGORITHMS.join(" ");
            return Some(format!(
                "DPoP algs=\"{algs}\", error=\"{}\", error_description=\"{self}\"",
                self.code()
            ));
        }
        let error = match self {
            Self::MissingToken => return Some(format!("Bearer realm=\"{REALM}\"")),
            Self::InvalidToken => codes::INVALID_TOKEN,
            Self::InsufficientScope(_) => codes::INSUFFICIENT_SCOPE,
            _ => return None,
        };
        let scope = match self {
            // RFC 6750 §3: the scope the resource needs, so the client knows what to ask for.
            Self::InsufficientScope(scope) => format!(", scope=\"{scope}\""),
            _ => String::new(),
        };
        Some(format!(
            "Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{self}\"{scope}"
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self
            .challenge()
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        match self {
            Self::TooManyAttempts { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::UseDpopNonce(nonce) => {
                if let Ok(value) = HeaderValue::from_str(&nonce) {
                    headers.insert(crate::server::http::dpop::DPOP_NONCE, value);
                }
            }
            Self::Unavailable => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(RETRY_AFTER_UNAVAILABLE_SECS),
                );
            }
            _ => {}
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
