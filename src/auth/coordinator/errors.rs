//! What a protected call can fail with, sorted by what the UI should do about it, and what the
//! waiters of a refresh learn.

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
        status: u16,
        code: Option<String>,
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
