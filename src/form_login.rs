//! Signing in with a password, as the app words it: the login form's server function (posting
//! to `/rpc/login`, with or without JavaScript), and the one place the login messages live.

use leptos::prelude::*;

/// The login form's target. Always answers with a redirect: to `next` on success, back to the
/// form with an error otherwise. The demo signs in this way only: its pages are full page loads
/// (islands, no client router), so a token the login page got from the JSON API would be gone
/// at the next page anyway. Apps with a client router can use [`crate::auth::AuthContext::login`].
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

/// Why a sign-in through the form failed, carried back to the login page in its `error` query
/// parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    Invalid,
    Throttled,
    CrossSite,
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

    /// The login page again, keeping `next`, with this failure in the query string.
    #[cfg(any(feature = "ssr", test))] // the server's only: the form function and its guard
    pub fn form_path(self, next: &str) -> String {
        let page =
            crate::auth::redirect::login_redirect(crate::app::auth_config().login_page, next);
        format!("{page}&error={}", self.code())
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

    #[test]
    fn the_form_path_keeps_next_and_carries_the_failure() {
        assert_eq!(
            LoginFailure::Invalid.form_path("/a?b=c&d"),
            "/login?next=/a%3Fb%3Dc%26d&error=invalid"
        );
    }
}
