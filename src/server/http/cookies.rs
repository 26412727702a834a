//! The refresh cookie: HttpOnly (scripts never see it), SameSite=Strict, and scoped to the auth
//! endpoints so it is not sent with every page and API request.
//!
//! When cookies are `Secure`, their names carry the browser-enforced prefixes (RFC 6265bis
//! §4.1.3): `__Host-` for the session cookie (Path=/, no Domain, so no sibling subdomain can
//! plant or shadow it) and `__Secure-` for the refresh cookie (its Path is `/api/auth`, which
//! `__Host-` forbids). Handlers and tower-sessions use the plain names; [`prefix_set_cookie`] and
//! [`unprefix_cookie_header`] translate at the edge, in one place, and on a secure request an
//! unprefixed cookie is dropped as planted.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{time::Duration as CookieDuration, Cookie, SameSite};

use crate::server::core::families::RefreshToken;

/// Name of the refresh cookie (Path `/api/auth`); `__Secure-tf_refresh` on the wire when
/// cookies are `Secure`.
pub const REFRESH_COOKIE: &str = "tf_refresh";
/// Name of tower-sessions' cookie (the browser session used for the first paint).
pub const SESSION_COOKIE: &str = "tf_session";
const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// (plain name, prefixed name) of every cookie we set.
const PREFIXED: [(&str, &str); 2] = [
    (REFRESH_COOKIE, "__Secure-tf_refresh"),
    (SESSION_COOKIE, "__Host-tf_session"),
];

/// A `Set-Cookie` line for a secure response: `Secure` added, our cookie names prefixed.
pub fn prefix_set_cookie(line: &str) -> String {
    let mut line = line.to_owned();
    if !line.to_ascii_lowercase().contains("; secure") {
        line.push_str("; Secure");
    }
    match PREFIXED.iter().find(|(plain, _)| {
        line.strip_prefix(plain)
            .is_some_and(|rest| rest.starts_with('='))
    }) {
        Some((plain, prefixed)) => format!("{prefixed}{}", &line[plain.len()..]),
        None => line,
    }
}

/// A secure request's cookies as handlers expect them: prefixed names back to plain ones, and
/// plain-named copies of our cookies dropped (over https only a planted cookie has them).
pub fn unprefix_cookie_header<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| !PREFIXED.iter().any(|(plain, _)| cookie.name() == *plain))
        .map(|cookie| {
            let name = PREFIXED
                .iter()
                .find(|(_, prefixed)| cookie.name() == *prefixed)
                .map_or(cookie.name(), |(plain, _)| plain);
            format!("{name}={}", cookie.value())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether one of our cookie names comes twice in these `Cookie` headers. The browser sends
/// both when a sibling subdomain or a plain-http page planted a second one (another Domain or
/// Path), and nothing says which is ours: such a request is refused, never guessed
/// (OWASP Session Management cheat sheet, cookie tossing).
pub fn has_ambiguous_cookie<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    let mut seen = [false; PREFIXED.len()];
    for cookie in values.flat_map(Cookie::split_parse).filter_map(Result::ok) {
        if let Some(index) = PREFIXED
            .iter()
            .position(|(plain, _)| cookie.name() == *plain)
        {
            if std::mem::replace(&mut seen[index], true) {
                return true;
            }
        }
    }
    false
}

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
