//! The browser side of the coordinator's three traits: `fetch` through gloo-net, timers and
//! `spawn_local`, and cross-tab coordination through Web Locks and a `BroadcastChannel`.
//!
//! Compiled for the `hydrate` feature only; everything with logic in it lives in the coordinator.

use std::{
    cell::{Cell, RefCell},
    future::Future,
    rc::Rc,
};

use futures::future::LocalBoxFuture;
use gloo_net::http::{Request, RequestBuilder, Response};
use js_sys::{Function, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{BroadcastChannel, MessageEvent, RequestCredentials};

use super::{
    coordinator::{ApiRequest, ApiResponse, Method, Runtime, Transport, TransportError},
    tab_sync::{TabMessage, TabSync},
};
use crate::api::paths;

/// `fetch`, same-origin, with the refresh cookie sent only to the refresh endpoint.
#[derive(Clone, Copy, Debug, Default)]
pub struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(
        &self,
        request: &ApiRequest,
        bearer: Option<&str>,
    ) -> Result<ApiResponse, TransportError> {
        let builder = match request.method {
            Method::Get => Request::get(&request.path),
            Method::Post => Request::post(&request.path),
        };
        let builder = match bearer {
            Some(token) => builder.header("Authorization", &format!("Bearer {token}")),
            None => builder,
        };
        let prepared = match &request.json_body {
            Some(body) => builder
                .header("Content-Type", "application/json")
                .body(body.clone()),
            None => builder.build(),
        };
        read(prepared.map_err(network)?.send().await.map_err(network)?).await
    }

    async fn refresh(&self) -> Result<ApiResponse, TransportError> {
        let request = RequestBuilder::new(paths::REFRESH)
            .method(gloo_net::http::Method::POST)
            .credentials(RequestCredentials::SameOrigin)
            .build()
            .map_err(network)?;
        read(request.send().await.map_err(network)?).await
    }
}

async fn read(response: Response) -> Result<ApiResponse, TransportError> {
    Ok(ApiResponse {
        status: response.status(),
        www_authenticate: response.headers().get("www-authenticate"),
        body: response.text().await.map_err(network)?,
    })
}

fn network(error: gloo_net::Error) -> TransportError {
    TransportError::Network(error.to_string())
}

/// `performance.now()`, `setTimeout` and `spawn_local`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserRuntime;

impl Runtime for BrowserRuntime {
    fn now_ms(&self) -> f64 {
        web_sys::window()
            .and_then(|window| window.performance())
            .map_or(0.0, |performance| performance.now())
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + 'static {
        gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32)
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        wasm_bindgen_futures::spawn_local(task);
    }
}

const CHANNEL_NAME: &str = "tokenflight-auth";
const LOCK_NAME: &str = "tokenflight-refresh";
/// A counter in `localStorage`, bumped by every tab that publishes a new token. Not a secret:
/// it lets a tab that waited for the lock know a newer token is on its way over the channel.
const TOKEN_SEQ_KEY: &str = "tokenflight:token-seq";
/// How long a tab that waited for the lock waits for the winner's message to arrive.
const MESSAGE_WAIT_MS: u32 = 500;

/// What travels over the channel: the message, numbered by [`TOKEN_SEQ_KEY`].
#[derive(Serialize, Deserialize)]
struct Envelope {
    seq: u64,
    message: TabMessage,
}

type Receiver = Rc<RefCell<Option<Box<dyn Fn(TabMessage)>>>>;

struct Channel {
    channel: BroadcastChannel,
    locks: JsValue,
    /// Highest token sequence number received from another tab.
    received_seq: Rc<Cell<u64>>,
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
    /// Opens the channel if the browser has both APIs.
    pub fn connect() -> Self {
        let receiver: Receiver = Rc::new(RefCell::new(None));
        Self {
            channel: open_channel(receiver.clone()),
            receiver,
        }
    }

    /// Where messages from other tabs go (the coordinator's `on_tab_message`).
    pub fn set_receiver(&self, receiver: impl Fn(TabMessage) + 'static) {
        *self.receiver.borrow_mut() = Some(Box::new(receiver));
    }
}

fn open_channel(receiver: Receiver) -> Option<Rc<Channel>> {
    let window = web_sys::window()?;
    let locks = Reflect::get(&window.navigator(), &JsValue::from_str("locks")).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let channel = BroadcastChannel::new(CHANNEL_NAME).ok()?;
    let received_seq = Rc::new(Cell::new(0));
    let seen = received_seq.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        let Ok(envelope) = serde_json::from_str::<Envelope>(&text) else {
            return;
        };
        seen.set(seen.get().max(envelope.seq));
        if let Some(receiver) = receiver.borrow().as_ref() {
            receiver(envelope.message);
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Rc::new(Channel {
        channel,
        locks,
        received_seq,
        _on_message: on_message,
    }))
}

impl Channel {
    fn stored_seq() -> u64 {
        local_storage()
            .and_then(|storage| storage.get_item(TOKEN_SEQ_KEY).ok().flatten())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0)
    }

    /// Waits (briefly) until the message numbered `seq` has arrived from another tab.
    async fn wait_for_message(&self, seq: u64) {
        let mut waited = 0;
        while self.received_seq.get() < seq && waited < MESSAGE_WAIT_MS {
            gloo_timers::future::TimeoutFuture::new(10).await;
            waited += 10;
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
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
            let seq_before = Channel::stored_seq();
            let task = Rc::new(RefCell::new(Some(task)));
            let output = Rc::new(RefCell::new(None));
            let (in_lock_task, in_lock_output, in_lock_channel) =
                (task.clone(), output.clone(), channel.clone());
            let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
                future_to_promise(async move {
                    // Another tab refreshed while we waited for the lock: let its token arrive
                    // first, so the coordinator adopts it instead of refreshing again.
                    let seq_now = Channel::stored_seq();
                    if seq_now > seq_before {
                        in_lock_channel.wait_for_message(seq_now).await;
                    }
                    let pending = in_lock_task.borrow_mut().take();
                    if let Some(pending) = pending {
                        *in_lock_output.borrow_mut() = Some(pending.await);
                    }
                    Ok(JsValue::UNDEFINED)
                })
            });
            let request = Reflect::get(&channel.locks, &JsValue::from_str("request"))
                .ok()
                .and_then(|request| request.dyn_into::<Function>().ok());
            if let Some(request) = request {
                if let Ok(promise) = request.call2(&channel.locks, &LOCK_NAME.into(), &callback) {
                    let _ = JsFuture::from(Promise::from(promise)).await;
                }
            }
            let done = output.borrow_mut().take();
            match done {
                Some(output) => output,
                // The lock API failed before running the task: run it without the lock.
                None => {
                    let pending = task.borrow_mut().take();
                    pending.expect("the task runs exactly once").await
                }
            }
        }
    }

    fn publish(&self, message: TabMessage) {
        let Some(channel) = &self.channel else { return };
        let seq = if matches!(message, TabMessage::TokenRefreshed { .. }) {
            let next = Channel::stored_seq() + 1;
            if let Some(storage) = local_storage() {
                let _ = storage.set_item(TOKEN_SEQ_KEY, &next.to_string());
            }
            next
        } else {
            Channel::stored_seq()
        };
        if let Ok(text) = serde_json::to_string(&Envelope { seq, message }) {
            let _ = channel.channel.post_message(&JsValue::from_str(&text));
        }
    }

    fn reaches_other_tabs(&self) -> bool {
        self.channel.is_some()
    }
}
