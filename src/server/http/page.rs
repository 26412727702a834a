//! What every page render carries: the marker server functions look for (`server::http::caller`), and
//! the page's security headers — in one place, so a page-wide header is added here and nowhere
//! else.

use axum::http::{header, HeaderName, HeaderValue};
use leptos::{config::Env, prelude::LeptosOptions};

/// The marker a page render carries: provided by the demo's `page_shell` (and an app's own
/// shell) and by nothing else, so a server
/// function that finds it runs in-process for that page's request. Our own fact, not whatever
/// contexts leptos_axum happens to provide for a render today (it gives server functions
/// called over HTTP the same additional context as pages).
#[derive(Clone, Copy, Debug)]
pub struct PageRender;

/// The headers of every HTML page (OWASP HTTP Headers and Clickjacking Defense cheat sheets).
///
/// The CSP lets scripts run only from this origin or with this render's nonce (the hydration
/// script leptos writes inline carries it), and the wasm compile (`'wasm-unsafe-eval'`); nothing
/// may frame a page (`frame-ancestors 'none'`, and `X-Frame-Options` for older browsers), so
/// the demo's "Revoke session" button cannot be clickjacked. In development the live-reload
/// script's websocket is allowed too.
pub fn page_headers(
    nonce: Option<&str>,
    options: &LeptosOptions,
) -> Vec<(HeaderName, HeaderValue)> {
    let script = nonce.map_or_else(String::new, |nonce| format!(" 'nonce-{nonce}'"));
    let reload = if options.env == Env::DEV {
        " ws: wss:"
    } else {
        ""
    };
    let csp = format!(
        "default-src 'self'; script-src 'self'{script} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    let mut headers = vec![
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ];
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.push((header::CONTENT_SECURITY_POLICY, csp));
    }
    headers
}
