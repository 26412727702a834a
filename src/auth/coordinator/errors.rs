//! What a protected call and a password sign-in can fail with, sorted by what the UI should do
//! about it (the UI maps them to its own words), and what the waiters of a refresh learn.

/// Why a protected call failed, sorted by what the UI should do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No session, or the token was rejected again after a refresh: show the login page.
    #[error("not signed in")]
    Unauthorized,
    /// The token is fine but lacks a role (403 `insufficient_scope`): refreshing cannot help.
    #[error("you do not have access to this")]
    Forbidden,
    /// The server refused the refresh (`invalid_grant`): the session is over.
    #[error("your session has expired")]
    SessionExpired,
    /// Network error, timeout or 5xx: worth retrying later; the session is kept.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// Any other non-2xx answer, with the API's error code and message when the body had them.
    #[error("request failed with HTTP {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Http {
        /// The HTTP status, below 500: a 5xx is [`AuthError::Transient`].
        status: u16,
        /// The body's [`ApiErrorBody::error`], else the challenge's `error`; `None` when neither
        /// said.
        ///
        /// [`ApiErrorBody::error`]: crate::api::auth::ApiErrorBody::error
        code: Option<String>,
        /// The body's message, else the challenge's `error_description`: safe to show.
        message: Option<String>,
    },
    /// A 2xx body that did not match the expected type.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// A request body that could not be serialised.
    #[error("could not encode the request: {0}")]
    Encode(String),
}

/// What waiters of a refresh learn. `Clone` because every waiter gets a copy.
#[derive(Clone, Debug)]
pub(super) enum RefreshError {
    SessionExpired,
    NoSession,
    Transient(String),
}

impl From<RefreshError> for AuthError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::SessionExpired => AuthError::SessionExpired,
            RefreshError::NoSession => AuthError::Unauthorized,
            RefreshError::Transient(message) => AuthError::Transient(message),
        }
    }
}

/// Why a password sign-in failed. The app turns these into its own words, in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// 401 `invalid_credentials`: wrong username or password (the server does not say which).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// 429 `too_many_attempts`: the account or this address is throttled for a while.
    #[error("too many attempts")]
    TooManyAttempts,
    /// 503, or no answer at all: nothing is wrong with the credentials; try again later.
    #[error("the server cannot be reached")]
    Unavailable,
    /// Any other answer (a refused request, a body that does not decode).
    #[error("sign-in failed (HTTP {status})")]
    Unexpected {
        /// The answer's HTTP status (a 2xx when its body was not a token response).
        status: u16,
    },
}
