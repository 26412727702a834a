//! The login form's contract: the `error` codes `/rpc/login` sends the browser back to the login
//! page with, and the words the page shows for each. Shared by the form's server function, the
//! server's guards in front of it and the login page.

/// Where the form lives (the demo's `AuthConfig` names the same page).
pub const LOGIN_PAGE: &str = "/login";

/// Why a sign-in through the form failed, carried back to the login page in its `error` query
/// parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    /// `error=invalid`: wrong username or password (which one is never said), or a form body
    /// that could not be read.
    Invalid,
    /// `error=throttled`: too many failed attempts for the account or the address.
    Throttled,
    /// `error=cross_site`: the post did not come from this site's own page (login CSRF).
    CrossSite,
    /// `error=unavailable`: the server could not check the password now; nothing is wrong with
    /// the credentials.
    Unavailable,
}

/// Every failure, for reading one back from the query string.
const FAILURES: [LoginFailure; 4] = [
    LoginFailure::Invalid,
    LoginFailure::Throttled,
    LoginFailure::CrossSite,
    LoginFailure::Unavailable,
];

impl LoginFailure {
    /// The `error` query value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Throttled => "throttled",
            Self::CrossSite => "cross_site",
            Self::Unavailable => "unavailable",
        }
    }

    /// Reads back what [`LoginFailure::code`] wrote; `None` for any other value, so a forged
    /// `?error=` shows no message at all rather than a made-up one.
    pub fn from_code(code: &str) -> Option<Self> {
        FAILURES.into_iter().find(|failure| failure.code() == code)
    }

    /// What the login page says.
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "Wrong username or password.",
            Self::Throttled => "Too many failed attempts. Wait a minute and try again.",
            Self::CrossSite => "Sign-in was refused: the request came from another site.",
            Self::Unavailable => "The server cannot be reached. Try again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_failures_round_trip_through_the_query_string() {
        for failure in FAILURES {
            assert_eq!(LoginFailure::from_code(failure.code()), Some(failure));
        }
        assert_eq!(LoginFailure::from_code("nope"), None);
    }
}
