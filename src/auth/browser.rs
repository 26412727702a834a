//! The browser side of the coordinator's three traits: `fetch` through gloo-net, timers and
//! `spawn_local`, and cross-tab coordination through Web Locks and a `BroadcastChannel`.
//!
//! Compiled for the `hydrate` feature only; everything with logic in it lives in the coordinator.

use std::{
    cell::{Cell, RefCell},
    future::Future,
    rc::Rc,
};

use futures::{channel::oneshot, future::LocalBoxFuture};
use gloo_net::http::{Request, RequestBuilder, Response};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortController, BroadcastChannel, MessageEvent, RequestCredentials};

use super::{
    config::AuthEndpoints,
    coordinator::{
        ApiRequest, ApiResponse, Coordinator, Method, Runtime, Transport, TransportError,
    },
    tab_sync::{Envelope, TabMessage, TabSync, TokenArrivals},
};
use crate::api::auth::LoginRequest;

/// The coordinator as the browser runs it.
pub type BrowserCoordinator = Coordinator<FetchTransport, BrowserRuntime, BrowserTabs>;

thread_local! {
    /// The page's coordinator, for callers that cannot be handed one: server-function clients
    /// are types, not values (see `server_fn_client`).
    static ACTIVE: RefCell<Option<BrowserCoordinator>> = const { RefCell::new(None) };
}

/// Makes `coordinator` the one [`active_coordinator`] returns (the auth context does this once).
pub fn set_active_coordinator(coordinator: BrowserCoordinator) {
    ACTIVE.with(|active| *active.borrow_mut() = Some(coordinator));
}

/// The page's coordinator, once the auth context exists.
pub fn active_coordinator() -> Option<BrowserCoordinator> {
    ACTIVE.with(|active| active.borrow().clone())
}

/// `fetch`, same-origin, with the refresh cookie sent only to the refresh endpoint.
#[derive(Clone, Copy, Debug)]
pub struct FetchTransport {
    /// Where [`Transport::refresh`], [`FetchTransport::login`] and [`FetchTransport::logout`]
    /// post; protected calls go to their own [`ApiRequest::path`].
    pub endpoints: AuthEndpoints,
}

impl Transport for FetchTransport {
    async fn send(
        &self,
        request: &ApiRequest,
        bearer: Option<&str>,
    ) -> Result<ApiResponse, TransportError> {
        let method = match request.method {
            Method::Get => gloo_net::http::Method::GET,
            Method::Post => gloo_net::http::Method::POST,
            Method::Put => gloo_net::http::Method::PUT,
            Method::Patch => gloo_net::http::Method::PATCH,
            Method::Delete => gloo_net::http::Method::DELETE,
        };
        let mut builder = RequestBuilder::new(&request.path).method(method);
        if let Some(token) = bearer {
            builder = builder.header("Authorization", &format!("Bearer {token}"));
        }
        if let Some(accept) = &request.accept {
            builder = builder.header("Accept", accept);
        }
        let prepared = match &request.body {
            Some(body) => builder
                .header("Content-Type", &body.content_type)
                .body(body.text.clone()),
            None => builder.build(),
        };
        read(prepared.map_err(network)?.send().await.map_err(network)?).await
    }

    async fn refresh(&self) -> Result<ApiResponse, TransportError> {
        let request = RequestBuilder::new(self.endpoints.refresh)
            .method(gloo_net::http::Method::POST)
            .credentials(RequestCredentials::SameOrigin)
            .build()
            .map_err(network)?;
        read(request.send().await.map_err(network)?).await
    }
}

/// The two calls that are not the coordinator's business: there is no token to attach yet, or
/// none is needed any more.
impl FetchTransport {
    /// `POST` to the login endpoint.
    pub async fn login(&self, request: &LoginRequest) -> Result<ApiResponse, TransportError> {
        let prepared = Request::post(self.endpoints.login)
            .json(request)
            .map_err(network)?;
        read(prepared.send().await.map_err(network)?).await
    }

    /// `POST` to the logout endpoint.
    pub async fn logout(&self) -> Result<(), TransportError> {
        Request::post(self.endpoints.logout)
            .send()
            .await
            .map(drop)
            .map_err(network)
    }
}

/// The header a server function sets when it asks the page to navigate (`leptos_axum::redirect`).
const SERVER_FN_REDIRECT_HEADER: &str = "serverfnredirect";

async fn read(response: Response) -> Result<ApiResponse, TransportError> {
    let headers = response.headers();
    Ok(ApiResponse {
        status: response.status(),
        www_authenticate: headers.get("www-authenticate"),
        location: headers.get("location"),
        redirect: headers.has(SERVER_FN_REDIRECT_HEADER),
        body: response.text().await.map_err(network)?,
    })
}

fn network(error: gloo_net::Error) -> TransportError {
    TransportError::Network(error.to_string())
}

