//! The coordinator's ports: requests described as data (so a retry can rebuild them), what a
//! transport hands back, and the clock/timer/spawn seam, so the same logic runs in a browser and in tests.

use std::future::Future;

use serde::Serialize;

use super::AuthError;

/// The HTTP methods a protected call may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`, with no body: what [`ApiRequest::get`] builds.
    Get,
    /// `POST`: what [`ApiRequest::post_json`] builds. Retried after a 401 like the others, which
    /// is safe: a request refused for its token was not acted on.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A protected API call, described as data so the coordinator can send it a second time (a
/// browser `Request` cannot be sent twice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    /// The HTTP method, the same on the retry.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Encoded once, so the retry sends the same bytes; `None` sends no body and no
    /// `Content-Type`.
    pub body: Option<Body>,
    /// The `Accept` header, when the call needs one (server functions say which encoding).
    pub accept: Option<String>,
}

/// A request body, already encoded, so a retry sends exactly the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// The `Content-Type` header sent with it (`application/json` from
    /// [`ApiRequest::post_json`], a URL-encoded form from a server function).
    pub content_type: String,
    /// The encoded body. Text only: what cannot be copied for a retry (binary, streams) is not
    /// sent through the coordinator at all.
    pub text: String,
}

impl ApiRequest {
    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            path: path.into(),
            body: None,
            accept: None,
        }
    }

    /// `POST path` with a JSON body. Serialising up front means a retry cannot serialise differently.
    pub fn post_json(path: impl Into<String>, body: &impl Serialize) -> Result<Self, AuthError> {
        let json = serde_json::to_string(body).map_err(|e| AuthError::Encode(e.to_string()))?;
        Ok(Self {
            method: Method::Post,
            path: path.into(),
            body: Some(Body {
                content_type: "application/json".to_owned(),
                text: json,
            }),
            accept: None,
        })
    }
}

/// What the transport hands back: just the parts the coordinator and its callers decide on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `WWW-Authenticate` header: on a 401/403 it says *why* (RFC 6750), the status alone does not.
    pub www_authenticate: Option<String>,
    /// The `Location` header.
    pub location: Option<String>,
    /// Whether a server function asked the page to navigate (its redirect header).
    pub redirect: bool,
    /// The whole body as text: JSON for the API, errors included (its `{"error", "message"}`
    /// envelope), or whatever a server function encodes.
    pub body: String,
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A call that produced no HTTP response at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No usable answer: offline, DNS, a refused or reset connection, a body cut off. The text
    /// is the HTTP client's, for logs.
    #[error("network error: {0}")]
    Network(String),
    /// The coordinator gave up waiting (see [`CoordinatorConfig::request_timeout_ms`]).
    ///
    /// [`CoordinatorConfig::request_timeout_ms`]: super::CoordinatorConfig::request_timeout_ms
    #[error("timed out")]
    Timeout,
}

/// The HTTP layer: the browser implements it with `fetch`, tests with a fake server.
///
/// It must not retry or refresh by itself: that is the coordinator's whole job.
pub trait Transport: 'static {
    /// Sends `request`, with `Authorization: Bearer <bearer>` when a token is given.
    fn send(
        &self,
        request: &ApiRequest,
        bearer: Option<&str>,
    ) -> impl Future<Output = Result<ApiResponse, TransportError>>;

    /// `POST /api/auth/refresh` with credentials (the HttpOnly cookie) and no body. The
    /// coordinator never feeds this call back into its own retry logic, so it cannot loop.
    fn refresh(&self) -> impl Future<Output = Result<ApiResponse, TransportError>>;
}

/// Clock, timers and task spawning, injected so that tests move time instead of sleeping and so
/// that the same code runs on wasm (no `std::time::Instant` there).
pub trait Runtime: 'static {
    /// Monotonic milliseconds (browser: `performance.now()`). Token expiry is timed with this
    /// from `expires_in` at receipt, so a wrong wall clock cannot break it.
    fn now_ms(&self) -> f64;

    /// Completes after `ms` milliseconds. `'static` so that a timer does not keep its owner alive.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + 'static;

    /// Runs `task` in the background (browser: `spawn_local`). The shared refresh runs this way,
    /// so no single caller can cancel it by dropping its request.
    fn spawn(&self, task: impl Future<Output = ()> + 'static);
}
