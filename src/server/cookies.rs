//! The refresh cookie: HttpOnly (scripts never see it), SameSite=Strict, and scoped to the auth
//! endpoints so it is not sent with every page and API request.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{time::Duration as CookieDuration, Cookie, SameSite};

use super::families::RefreshToken;

pub const REFRESH_COOKIE: &str = "tf_refresh";
/// Name of tower-sessions' cookie (the browser session used for the first paint).
pub const SESSION_COOKIE: &str = "tf_session";
const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// `Set-Cookie` for a refresh credential, kept by the browser for `max_age`.
pub fn set_refresh_cookie(token: &RefreshToken, max_age: std::time::Duration) -> HeaderValue {
    let cookie = Cookie::build((REFRESH_COOKIE, token.as_str()))
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::seconds(max_age.as_secs() as i64));
    header_value(&cookie.to_string())
}

/// `Set-Cookie` that removes the refresh cookie.
pub fn clear_refresh_cookie() -> HeaderValue {
    let cookie = Cookie::build((REFRESH_COOKIE, ""))
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::ZERO);
    header_value(&cookie.to_string())
}

/// The refresh credential the browser sent, if any.
pub fn read_refresh_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == REFRESH_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

fn header_value(cookie: &str) -> HeaderValue {
    HeaderValue::from_str(cookie).expect("cookie values are base64url and dots")
}