thread_local! {
    /// (wall clock at start, `performance.now()` at start, suspended time seen so far).
    static CLOCK: Cell<(f64, f64, f64)> = Cell::new(clock_origin());
}

fn clock_origin() -> (f64, f64, f64) {
    (js_sys::Date::now(), performance_now(), 0.0)
}

/// `performance.now()`, or 0 where there is no window (never in a page).
fn performance_now() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or(0.0, |performance| performance.now())
}

/// `performance.now()` (suspend-aware), `setTimeout` and `spawn_local`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserRuntime;

impl Runtime for BrowserRuntime {
    /// `performance.now()`, plus any time the machine spent suspended: that clock stops while a
    /// laptop sleeps, and a token must still count as older afterwards. The wall clock tells the
    /// gap; its jumps can only make a refresh come earlier, never later, and the result never goes
    /// backwards.
    fn now_ms(&self) -> f64 {
        let monotonic = performance_now();
        let wall = js_sys::Date::now();
        CLOCK.with(|clock| {
            let (wall_start, monotonic_start, gap) = clock.get();
            let gap = gap.max((wall - wall_start) - (monotonic - monotonic_start));
            clock.set((wall_start, monotonic_start, gap));
            monotonic + gap
        })
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + 'static {
        // setTimeout takes a signed 32-bit delay; a longer one would fire at once.
        gloo_timers::future::TimeoutFuture::new(ms.min(i32::MAX as u64) as u32)
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        wasm_bindgen_futures::spawn_local(task);
    }
}

/// How long a tab that waited for the lock waits for the winner's message to arrive. The winner
/// posts it right after bumping the counter, so it normally arrives within milliseconds; the
/// limit only matters if that tab died in between, and must be generous for a busy machine (a
/// message that arrives late costs a second refresh call).
const MESSAGE_WAIT_MS: u32 = 2_000;

type Receiver = Rc<RefCell<Option<Box<dyn Fn(TabMessage)>>>>;

struct Channel {
    channel: BroadcastChannel,
    locks: JsValue,
    lock_name: String,
    /// How long a refresh waits for the lock before it goes ahead without it.
    lock_wait_ms: u32,
    /// A counter in `localStorage`, bumped by every tab that publishes a new token. Not a secret:
    /// it lets a tab that waited for the lock know a newer token is on its way over the channel.
    seq_key: String,
    arrivals: Rc<TokenArrivals>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// Web Locks + `BroadcastChannel`, or — where either is missing — a single tab on its own (the
/// server's grace window keeps that safe).
#[derive(Clone)]
pub struct BrowserTabs {
    channel: Option<Rc<Channel>>,
    receiver: Receiver,
}

impl BrowserTabs {
    /// Opens the channel `name` (also naming the lock and the counter) if the browser has both
    /// APIs. A refresh waits at most `lock_wait_ms` for the lock (see
    /// [`AuthConfig::lock_wait_ms`](super::config::AuthConfig::lock_wait_ms)).
    pub fn connect(name: &str, lock_wait_ms: u32) -> Self {
        let receiver: Receiver = Rc::new(RefCell::new(None));
        Self {
            channel: open_channel(name, lock_wait_ms, receiver.clone()),
            receiver,
        }
    }

    /// Where messages from other tabs go (the coordinator's `on_tab_message`).
    pub fn set_receiver(&self, receiver: impl Fn(TabMessage) + 'static) {
        *self.receiver.borrow_mut() = Some(Box::new(receiver));
    }
}

fn open_channel(name: &str, lock_wait_ms: u32, receiver: Receiver) -> Option<Rc<Channel>> {
    let window = web_sys::window()?;
    let locks = Reflect::get(&window.navigator(), &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let channel = BroadcastChannel::new(&format!("{name}-auth")).ok()?;
    let seq_key = format!("{name}:token-seq");
    let arrivals = Rc::new(TokenArrivals::since(stored_seq(&seq_key)));
    let seen = arrivals.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        let envelope = match Envelope::decode(&text) {
            Some(Ok(envelope)) => envelope,
            // A tab of another build (before or after a deploy): what it says is never read,
            // but that it announced something is, so a tab waiting for it in the lock stops
            // waiting and refreshes itself (the server's grace window keeps that safe).
            Some(Err(seq)) => return seen.received(seq),
            None => return,
        };
        let (is_token, is_sign_out) = match &envelope.message {
            TabMessage::TokenRefreshed(_) | TabMessage::SignedIn(_) => (true, false),
            TabMessage::SignedOut | TabMessage::IdleTimedOut { .. } => (false, true),
            TabMessage::TokenWanted => (false, false),
        };
        // Deliver first, then wake a tab waiting in the lock, so it finds the token installed.
        if let Some(receiver) = receiver.borrow().as_ref() {
            receiver(envelope.message);
        }
        if is_token {
            seen.received(envelope.seq);
        } else if is_sign_out {
            seen.wake_all();
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Rc::new(Channel {
        channel,
        locks,
        lock_name: format!("{name}-refresh"),
        lock_wait_ms,
        seq_key,
        arrivals,
        _on_message: on_message,
    }))
}

fn stored_seq(key: &str) -> u64 {
    local_storage()
        .and_then(|storage| storage.get_item(key).ok().flatten())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Aborts a queued lock request once no tab has announced a new token for a whole `wait_ms`:
/// bounded by progress, not by the length of the queue. A frozen or hung holder announces
/// nothing; eight tabs queued behind one that is refreshing see its announcement and keep their
/// turn (each then adopts the token without a call). Stops once the task has started (or run
/// without the lock).
fn give_up_without_progress<T: 'static>(
    give_up: AbortController,
    unstarted: Rc<RefCell<Option<T>>>,
    seq_key: String,
    wait_ms: u32,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut announced = stored_seq(&seq_key);
        loop {
            gloo_timers::future::TimeoutFuture::new(wait_ms).await;
            if unstarted.borrow().is_none() {
                return;
            }
            let now = stored_seq(&seq_key);
            if now == announced {
                give_up.abort();
                return;
            }
            announced = now;
        }
    });
}

