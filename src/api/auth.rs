//! The auth contract: sign-in, refresh and logout bodies, the signed-in user, the error envelope
//! every endpoint answers with, and the auth paths. The auth client imports this and nothing else.

use serde::{Deserialize, Serialize};

/// The cookie-authenticated endpoints of the identity provider.
pub mod paths {
    pub const LOGIN: &str = "/api/auth/login";
    pub const REFRESH: &str = "/api/auth/refresh";
    pub const LOGOUT: &str = "/api/auth/logout";
}

/// Stable machine-readable error codes carried in [`ApiErrorBody::error`].
pub mod codes {
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    /// RFC 6749 §5.2: the refresh credential is missing, unknown, expired, revoked or reused.
    pub const INVALID_GRANT: &str = "invalid_grant";
    /// RFC 6750 §3.1: the access token is malformed, expired or revoked.
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// RFC 6750 §3.1: the token is fine but lacks the role the resource needs.
    pub const INSUFFICIENT_SCOPE: &str = "insufficient_scope";
    /// No credentials at all were presented (RFC 6750 says: no error code in the challenge).
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const CROSS_SITE_REQUEST: &str = "cross_site_request";
    /// Two cookies of one of our names: refused, as which one is genuine cannot be known.
    pub const AMBIGUOUS_COOKIES: &str = "ambiguous_cookies";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const INVALID_JSON: &str = "invalid_json";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";
    pub const INTERNAL: &str = "internal_error";
}

/// The body of every error response: a stable `error` code and a message safe to show a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: String,
    pub message: String,
}

/// `POST /api/auth/login`.
///
/// `Debug` is written by hand so a password never reaches a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A signed-in user, as the API and the UI see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub roles: Vec<String>,
}

impl User {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The answer to login and refresh. The refresh credential is deliberately absent: it travels
/// only in an HttpOnly cookie, out of reach of scripts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Lifetime of `access_token` in seconds, counted from receipt.
    pub expires_in: u64,
    pub user: User,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .finish()
    }
}
