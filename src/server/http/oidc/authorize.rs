//! `GET /oauth/authorize` (RFC 6749 §4.1.1, RFC 7636, OpenID Connect Core §3.1.2): checks the
//! client and its redirect URI first — an unknown client or an unregistered URI gets an error
//! page, never a redirect (RFC 6749 §4.1.2.1), and so does a URI that is not whole (a control
//! character, userinfo, a fragment), before any code exists — then sends a visitor without a
//! session to the login page and back, and a signed-in one to the client with a code, `state`
//! and `iss`.
//!
//! OpenID Connect Core §3.1.2.1's request behaviours: `prompt=login`, and a sign-in older than
//! `max_age`, send a signed-in user through the login form again; `prompt=none` never shows a
//! page (`login_required` instead); `login_hint` fills in the username; parameters this provider
//! does not use (`display`, `ui_locales`, `acr_values`, `claims_locales`, …) are ignored. There
//! is no consent step (every client here is registered by the operator), so `consent_required`
//! is never the answer.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

use crate::server::{
    core::clients::SCOPES,
    core::codes::{self, CodeGrant},
    http::oidc::paths,
};
use crate::{
    api::login_form::LOGIN_PAGE,
    api::redirect::login_redirect,
    server::http::{handlers::auth::current_caller, state::IdpState},
};

/// Where to answer, once the client and its redirect URI are known to be genuine.
struct Request {
    redirect_uri: String,
    state: Option<String>,
    /// Reached by a navigation from one of our own pages — in practice the login form's
    /// redirect — whose CSP (`form-action 'self'`) governs the whole redirect chain: a redirect
    /// to the client would be blocked, so the answer is a page that moves on by itself.
    from_our_form: bool,
}

/// `GET /oauth/authorize`: an error page for an unknown client or redirect URI, the login
/// page for a visitor without a session, else back to the client with a code (or an `error`).
pub async fn authorize(
    State(state): State<IdpState>,
    session: Session,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(&state, &session, &headers, query.unwrap_or_default()).await
}

/// `POST /oauth/authorize` with the parameters in a form body (OpenID Connect Core §3.1.2.1:
/// the authorization endpoint takes GET and POST), answered as the GET would be.
pub async fn authorize_form(
    State(state): State<IdpState>,
    session: Session,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match String::from_utf8(body.to_vec()) {
        Ok(form) => answer(&state, &session, &headers, form).await,
        Err(_) => error_page("The sign-in request could not be read."),
    }
}

async fn answer(
    state: &IdpState,
    session: &Session,
    headers: &HeaderMap,
    query: String,
) -> Response {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(&query) else {
        return error_page("The sign-in request could not be read.");
    };
    let mut params = HashMap::new();
    let mut repeated = false;
    for (name, value) in pairs {
        repeated |= params.insert(name, value).is_some();
    }
    let Some(client) = params
        .get("client_id")
        .and_then(|id| state.oidc.clients.find(id))
    else {
        return error_page("The application asking you to sign in is not registered here.");
    };
    let Some(redirect_uri) = params
        .get("redirect_uri")
        .filter(|uri| client.allows_redirect(uri))
    else {
        return error_page("The application's return address is not registered for it.");
    };
    let request = Request {
        redirect_uri: redirect_uri.clone(),
        state: params.get("state").cloned(),
        from_our_form: headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "same-origin"),
    };
    let issuer = state.config.issuer.clone();
    // RFC 6749 §3.1: parameters must not be repeated.
    if repeated {
        return request.error(&issuer, "invalid_request", "a parameter was repeated");
    }
    // Core §6: request objects are not supported, and say so rather than being ignored.
    if params.contains_key("request") {
        return request.error(&issuer, "request_not_supported", "no request objects");
    }
    if params.contains_key("request_uri") {
        return request.error(&issuer, "request_uri_not_supported", "no request_uri");
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        let error = if params.contains_key("response_type") {
            "unsupported_response_type"
        } else {
            "invalid_request"
        };
        return request.error(&issuer, error, "only response_type=code is supported");
    }
    // RFC 7636 §4.4.1 and RFC 9700 §2.1.1: PKCE is required, and only S256.
    let Some(challenge) = params.get("code_challenge").filter(|c| is_challenge(c)) else {
        return request.error(
            &issuer,
            "invalid_request",
            "code_challenge (S256) is required",
        );
    };
    if params.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return request.error(
            &issuer,
            "invalid_request",
            "code_challenge_method must be S256",
        );
    }
    let asked = params.get("scope").map_or("openid", String::as_str);
    if asked.split(' ').any(|scope| !SCOPES.contains(&scope)) {
        return request.error(&issuer, "invalid_scope", "an unknown scope was asked for");
    }
    // The scopes asked for that the client is registered for (`scopes` in its registration).
    let scope = client.grantable(asked);
    if scope.is_empty() {
        return request.error(
            &issuer,
            "invalid_scope",
            "none of the scopes asked for is allowed for this client",
        );
    }
    let prompt = match Prompt::read(&params) {
        Ok(prompt) => prompt,
        Err(reason) => return request.error(&issuer, "invalid_request", reason),
    };
    let sign_in_again = || {
        if prompt.none {
            return request.error(&issuer, "login_required", "the user must sign in");
        }
        let back = prompt.satisfied_by_signing_in(&query);
        let mut login = login_redirect(LOGIN_PAGE, &format!("{}?{back}", paths::AUTHORIZE));
        if let Some(hint) = params.get("login_hint") {
            let hint = serde_urlencoded::to_string([("login_hint", hint)]).expect("a string");
            login = format!("{login}&{hint}");
        }
        no_store(Redirect::to(&login).into_response())
    };
    let Some((caller, _)) = current_caller(state, session).await else {
        return sign_in_again();
    };
    let now_ms = state.clock.now_ms();
    let auth_time = match state.families.live_family(&caller.session_id).await {
        Ok(family) => family.map_or(now_ms, |(family, _)| family.created_at_ms) / 1000,
        Err(_) => return request.error(&issuer, "temporarily_unavailable", "try again"),
    };
    if prompt.wants_sign_in_since(auth_time, now_ms / 1000) {
        return sign_in_again();
    }
    // RFC 8707 §2.1: the resource the tokens are for, one that is registered.
    let Some(audience) = state
        .oidc
        .clients
        .audience_for(params.get("resource").map(String::as_str))
    else {
        return request.error(
            &issuer,
            "invalid_target",
            "the resource is not registered here",
        );
    };
    let grant = CodeGrant {
        client_id: client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: challenge.clone(),
        user_id: caller.user.id.clone(),
        scope,
        nonce: params.get("nonce").cloned(),
        auth_time,
        audience,
        issued_ms: now_ms,
        exchanged_for: None,
        replayed: false,
    };
    match codes::issue(state.store.as_ref(), grant).await {
        Ok(code) => request.respond(&issuer, &[("code", &code)]),
        Err(_) => request.error(&issuer, "temporarily_unavailable", "try again"),
    }
}

