//! Drives the real router in-process, with a manual clock and a cookie jar per "browser".

#![allow(dead_code)] // each test file uses a different part of this helper

use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::Body,
    extract::connect_info::MockConnectInfo,
    http::{header, HeaderMap, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use serde_json::Value;
use tokenflight::server::{
    config::Config,
    core::{
        clock::ManualClock,
        store::{redis::RedisBackend, FamilyRecord, Store, StoreUrl, FIRST_PARTY_CLIENT},
    },
    router, IdpState,
};
use tower::ServiceExt;

// The OpenID Connect client side of the tests (issue #26).
pub mod dpop;
pub mod oidc;

#[path = "../process/redis.rs"]
mod redis_server;

/// The store backends the contract suite runs against; see [`for_each_backend!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Redis,
}

/// Expands the given test items once per backend, in modules `memory`, `sqlite` and `redis`,
/// each with `app()` / `app_with(vars)` building a [`TestApp`] on that backend. One suite,
/// every backend: a test is written once and named e.g. `sqlite::refresh_rotates…`.
#[allow(unused_macros)] // suites that need no store use `TestApp::new`
macro_rules! for_each_backend {
    (@one $name:ident, $backend:ident, $($item:item)*) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(dead_code)]
            async fn app() -> common::TestApp {
                common::TestApp::start(common::Backend::$backend, &[]).await
            }

            #[allow(dead_code)]
            async fn app_with(vars: &[(&str, &str)]) -> common::TestApp {
                common::TestApp::start(common::Backend::$backend, vars).await
            }

            $($item)*
        }
    };
    ($($item:item)*) => {
        for_each_backend!(@one memory, Memory, $($item)*);
        for_each_backend!(@one sqlite, Sqlite, $($item)*);
        for_each_backend!(@one redis, Redis, $($item)*);
    };
}

pub struct TestApp {
    router: Router,
    pub clock: ManualClock,
    pub state: IdpState,
    /// The SQLite file (and its WAL companions), deleted when the app is dropped.
    sqlite_file: Option<PathBuf>,
    /// How another instance opens this app's store, and the variables it was configured with.
    shared: SharedStore,
    vars: Vec<(String, String)>,
}

/// What a second instance needs to reach the same store as the first.
#[derive(Clone)]
enum SharedStore {
    /// The very same in-memory store (instances in one process).
    Memory(Arc<dyn Store>),
    /// The same file, through a pool of its own.
    Sqlite(String),
    /// The same Redis and key prefix, through a connection of its own.
    Redis(String),
}

impl SharedStore {
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Memory(store) => store.clone(),
            Self::Sqlite(url) => StoreUrl::Sqlite(url.clone())
                .open()
                .await
                .expect("a SQLite store"),
            Self::Redis(prefix) => Arc::new(
                RedisBackend::connect(&redis_server::url(), prefix)
                    .await
                    .expect("a Redis store"),
            ),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// A name no other test in any test process uses.
pub fn unique_name(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("tokenflight-{kind}-{}-{n}", std::process::id())
}

impl TestApp {
    /// On the in-memory store: for suites about HTTP behaviour rather than storage (the store
    /// contract runs on every backend through [`for_each_backend!`]).
    pub async fn new() -> Self {
        Self::start(Backend::Memory, &[]).await
    }

    /// [`TestApp::new`] with these variables set.
    pub async fn with_env(vars: &[(&str, &str)]) -> Self {
        Self::start(Backend::Memory, vars).await
    }

    /// [`TestApp::with_env`] on a store a previous version left a session in, so this start is
    /// an upgrade (`server::core::upgrade`): tokens of the previous format — HS256 under the
    /// key `JWT_SECRET` derives, `iss: tokenflight` — are accepted for one token lifetime. The
    /// suites that forge tokens with that key to probe each claim check use it.
    pub async fn upgraded_with_env(vars: &[(&str, &str)]) -> Self {
        let store = StoreUrl::Memory.open().await.unwrap();
        let left_behind = FamilyRecord::new("u-alice", FIRST_PARTY_CLIENT, 0);
        store
            .insert_family("left-by-the-previous-version", &left_behind, u64::MAX / 4)
            .await
            .unwrap();
        let vars = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Self::on(SharedStore::Memory(store), vars, ManualClock::new()).await
    }

