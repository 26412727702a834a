//! Protections for the endpoints a cookie authenticates (login, refresh, logout): cookies ride
//! along on cross-site requests, so those are refused before anything changes.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    api::redirect::login_redirect,
    api::{
        auth::{codes, ApiErrorBody},
        login_form::{LoginFailure, LOGIN_PAGE},
    },
};

use crate::server::{
    config::CookieSecure,
    http::{
        cookies::{has_ambiguous_cookie, prefix_set_cookie, unprefix_cookie_header},
        error::ApiError,
        state::IdpState,
    },
};

/// Largest body a cookie-authenticated endpoint reads; a login is well under 1 KiB.
pub const AUTH_BODY_LIMIT: usize = 4 * 1024;

/// Refuses cross-site requests (403), non-JSON bodies (415) and large bodies (413).
///
/// Refusing `text/plain`, form and multipart bodies matters: those are the content types a
/// cross-site page can send without a CORS preflight.
pub async fn cookie_endpoint_guard(
    State(state): State<IdpState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if is_cross_site_request(&request, state.config.public_origin.as_deref()) {
        return Err(ApiError::CrossSite);
    }
    let headers = request.headers();
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if content_length.is_some_and(|length| length > AUTH_BODY_LIMIT) {
        return Err(ApiError::PayloadTooLarge);
    }
    let has_body = content_length.is_some_and(|length| length > 0)
        || headers.contains_key(header::TRANSFER_ENCODING);
    if (has_body || headers.contains_key(header::CONTENT_TYPE))
        && !has_content_type(headers, "application/json")
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(next.run(request).await)
}

/// The login form posts to a server function under this prefix.
pub const FORM_PREFIX: &str = "/rpc/";
/// The login form's server function (`form_login::form_login`).
const LOGIN_FORM_PATH: &str = "/rpc/login";

/// The fields of the login form, all optional as the server function takes them.
#[derive(serde::Deserialize, serde::Serialize)]
struct LoginFormFields {
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

/// Guards the server functions (the login form sets the same cookies as the JSON login):
/// cross-site posts go back to the form with `error=cross_site`, form bodies only (415), read
/// here within [`AUTH_BODY_LIMIT`] (413), so malformed or oversized input gets our error shape
/// instead of a server-function error.
pub async fn limit_form_bodies(
    State(state): State<IdpState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !request.uri().path().starts_with(FORM_PREFIX) {
        return Ok(next.run(request).await);
    }
    if !has_content_type(request.headers(), "application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType);
    }
    if is_cross_site_request(&request, state.config.public_origin.as_deref()) {
        return Ok(back_to_the_form(LoginFailure::CrossSite));
    }
    // Buffered here, chunked bodies included: the server function reads whatever it is given.
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, AUTH_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    // The server function's decoder reads `a[b]=…` as nested data and fails with a 500 on
    // what it cannot place; so the login form is re-encoded with exactly its own fields, and a
    // form that does not even decode goes back to the page like a wrong password.
    let bytes = if parts.uri.path() == LOGIN_FORM_PATH {
        let Ok(fields) = serde_urlencoded::from_bytes::<LoginFormFields>(&bytes) else {
            return Ok(back_to_the_form(LoginFailure::Invalid));
        };
        let Ok(encoded) = serde_urlencoded::to_string(&fields) else {
            return Ok(back_to_the_form(LoginFailure::Invalid));
        };
        encoded.into()
    } else {
        bytes
    };
    Ok(next.run(Request::from_parts(parts, bytes.into())).await)
}

/// The data server functions live under (`server_fns.rs`): Bearer-authenticated, form bodies.
pub const SERVER_FN_PREFIX: &str = "/api/fn/";

/// Reads a server function's body before the server function does, so what it cannot decode is
/// our 4xx, not its 500 (`internal_error`, logged as an ERROR): at most [`AUTH_BODY_LIMIT`]
/// (413), a form (415), UTF-8 with every key once (400) — a repeated key is ambiguous, and the
/// decoder fails on it rather than choosing. What passes and still fails the server function's
/// own argument decoder (`a[]=…`, which it reads as nested data) comes back from it as a 500
/// `validation_failed`; that is the client's mistake too, so it becomes our 400.
pub async fn check_server_fn_bodies(request: Request, next: Next) -> Result<Response, ApiError> {
    if !request.uri().path().starts_with(SERVER_FN_PREFIX) {
        return Ok(next.run(request).await);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, AUTH_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    if !bytes.is_empty() {
        if !has_content_type(&parts.headers, "application/x-www-form-urlencoded") {
            return Err(ApiError::UnsupportedMediaType);
        }
        let fields = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| serde_urlencoded::from_str::<Vec<(String, String)>>(text).ok())
            .ok_or(ApiError::BadField("the form could not be read"))?;
        let mut keys: Vec<&str> = fields.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(ApiError::BadField("a form field was sent twice"));
        }
    }
    let response = next.run(Request::from_parts(parts, bytes.into())).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, AUTH_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let refused_arguments = serde_json::from_slice::<ApiErrorBody>(&body)
        .is_ok_and(|error| error.error == codes::VALIDATION_FAILED);
    if refused_arguments {
        tracing::debug!("server function arguments that do not decode");
        return Err(ApiError::BadField("the form could not be read"));
    }
    Ok(Response::from_parts(parts, body.into()))
}

