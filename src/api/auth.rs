//! The auth contract: sign-in, refresh and logout bodies, the signed-in user, the error envelope
//! every endpoint answers with, and the auth paths. The auth client imports this and nothing else.

use serde::{Deserialize, Serialize};

/// The cookie-authenticated endpoints of the identity provider.
pub mod paths {
    /// `POST` a JSON [`LoginRequest`](super::LoginRequest): 200 with a
    /// [`TokenResponse`](super::TokenResponse) and the refresh credential set as an HttpOnly
    /// cookie.
    pub const LOGIN: &str = "/api/auth/login";
    /// `POST` with the refresh cookie and no body: 200 with a new
    /// [`TokenResponse`](super::TokenResponse) and the rotated cookie, or 400 `invalid_grant`
    /// (the session is over).
    pub const REFRESH: &str = "/api/auth/refresh";
    /// `POST`: 204, the session revoked and the cookies cleared — also when already signed out,
    /// so a client can always call it.
    pub const LOGOUT: &str = "/api/auth/logout";
}

/// Stable machine-readable error codes carried in [`ApiErrorBody::error`].
pub mod codes {
    /// 401 from login: wrong username or password. Which of the two is never said, so the answer
    /// does not reveal which usernames exist.
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    /// RFC 6749 §5.2: the refresh credential is missing, unknown, expired, revoked or reused.
    pub const INVALID_GRANT: &str = "invalid_grant";
    /// RFC 6750 §3.1: the access token is malformed, expired or revoked.
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// RFC 9449 §7.1: the DPoP proof is missing, malformed, replayed, or of another key than
    /// the access token is bound to.
    pub const INVALID_DPOP_PROOF: &str = "invalid_dpop_proof";
    /// RFC 9449 §9: retry with the nonce in the `DPoP-Nonce` header. Never a reason to
    /// refresh.
    pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";
    /// RFC 6750 §3.1: the token is fine but lacks the role the resource needs.
    pub const INSUFFICIENT_SCOPE: &str = "insufficient_scope";
    /// No credentials at all were presented (RFC 6750 says: no error code in the challenge).
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    /// 429 from login: the account or the client's address failed too often; `Retry-After` gives
    /// the seconds to wait.
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    /// 403 from the cookie endpoints: `Sec-Fetch-Site` (or `Origin`) names another site, so the
    /// browser's cookies were not sent by this site's pages (login CSRF, a forged refresh).
    pub const CROSS_SITE_REQUEST: &str = "cross_site_request";
    /// Two cookies of one of our names: refused, as which one is genuine cannot be known.
    pub const AMBIGUOUS_COOKIES: &str = "ambiguous_cookies";
    /// 415: the body is not in the encoding the endpoint reads (JSON for the REST API, a
    /// URL-encoded form for server functions).
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    /// 413: the body is over the endpoint's limit; refused before it is read whole.
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// 400: the body is not JSON at all (JSON of the wrong shape is [`VALIDATION_FAILED`]).
    pub const INVALID_JSON: &str = "invalid_json";
    /// 422 for JSON of the wrong shape or a value out of range; 400 for a field the server will
    /// not even look at (a username over 256 characters). The message says what to fix.
    pub const VALIDATION_FAILED: &str = "validation_failed";
    /// 404: no such route, or no such resource of the caller's (another user's session id gets
    /// this too, so ids cannot be probed).
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the path exists, the method does not.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 503: the session store did not answer in time (or a demo fault): retry after
    /// `Retry-After`. Never a reason to sign anyone out.
    pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";
    /// A bug rather than an outage or the caller's input: a server function that failed
    /// otherwise, or a request the client could not encode or an answer it could not decode.
    pub const INTERNAL: &str = "internal_error";
}

/// The body of every error response: a stable `error` code and a message safe to show a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// One of [`codes`]: what a program branches on, stable across releases.
    pub error: String,
    /// Words for a person, without internals; they may change, so never match on them.
    pub message: String,
}

/// `POST /api/auth/login`.
///
/// `Debug` is written by hand so a password never reaches a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// As typed: the server trims it and ignores case. At most 256 characters (400
    /// `validation_failed` beyond).
    pub username: String,
    /// In clear, so only ever over HTTPS; the server checks it against a stored Argon2 hash.
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
    /// Stable identifier, the `sub` claim of the user's tokens (`u-alice`): key per-user data by
    /// this, not by `username`.
    pub id: String,
    /// The name the user signs in with, as the server stores it; for display.
    pub username: String,
    /// The roles the access token carries (`admin` opens the admin statistics). The server
    /// checks them on every call; the UI uses them only to choose what to show.
    pub roles: Vec<String>,
}

impl User {
    /// Whether `roles` holds `role`, compared exactly. For the UI only: a hidden button is no
    /// access control, the server answers 403 `insufficient_scope` on its own.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// The answer to login and refresh. The refresh credential is deliberately absent: it travels
/// only in an HttpOnly cookie, out of reach of scripts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The Bearer token for `Authorization` on protected calls (a signed JWT). The client keeps
    /// it in memory only, and `Debug` redacts it.
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Lifetime of `access_token` in seconds, counted from receipt.
    pub expires_in: u64,
    /// Whom the token was issued to, so the UI needs no second call. A refresh answers with the
    /// same user as the session it rotated.
    pub user: User,
    /// Seconds, counted from receipt, until the session ends for inactivity unless it is
    /// refreshed (`SESSION_IDLE_TIMEOUT_SECS` after its last refresh). Absent from a server that
    /// does not say; the client then never warns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_expires_in: Option<u64>,
    /// The idle timeout itself, in seconds: what the sign-out message names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .field("idle_expires_in", &self.idle_expires_in)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}
