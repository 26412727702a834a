//! Signing in with a password, as the app words it: the form that works without JavaScript (a
//! server function posting to `/rpc/login`), and the one place the login messages live.

use leptos::prelude::*;

use crate::auth::LoginError;

/// The login form's target before the page has hydrated (or with JavaScript off). Always
/// answers with a redirect: to `next` on success, back to the form with an error otherwise.
/// Once hydrated, the page signs in through the JSON API instead.
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn form_login(
    // Optional, so a form missing a field is refused like a wrong password rather than failing
    // to decode.
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    use axum::http::{header, HeaderMap};

    use crate::{
        api::auth::LoginRequest,
        auth::redirect::safe_next,
        server::{
            error::ApiError,
            guard::is_cross_site,
            handlers::auth::{refresh_cookie, sign_in},
            AppState,
        },
    };

    let next = safe_next(next.as_deref());
    let back_to_form = |failure: LoginFailure| leptos_axum::redirect(&failure.form_path(&next));
    let headers: HeaderMap = leptos_axum::extract().await?;
    if is_cross_site(&headers) {
        back_to_form(LoginFailure::CrossSite);
        return Ok(());
    }
    let (Some(username), Some(password)) = (username, password) else {
        back_to_form(LoginFailure::Invalid);
        return Ok(());
    };
    let state = expect_context::<AppState>();
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    match sign_in(&state, &session, LoginRequest { username, password }).await {
        Ok((_, grant)) => {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.append_header(header::SET_COOKIE, refresh_cookie(&grant));
            leptos_axum::redirect(&next);
        }
        Err(ApiError::TooManyAttempts { .. }) => back_to_form(LoginFailure::Throttled),
        Err(ApiError::Unavailable) => back_to_form(LoginFailure::Unavailable),
        Err(_) => back_to_form(LoginFailure::Invalid),
    }
    Ok(())
}

/// Why a sign-in failed, from either path: the JSON login ([`LoginError`]) or the form (carried
/// in the `error` query parameter of the login page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    Invalid,
    Throttled,
    CrossSite,
    Unavailable,
    Unexpected { status: u16 },
}

impl From<LoginError> for LoginFailure {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Self::Invalid,
            LoginError::TooManyAttempts => Self::Throttled,
            LoginError::Unavailable => Self::Unavailable,
            LoginError::Unexpected { status } => Self::Unexpected { status },
        }
    }
}

/// The failures the form can report through the query string.
const FORM_FAILURES: [LoginFailure; 4] = [
    LoginFailure::Invalid,
    LoginFailure::Throttled,
    LoginFailure::CrossSite,
    LoginFailure::Unavailable,
];

impl LoginFailure {
    /// The `error` query value, for the failures the form reports.
    pub fn code(self) -> Option<&'static str> {
        match self {
            Self::Invalid => Some("invalid"),
            Self::Throttled => Some("throttled"),
            Self::CrossSite => Some("cross_site"),
            Self::Unavailable => Some("unavailable"),
            Self::Unexpected { .. } => None,
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        FORM_FAILURES
            .into_iter()
            .find(|failure| failure.code() == Some(code))
    }

    /// What the login page says.
    pub fn message(self) -> String {
        match self {
            Self::Invalid => "Wrong username or password.".to_owned(),
            Self::Throttled => "Too many failed attempts. Wait a minute and try again.".to_owned(),
            Self::CrossSite => {
                "Sign-in was refused: the request came from another site.".to_owned()
            }
            Self::Unavailable => "The server cannot be reached. Try again.".to_owned(),
            Self::Unexpected { status } => format!("Sign-in failed (HTTP {status}). Try again."),
        }
    }

    /// The login page again, keeping `next`, with this failure in the query string.
    #[cfg(any(feature = "ssr", test))] // the server's only: the form function and its guard
    pub fn form_path(self, next: &str) -> String {
        let page =
            crate::auth::redirect::login_redirect(crate::app::auth_config().login_page, next);
        match self.code() {
            Some(code) => format!("{page}&error={code}"),
            None => page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_failures_round_trip_through_the_query_string() {
        for failure in FORM_FAILURES {
            let code = failure.code().expect("a form failure has a code");
            assert_eq!(LoginFailure::from_code(code), Some(failure));
        }
        assert_eq!(LoginFailure::from_code("nope"), None);
    }

    #[test]
    fn the_form_path_keeps_next_and_carries_the_failure() {
        assert_eq!(
            LoginFailure::Invalid.form_path("/a?b=c&d"),
            "/login?next=/a%3Fb%3Dc%26d&error=invalid"
        );
    }

    #[test]
    fn every_login_error_has_words() {
        for error in [
            LoginError::InvalidCredentials,
            LoginError::TooManyAttempts,
            LoginError::Unavailable,
            LoginError::Unexpected { status: 415 },
        ] {
            assert!(!LoginFailure::from(error).message().is_empty());
        }
    }
}