/// The form login's answer to a refused post: the form again, saying why (as the server
/// function itself answers).
pub fn back_to_the_form(failure: LoginFailure) -> Response {
    let location = login_form_path(failure, "/");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// The login page again, keeping `next`, with `failure` in its query string.
pub fn login_form_path(failure: LoginFailure, next: &str) -> String {
    format!(
        "{}&error={}",
        login_redirect(LOGIN_PAGE, next),
        failure.code()
    )
}

/// [`is_cross_site`] for a request, against `PUBLIC_ORIGIN` when configured.
pub fn is_cross_site_request(request: &Request, public_origin: Option<&str>) -> bool {
    let own_origin = public_origin.map(str::to_owned).or_else(|| {
        let host = request.headers().get(header::HOST)?.to_str().ok()?;
        let scheme = if arrived_over_https(request) {
            "https"
        } else {
            "http"
        };
        Some(format!("{scheme}://{host}"))
    });
    cross_site(request.headers(), own_origin.as_deref())
}

/// [`is_cross_site_request`] for a caller that holds only the headers (the form login's server
/// function): without the request's scheme, `Origin` may be `http://` or `https://` + `Host`.
/// The form path is checked strictly, scheme included, by [`limit_form_bodies`] first.
pub fn is_cross_site(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return cross_site(headers, None);
    };
    ["http", "https"]
        .iter()
        .all(|scheme| cross_site(headers, Some(&format!("{scheme}://{host}"))))
}

/// True unless a browser tells us the request comes from this site (OWASP CSRF cheat sheet,
/// "Fetch Metadata" then "verifying origin with standard headers").
///
/// `Sec-Fetch-Site` is authoritative where sent (every current browser); otherwise `Origin` must
/// equal this site's origin, scheme included (`http://` is another origin than `https://`). A
/// request with neither is refused: browsers send `Origin` on every POST, so only an old
/// browser or a tool can lack both, and failing closed costs a tool one header.
fn cross_site(headers: &HeaderMap, own_origin: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    match (origin, own_origin) {
        (Some(origin), Some(own)) => !origin.eq_ignore_ascii_case(own),
        _ => true,
    }
}

/// Whether the body's media type is `essence`, whatever its parameters (`; charset=utf-8`).
fn has_content_type(headers: &HeaderMap, essence: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|found| found.trim().eq_ignore_ascii_case(essence))
}

/// `Secure` and prefixed names on every cookie we set, per `COOKIE_SECURE`, and HSTS on https
/// responses. One place for both our refresh cookie and tower-sessions' cookie, decided per
/// request so `auto` can follow the scheme.
pub async fn secure_transport(
    State(state): State<IdpState>,
    mut request: Request,
    next: Next,
) -> Response {
    let https = arrived_over_https(&request);
    let secure = match state.config.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => https,
    };
    if secure {
        let headers = request.headers_mut();
        let cookies = unprefix_cookie_header(
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok()),
        );
        headers.remove(header::COOKIE);
        if let Ok(value) = HeaderValue::from_str(&cookies) {
            if !cookies.is_empty() {
                headers.insert(header::COOKIE, value);
            }
        }
    }
    // Checked on the cookies the handlers will read (over https: the prefixed ones).
    let cookies = request.headers().get_all(header::COOKIE);
    if has_ambiguous_cookie(cookies.iter().filter_map(|value| value.to_str().ok())) {
        tracing::info!("request refused: two cookies of one name");
        return ApiError::AmbiguousCookies.into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if secure {
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|cookie| {
                cookie
                    .to_str()
                    .ok()
                    .and_then(|text| HeaderValue::from_str(&prefix_set_cookie(text)).ok())
                    .unwrap_or_else(|| cookie.clone())
            })
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    if https {
        // RFC 6797: only meaningful (and only honoured) on a response that came over https.
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// `Cache-Control: no-store` on every answer to a request carrying an `Authorization` header:
/// a signed-in answer (the user, their items) must not stay in a browser's or proxy's cache for
/// the next person at that machine (OWASP Session Management cheat sheet, "Web content caching").
pub async fn no_store_for_credentials(request: Request, next: Next) -> Response {
    let credentials = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    if credentials {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// https directly, or behind a TLS-terminating proxy that says so. A forged header can only
/// make a client's own cookies stricter, so trusting it here is safe.
fn arrived_over_https(request: &Request) -> bool {
    request.uri().scheme_str() == Some("https")
        || request
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_path_keeps_next_and_carries_the_failure() {
        assert_eq!(
            login_form_path(LoginFailure::Invalid, "/a?b=c&d"),
            "/login?next=/a%3Fb%3Dc%26d&error=invalid"
        );
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.parse().unwrap(), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn origin_must_match_the_full_origin_when_sec_fetch_site_is_absent() {
        let same = [
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ];
        assert!(!is_cross_site(&headers(&same)));
        let other_scheme = [("origin", "https://127.0.0.1:3000")];
        let own = Some("http://127.0.0.1:3000");
        assert!(cross_site(&headers(&other_scheme), own));
        let public = Some("https://app.example");
        let behind_proxy = [("origin", "https://app.example"), ("host", "10.0.0.5:3000")];
        assert!(!cross_site(&headers(&behind_proxy), public));
        let other = [
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000"),
        ];
        assert!(is_cross_site(&headers(&other)));
        assert!(is_cross_site(&headers(&[
            ("origin", "null"),
            ("host", "a")
        ])));
    }

    #[test]
    fn requests_with_neither_sec_fetch_site_nor_origin_are_refused() {
        assert!(is_cross_site(&HeaderMap::new()));
        assert!(is_cross_site(&headers(&[("host", "127.0.0.1:3000")])));
    }
}