/// What the request says about signing in (OpenID Connect Core §3.1.2.1).
struct Prompt {
    /// `prompt=none`: never show a page; an error if the user would have to see one.
    none: bool,
    /// `prompt=login`: sign in again, even with a session.
    login: bool,
    /// `max_age`: the sign-in must be at most this many seconds old.
    max_age: Option<u64>,
}

impl Prompt {
    fn read(params: &HashMap<String, String>) -> Result<Self, &'static str> {
        let values: Vec<&str> = params
            .get("prompt")
            .map(|prompt| prompt.split(' ').filter(|v| !v.is_empty()).collect())
            .unwrap_or_default();
        let none = values.contains(&"none");
        if none && values.len() > 1 {
            return Err("prompt=none cannot be combined with other values");
        }
        let max_age = match params.get("max_age") {
            None => None,
            Some(secs) => Some(secs.parse().map_err(|_| "max_age must be whole seconds")?),
        };
        Ok(Self {
            none,
            // `select_account` means the same here: the form is where an account is chosen.
            login: values.contains(&"login") || values.contains(&"select_account"),
            max_age,
        })
    }

    /// Whether a user who signed in at `auth_time` must sign in again at `now`.
    fn wants_sign_in_since(&self, auth_time: u64, now: u64) -> bool {
        self.login
            || self
                .max_age
                .is_some_and(|max| now.saturating_sub(auth_time) > max)
    }

    /// The request to come back to after signing in: the same, without what that sign-in
    /// satisfies (`prompt=login`, `max_age`), so the fresh session is not sent round again.
    /// `max_age` still puts `auth_time` in the ID token: every ID token of a code carries it.
    fn satisfied_by_signing_in(&self, query: &str) -> String {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let kept: Vec<_> = pairs
            .into_iter()
            .filter(|(name, _)| name != "prompt" && name != "max_age")
            .collect();
        serde_urlencoded::to_string(kept).expect("strings always encode")
    }
}

impl Request {
    /// RFC 6749 §4.1.2.1: an error the client's redirect URI may be told of.
    fn error(&self, issuer: &str, error: &str, description: &str) -> Response {
        self.respond(
            issuer,
            &[("error", error), ("error_description", description)],
        )
    }

    /// Back to the client with `params`, its `state` and our `iss` (RFC 9207).
    fn respond(&self, issuer: &str, params: &[(&str, &str)]) -> Response {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(state) = &self.state {
            all.push(("state", state));
        }
        all.push(("iss", issuer));
        let query = serde_urlencoded::to_string(&all).expect("strings always encode");
        let separator = if self.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let target = format!("{}{separator}{query}", self.redirect_uri);
        // The redirect URI was parsed whole before anything was stored, so this holds; were
        // it ever not to, the answer is our error page, never axum's plain-text 500.
        if HeaderValue::from_str(&target).is_err() {
            return error_page("The application's return address cannot be used.");
        }
        if self.from_our_form {
            return continue_page(&target);
        }
        no_store(Redirect::to(&target).into_response())
    }
}

/// RFC 7636 §4.2: a S256 challenge is 43 base64url characters.
fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A page that sends the browser on to `target` by itself (a refresh is a new navigation, which
/// the login form's `form-action` does not govern), with a link in case it does not.
fn continue_page(target: &str) -> Response {
    let target = html_attribute(target);
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>Signed in</title>\
         <p>Signed in. <a href=\"{target}\">Continue to the application</a>.</p></html>"
    );
    let mut response = Html(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    no_store(response)
}

/// Escapes text for a double-quoted HTML attribute.
fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Shown instead of a redirect when where to redirect cannot be trusted.
fn error_page(reason: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Sign-in refused</title>\
         <h1>This sign-in request was refused</h1><p>{reason}</p>\
         <p>Nothing was sent back to the application.</p></html>"
    );
    let mut response = (StatusCode::BAD_REQUEST, Html(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
