//! The coordinator outside a browser (feature `native`): a reqwest transport with a cookie jar in
//! place of the browser's, and a tokio clock. The soak and the refresh-storm benchmark drive the
//! real server binary with it; a Rust CLI or service could sign in the same way.
//!
//! The coordinator is single-threaded (`Rc`), so it runs on a tokio `LocalSet`.

use std::{sync::Arc, time::Instant};

use reqwest::{cookie::Jar, header};

use crate::{
    api::auth::LoginRequest,
    auth::{
        config::AuthEndpoints,
        coordinator::{ApiRequest, ApiResponse, Method, Runtime, Transport, TransportError},
    },
};

/// HTTP through reqwest, against `base_url`, with the refresh cookie in a jar that several
/// coordinators may share (tabs of one "browser").
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    base_url: String,
    endpoints: AuthEndpoints,
}

impl ReqwestTransport {
    /// A client for the server at `base_url` (`http://host:port`), keeping cookies in `jar`.
    /// Every request says where it comes from (`Origin`), as a browser would, so the server's
    /// cross-site check lets the cookie endpoints through.
    pub fn new(base_url: &str, endpoints: AuthEndpoints, jar: Arc<Jar>) -> reqwest::Result<Self> {
        let mut headers = header::HeaderMap::new();
        if let Ok(origin) = header::HeaderValue::from_str(base_url) {
            headers.insert(header::ORIGIN, origin);
        }
        let client = reqwest::Client::builder()
            .cookie_provider(jar)
            .default_headers(headers)
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            endpoints,
        })
    }

    /// `POST` to the login endpoint (the answer for `classify_login`).
    pub async fn login(&self, request: &LoginRequest) -> Result<ApiResponse, TransportError> {
        let call = self
            .client
            .post(self.url(self.endpoints.login))
            .json(request);
        read(call.send().await.map_err(network)?).await
    }

    /// `POST` to the logout endpoint.
    pub async fn logout(&self) -> Result<(), TransportError> {
        let call = self.client.post(self.url(self.endpoints.logout));
        call.send().await.map(drop).map_err(network)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Transport for ReqwestTransport {
    async fn send(
        &self,
        request: &ApiRequest,
        bearer: Option<&str>,
    ) -> Result<ApiResponse, TransportError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut call = self.client.request(method, self.url(&request.path));
        if let Some(token) = bearer {
            call = call.bearer_auth(token);
        }
        if let Some(accept) = &request.accept {
            call = call.header(header::ACCEPT, accept);
        }
        if let Some(body) = &request.body {
            call = call
                .header(header::CONTENT_TYPE, &body.content_type)
                .body(body.text.clone());
        }
        read(call.send().await.map_err(network)?).await
    }

    async fn refresh(&self) -> Result<ApiResponse, TransportError> {
        let call = self.client.post(self.url(self.endpoints.refresh));
        read(call.send().await.map_err(network)?).await
    }
}

async fn read(response: reqwest::Response) -> Result<ApiResponse, TransportError> {
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (www_authenticate, location) = (header(header::WWW_AUTHENTICATE), header(header::LOCATION));
    let redirect = response.headers().contains_key("serverfnredirect");
    Ok(ApiResponse {
        status: response.status().as_u16(),
        www_authenticate,
        location,
        redirect,
        body: response.text().await.map_err(network)?,
    })
}

fn network(error: reqwest::Error) -> TransportError {
    if error.is_timeout() {
        TransportError::Timeout
    } else {
        TransportError::Network(error.to_string())
    }
}

/// Monotonic time from an `Instant`, tokio timers, and `spawn_local` (run inside a `LocalSet`).
#[derive(Clone, Copy, Debug)]
pub struct TokioRuntime {
    started: Instant,
}

impl Default for TokioRuntime {
    fn default() -> Self {
        Self {
            started: Instant::now(),
        }
    }
}

impl Runtime for TokioRuntime {
    fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn sleep(&self, ms: u64) -> impl std::future::Future<Output = ()> + 'static {
        tokio::time::sleep(std::time::Duration::from_millis(ms))
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        tokio::task::spawn_local(task);
    }
}
