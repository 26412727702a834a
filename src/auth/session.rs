//! The login form that works without JavaScript (a server function), and the small pure
//! helpers both sides use to build `/login?next=…` safely.

use leptos::prelude::*;

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
        server::{
            error::ApiError,
            guard::is_cross_site,
            handlers::auth::{refresh_cookie, sign_in},
            AppState,
        },
    };

    let next = safe_next(next.as_deref());
    let headers: HeaderMap = leptos_axum::extract().await?;
    if is_cross_site(&headers) {
        leptos_axum::redirect(&login_path(&next, Some(LoginFailure::CrossSite)));
        return Ok(());
    }
    let (Some(username), Some(password)) = (username, password) else {
        leptos_axum::redirect(&login_path(&next, Some(LoginFailure::Invalid)));
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
        Err(ApiError::TooManyAttempts { .. }) => {
            leptos_axum::redirect(&login_path(&next, Some(LoginFailure::Throttled)));
        }
        Err(_) => leptos_axum::redirect(&login_path(&next, Some(LoginFailure::Invalid))),
    }
    Ok(())
}

/// Why a form login failed, carried in the `error` query parameter of `/login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    Invalid,
    Throttled,
    CrossSite,
}

impl LoginFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Throttled => "throttled",
            Self::CrossSite => "cross_site",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Invalid, Self::Throttled, Self::CrossSite]
            .into_iter()
            .find(|failure| failure.code() == code)
    }

    /// What the login page says.
    pub fn message(self) -> &'static str {
        match self {
            Self::Invalid => "Wrong username or password.",
            Self::Throttled => "Too many failed attempts. Wait a minute and try again.",
            Self::CrossSite => "Sign-in was refused: the request came from another site.",
        }
    }
}

/// `next` if it is a path on this site, else `/`: `//evil.example` or `https://…` would make the
/// login page an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    let local = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            // Browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example` and
            // `/\\evil.example` would both become `//evil.example`.
            && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    };
    match next {
        Some(path) if local(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// `/login?next=…[&error=…]`.
pub fn login_path(next: &str, failure: Option<LoginFailure>) -> String {
    let mut path = format!("/login?next={}", encode_query_value(next));
    if let Some(failure) = failure {
        path.push_str("&error=");
        path.push_str(failure.code());
    }
    path
}

/// Percent-encodes everything but unreserved characters and `/`.
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/admin")), "/admin");
        assert_eq!(safe_next(Some("/items?page=2")), "/items?page=2");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "evil",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn login_path_encodes_next_and_carries_the_failure() {
        assert_eq!(login_path("/admin", None), "/login?next=/admin");
        assert_eq!(
            login_path("/a?b=c&d", Some(LoginFailure::Invalid)),
            "/login?next=/a%3Fb%3Dc%26d&error=invalid"
        );
    }

    #[test]
    fn failure_codes_round_trip() {
        for failure in [
            LoginFailure::Invalid,
            LoginFailure::Throttled,
            LoginFailure::CrossSite,
        ] {
            assert_eq!(LoginFailure::from_code(failure.code()), Some(failure));
        }
        assert_eq!(LoginFailure::from_code("nope"), None);
    }
}