    /// An app on `backend`, configured as by these environment variables (on top of the
    /// defaults), on a manual clock.
    pub async fn start(backend: Backend, vars: &[(&str, &str)]) -> Self {
        let mut sqlite_file = None;
        let shared = match backend {
            Backend::Memory => SharedStore::Memory(StoreUrl::Memory.open().await.unwrap()),
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique_name("test")));
                let url = format!("sqlite://{}", path.display());
                sqlite_file = Some(path);
                SharedStore::Sqlite(url)
            }
            // Each app gets its own key prefix on the shared test Redis.
            Backend::Redis => SharedStore::Redis(unique_name("test")),
        };
        let vars = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let mut app = Self::on(shared, vars, ManualClock::new()).await;
        app.sqlite_file = sqlite_file;
        app
    }

    /// Another instance on this app's store (the same memory, SQLite file or Redis prefix),
    /// configured alike and on the same clock: a second process behind the same load balancer,
    /// or this one after a restart.
    pub async fn another_instance(&self) -> Self {
        Self::on(self.shared.clone(), self.vars.clone(), self.clock.clone()).await
    }

    /// [`TestApp::another_instance`] with some variables changed: a redeploy with another
    /// configuration (e.g. the next signing key).
    pub async fn another_instance_with(&self, vars: &[(&str, &str)]) -> Self {
        let mut merged = self.vars.clone();
        for (key, value) in vars {
            merged.retain(|(existing, _)| existing != key);
            merged.push((key.to_string(), value.to_string()));
        }
        Self::on(self.shared.clone(), merged, self.clock.clone()).await
    }

    /// The router, to serve on a real port.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    async fn on(shared: SharedStore, vars: Vec<(String, String)>, clock: ManualClock) -> Self {
        let config = Config::demo_from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .expect("valid test configuration");
        let store = shared.open().await;
        let options = LeptosOptions::builder().output_name("tokenflight").build();
        let state = IdpState::with_store(config, store, Arc::new(clock.clone()))
            .await
            .expect("the store answers");
        Self {
            // What `main` gets from `into_make_service_with_connect_info`: one client address,
            // unless a test sets another on its request.
            router: router(state.clone(), options)
                .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000)))),
            clock,
            state,
            sqlite_file: None,
            shared,
            vars,
        }
    }

    /// The SQLite file of a `Backend::Sqlite` app.
    pub fn sqlite_file(&self) -> Option<&PathBuf> {
        self.sqlite_file.as_ref()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A new browser with an empty cookie jar.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: HashMap::new(),
        }
    }

    /// A browser signed in as `username`, with its access token.
    pub async fn signed_in(&self, username: &str) -> (Browser<'_>, String) {
        let password = if username == "admin" {
            "admin-secret"
        } else {
            "wonderland"
        };
        let mut browser = self.browser();
        let response = browser.login(username, password).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        (browser, response.access_token())
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.send(bearer_request(Method::GET, path, token, None))
            .await
    }

    /// `POST path` with a `Cookie` header, as a browser tab holding those cookies would.
    pub async fn post_with_cookies(&self, path: &str, cookies: &str) -> TestResponse {
        let request = Request::post(path)
            .header(header::COOKIE, cookies)
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.send(bearer_request(Method::POST, path, token, Some(body)))
            .await
    }
}

pub fn bearer_request(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

/// `POST /api/auth/login` as the app's own page sends it, without cookies.
pub fn login_request(username: &str, password: &str) -> Request<Body> {
    let body = serde_json::json!({ "username": username, "password": password });
    let mut request = bearer_request(Method::POST, "/api/auth/login", None, Some(body));
    request
        .headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    request
}

/// Waits (in real time, at most 10 s) until `condition` holds: for work on blocking threads,
/// which no injected clock can move.
pub async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A cookie jar in front of the app, sending same-origin headers like a real browser would.
#[derive(Clone)]
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookies: HashMap<String, String>,
}

impl Browser<'_> {
    pub async fn login(&mut self, username: &str, password: &str) -> TestResponse {
        let body = serde_json::json!({ "username": username, "password": password });
        self.post("/api/auth/login", Some(body)).await
    }

    pub async fn refresh(&mut self) -> TestResponse {
        self.post("/api/auth/refresh", None).await
    }

    pub async fn logout(&mut self) -> TestResponse {
        self.post("/api/auth/logout", None).await
    }

    pub async fn post(&mut self, path: &str, body: Option<Value>) -> TestResponse {
        let mut request = bearer_request(Method::POST, path, None, body);
        request
            .headers_mut()
            .insert("sec-fetch-site", "same-origin".parse().unwrap());
        self.send(request).await
    }

    pub async fn get_page(&mut self, path: &str) -> TestResponse {
        let request = Request::get(path).body(Body::empty()).unwrap();
        self.send(request).await
    }

    /// Sends with this jar's cookies and stores the cookies the response sets.
    pub async fn send(&mut self, mut request: Request<Body>) -> TestResponse {
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request
                .headers_mut()
                .insert(header::COOKIE, jar.join("; ").parse().unwrap());
        }
        let response = self.app.send(request).await;
        for (name, value, removed) in response.set_cookies() {
            if removed {
                self.cookies.remove(&name);
            } else {
                self.cookies.insert(name, value);
            }
        }
        response
    }

    pub fn refresh_cookie(&self) -> Option<String> {
        self.cookies.get("tf_refresh").cloned()
    }

    /// The jar as a `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        jar.join("; ")
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    /// The stable `error` code of an error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]
            .as_str()
            .expect("an error code")
            .to_owned()
    }

    pub fn access_token(&self) -> String {
        self.json()["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Raw `Set-Cookie` lines.
    pub fn set_cookie_lines(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect()
    }

    /// The value this response sets for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|(cookie, _, removed)| cookie == name && !removed)
            .map(|(_, value, _)| value)
    }

    /// (name, value, removed) for each cookie set.
    fn set_cookies(&self) -> Vec<(String, String, bool)> {
        self.set_cookie_lines()
            .iter()
            .map(|line| {
                let pair = line.split(';').next().unwrap();
                let (name, value) = pair.split_once('=').unwrap();
                let removed = line.contains("Max-Age=0");
                (name.to_owned(), value.to_owned(), removed)
            })
            .collect()
    }
}

/// Runs `n` copies of `task` (given their index) as separate tasks on the runtime's threads,
/// released together by a barrier, and returns their results in order. Use on a multi-threaded
/// runtime, so the requests really overlap.
pub async fn all_at_once<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|index| {
            let (barrier, started) = (barrier.clone(), task(index));
            tokio::spawn(async move {
                barrier.wait().await;
                started.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.expect("the task panicked"));
    }
    results
}