impl TabSync for BrowserTabs {
    fn with_refresh_lock<T: 'static>(
        &self,
        task: LocalBoxFuture<'static, T>,
    ) -> impl Future<Output = T> {
        let channel = self.channel.clone();
        async move {
            let Some(channel) = channel else {
                return task.await;
            };
            let task = Rc::new(RefCell::new(Some(task)));
            let (done, output) = oneshot::channel();
            let (in_lock_task, arrivals) = (task.clone(), channel.arrivals.clone());
            let seq_key = channel.seq_key.clone();
            let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
                future_to_promise(async move {
                    // Another tab announced a token that has not reached us yet: let it arrive
                    // first, so the coordinator adopts it instead of refreshing again. (The other
                    // tab may have closed meanwhile, hence the time limit.)
                    if let Some(arrival) = arrivals.wait_for(stored_seq(&seq_key)) {
                        let limit = gloo_timers::future::TimeoutFuture::new(MESSAGE_WAIT_MS);
                        futures::future::select(arrival, limit).await;
                    }
                    let pending = in_lock_task.borrow_mut().take();
                    if let Some(pending) = pending {
                        let _ = done.send(pending.await);
                    }
                    Ok(JsValue::UNDEFINED)
                })
            });
            // The wait is bounded: a tab that holds the lock and is then frozen (a background
            // tab on a phone) or hangs must not wedge the others. Past the bound the request is
            // withdrawn and the task runs without the lock; the server's grace window makes a
            // second refresh of one credential safe. A granted lock ignores the abort.
            let give_up = AbortController::new().ok();
            let options = js_sys::Object::new();
            if let Some(give_up) = give_up {
                let _ = Reflect::set(&options, &"signal".into(), &give_up.signal());
                let (unstarted, seq_key) = (task.clone(), channel.seq_key.clone());
                give_up_without_progress(give_up, unstarted, seq_key, channel.lock_wait_ms);
            }
            let locked = Reflect::get(&channel.locks, &JsValue::from_str("request"))
                .ok()
                .and_then(|request| request.dyn_into::<Function>().ok())
                .and_then(|request| {
                    request
                        .call3(
                            &channel.locks,
                            &channel.lock_name.as_str().into(),
                            &options,
                            &callback,
                        )
                        .ok()
                });
            if let Some(promise) = locked {
                let _ = JsFuture::from(Promise::from(promise)).await;
            }
            // The lock API failed, or the wait was given up, before the task ran: run it
            // without the lock.
            let unrun = task.borrow_mut().take();
            match unrun {
                Some(task) => task.await,
                // `future_to_promise` drives the callback to the end, so its answer always comes.
                None => output.await.expect("the locked task sends its output"),
            }
        }
    }

    fn publish(&self, message: TabMessage) {
        let Some(channel) = &self.channel else { return };
        let new_token = matches!(
            message,
            TabMessage::TokenRefreshed(_) | TabMessage::SignedIn(_)
        );
        let seq = if new_token {
            let next = stored_seq(&channel.seq_key) + 1;
            if let Some(storage) = local_storage() {
                let _ = storage.set_item(&channel.seq_key, &next.to_string());
            }
            channel.arrivals.published(next);
            next
        } else {
            stored_seq(&channel.seq_key)
        };
        if let Ok(text) = serde_json::to_string(&Envelope::new(seq, message)) {
            let _ = channel.channel.post_message(&JsValue::from_str(&text));
        }
    }

    fn reaches_other_tabs(&self) -> bool {
        self.channel.is_some()
    }
}
