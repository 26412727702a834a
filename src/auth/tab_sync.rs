//! Cross-tab coordination for the refresh coordinator: one refresh for all open tabs, and a
//! sign-out in one tab ends the session in every tab.
//!
//! The browser implements [`TabSync`] with the Web Locks API (`navigator.locks.request`) and a
//! `BroadcastChannel`; [`SingleTab`] is the fallback where those APIs are missing. Nothing here
//! depends on a browser crate, so the coordinator stays testable natively.

use std::{
    cell::{Cell, RefCell},
    future::Future,
};

use futures::{channel::oneshot, future::LocalBoxFuture};
use serde::{Deserialize, Serialize};

use crate::api::auth::User;

/// The version of [`Envelope`]'s format. Bump it whenever a [`TabMessage`] changes shape: tabs of
/// an old and a new build share one origin after a deploy, and each must ignore what the other
/// writes in a format it does not know, rather than misread it. (Version 1, which carried no
/// number, was the format before the idle timeout.)
pub const PROTOCOL_VERSION: u32 = 2;

/// What travels over the channel: the format's version, the message, and its number from the
/// shared counter (see [`TokenArrivals`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender's [`PROTOCOL_VERSION`], `v` on the wire; the message is read only when it is
    /// the receiver's own.
    #[serde(rename = "v")]
    pub version: u32,
    /// The shared counter as the sender left it: bumped for each new token announced, unchanged
    /// by other messages, so a tab knows which token it is still waiting for.
    pub seq: u64,
    /// What the sender says.
    pub message: TabMessage,
}

/// What every version's envelope is read as first: its version (absent before version 2) and its
/// number. The message is only read when the version is ours.
#[derive(Deserialize)]
struct EnvelopeHead {
    #[serde(rename = "v", default)]
    version: u32,
    seq: u64,
}

impl Envelope {
    /// An envelope of this build's [`PROTOCOL_VERSION`]: the only kind a tab sends.
    pub fn new(seq: u64, message: TabMessage) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            seq,
            message,
        }
    }

    /// Reads what another tab posted. `Err(seq)` for a message of another version (its number
    /// still tells that the tab announced something; its content is never interpreted), `None`
    /// for what is not an envelope at all.
    pub fn decode(text: &str) -> Option<Result<Self, u64>> {
        let head: EnvelopeHead = serde_json::from_str(text).ok()?;
        if head.version != PROTOCOL_VERSION {
            return Some(Err(head.seq));
        }
        serde_json::from_str(text).ok().map(Ok)
    }
}

/// When the session ends for inactivity unless refreshed, as one tab tells another: relative,
/// because tabs do not share a monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleWindow {
    /// Milliseconds left, when the message was sent.
    pub ends_in_ms: u64,
    /// The server's idle timeout, for the message that names it.
    pub timeout_secs: u64,
}

/// What one tab tells the others. Sent as JSON over a `BroadcastChannel`, in an [`Envelope`].
/// Externally tagged (`{"signed_in": {…}}`, `"signed_out"`), serde's default: an internally
/// tagged enum (`{"type": …}`) is parsed through a buffered copy, whose code weighs ~10 KB in
/// the browser bundle.
///
/// The refresh credential never appears here: it lives in an HttpOnly cookie that every tab of the
/// origin already shares. Only the short-lived access token travels, and only between same-origin
/// tabs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TabMessage {
    /// A tab refreshed the access token, or answers [`TabMessage::TokenWanted`] with its own. A
    /// signed-out tab ignores it: the token belongs to a session that tab has seen end (the
    /// message may have crossed the [`TabMessage::SignedOut`]).
    TokenRefreshed(SharedToken),
    /// A tab signed in (a new login, a new session): every tab adopts it, signed out or not.
    SignedIn(SharedToken),
    /// The session ended (logout, or the server refused the refresh): every tab must forget it.
    SignedOut,
    /// The session ended for inactivity: every tab says so on its login page.
    IdleTimedOut {
        /// The server's idle timeout in seconds, which every tab's sign-out message names.
        timeout_secs: u64,
    },
    /// A newly opened tab asks the open ones for the current token, to spare a refresh call.
    TokenWanted,
}

/// The token a [`TabMessage::TokenRefreshed`] or [`TabMessage::SignedIn`] shares. One struct
/// for both, so the browser compiles its JSON reader once; on the wire it is the same object a
/// struct variant would be (`{"signed_in": {"access_token": …}}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedToken {
    /// The access token itself, for same-origin tabs only; never the refresh credential.
    pub access_token: String,
    /// Remaining lifetime when the message was sent. Relative, because tabs do not share a
    /// monotonic clock (`performance.now()` starts at each tab's own load).
    pub expires_in_ms: u64,
    /// Whom the token belongs to: a tab signed in as someone else ignores a refreshed token.
    pub user: User,
    /// When the session ends for inactivity; `None` when the server did not say.
    pub idle: Option<IdleWindow>,
}

/// The cross-tab channel, injected into the coordinator.
///
/// Why a lock *and* messages: the refresh cookie is shared by all tabs, so two tabs refreshing at
/// once would waste a call at best, and trip refresh-token reuse detection at worst. The lock
/// serialises refreshes across tabs; the message lets the tab that waited for the lock adopt the
/// winner's token instead of refreshing again.
pub trait TabSync: 'static {
    /// Runs `task` while holding the cross-tab refresh lock, and returns its output.
    ///
    /// Implementations without a lock API run `task` at once.
    fn with_refresh_lock<T: 'static>(
        &self,
        task: LocalBoxFuture<'static, T>,
    ) -> impl Future<Output = T>;

    /// Sends `message` to every *other* tab of this origin (never back to the sender).
    fn publish(&self, message: TabMessage);

    /// Whether anyone can hear [`TabSync::publish`]. When `false`, a newly opened tab does not
    /// wait for an answer to [`TabMessage::TokenWanted`] and refreshes straight away.
    fn reaches_other_tabs(&self) -> bool;
}

/// The no-op implementation, for browsers without Web Locks or `BroadcastChannel` (and for
/// apps that do not care about several tabs): every tab behaves as if it were alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleTab;

impl TabSync for SingleTab {
    fn with_refresh_lock<T: 'static>(
        &self,
        task: LocalBoxFuture<'static, T>,
    ) -> impl Future<Output = T> {
        task
    }

    fn publish(&self, _message: TabMessage) {}

    fn reaches_other_tabs(&self) -> bool {
        false
    }
}

/// Whether the newest token announced by any tab has reached this one yet.
///
/// Browsers deliver a lock grant and a `BroadcastChannel` message as separate tasks, so a tab
/// that waited for the refresh lock may get the lock *before* the winner's token arrives, and
/// would then refresh a second time. Each announced token is numbered (a counter shared through
/// storage); a tab that finds a number it has neither received nor sent itself waits briefly for
/// that message first. This is that bookkeeping, free of browser APIs so it is tested natively.
#[derive(Debug, Default)]
pub struct TokenArrivals {
    /// Highest number received from another tab.
    received: Cell<u64>,
    /// Highest number this tab announced itself (its own messages never come back).
    published: Cell<u64>,
    /// Dropping a sender wakes its waiter.
    waiting: RefCell<Vec<(u64, oneshot::Sender<()>)>>,
}

impl TokenArrivals {
    /// Bookkeeping for a page that opens when the newest number any tab announced is `baseline`.
    /// Those messages were sent before this page listened, so they never arrive here: waiting for
    /// them (a reload finds its predecessor's number in storage) would only stall the page. Only
    /// a number announced by a tab that is alive now is worth waiting for.
    pub fn since(baseline: u64) -> Self {
        let arrivals = Self::default();
        arrivals.received.set(baseline);
        arrivals
    }

    /// This tab announced token number `seq`.
    pub fn published(&self, seq: u64) {
        self.published.set(self.published.get().max(seq));
    }

    /// Another tab's token number `seq` arrived: wakes whoever waited for it (or an older one).
    pub fn received(&self, seq: u64) {
        self.received.set(self.received.get().max(seq));
        let received = self.received.get();
        self.waiting
            .borrow_mut()
            .retain(|(wanted, _)| *wanted > received);
    }

    /// The session ended: no token is coming, nobody should wait for one.
    pub fn wake_all(&self) {
        self.waiting.borrow_mut().clear();
    }

    /// `newest` is the highest number any tab has announced. Returns something to await when
    /// that token has not reached this tab yet, `None` when it has (or was this tab's own).
    pub fn wait_for(&self, newest: u64) -> Option<oneshot::Receiver<()>> {
        if newest <= self.received.get().max(self.published.get()) {
            return None;
        }
        let (arrived, on_arrival) = oneshot::channel();
        self.waiting.borrow_mut().push((newest, arrived));
        Some(on_arrival)
    }
}

/// An in-process stand-in for Web Locks + `BroadcastChannel`, linking several coordinators in one
/// test (or one native process) as if they were tabs of one browser. Native only: the module
/// needs no feature of its own in an app that lifts it, and the browser bundle never carries it
/// (compiled into the wasm, even unused, it moved 17 KB of the lazy chunks' data into the main
/// wasm: docs/bundle-size.md).
#[cfg(not(target_arch = "wasm32"))]
pub mod memory {
    use std::cell::RefCell;
    use std::future::Future;
    use std::rc::Rc;

    use futures::future::LocalBoxFuture;
    use futures::lock::Mutex;

    use super::{TabMessage, TabSync};

    type Handler = Rc<dyn Fn(TabMessage)>;

    /// The "browser": one lock and one channel shared by every tab created from it.
    #[derive(Clone, Default)]
    pub struct MemoryBrowser {
        lock: Rc<Mutex<()>>,
        handlers: Rc<RefCell<Vec<(usize, Handler)>>>,
        tabs_opened: Rc<RefCell<usize>>,
    }

    impl MemoryBrowser {
        /// A new tab's end of the channel. Connect its receiver with [`MemoryTab::on_message`].
        pub fn open_tab(&self) -> MemoryTab {
            let mut opened = self.tabs_opened.borrow_mut();
            *opened += 1;
            MemoryTab {
                browser: self.clone(),
                id: *opened,
            }
        }
    }

    /// One tab's end of the [`MemoryBrowser`]. Clones are the same tab.
    #[derive(Clone)]
    pub struct MemoryTab {
        browser: MemoryBrowser,
        id: usize,
    }

    impl MemoryTab {
        /// Registers the receiver (in the app: the coordinator's `on_tab_message`).
        pub fn on_message(&self, handler: impl Fn(TabMessage) + 'static) {
            self.browser
                .handlers
                .borrow_mut()
                .push((self.id, Rc::new(handler)));
        }
    }

    impl TabSync for MemoryTab {
        fn with_refresh_lock<T: 'static>(
            &self,
            task: LocalBoxFuture<'static, T>,
        ) -> impl Future<Output = T> {
            let lock = self.browser.lock.clone();
            async move {
                let _held = lock.lock().await;
                task.await
            }
        }

        /// Delivers synchronously, after a JSON round trip like the real `BroadcastChannel` does.
        fn publish(&self, message: TabMessage) {
            let json = serde_json::to_string(&message).expect("TabMessage serialises");
            let others: Vec<Handler> = self
                .browser
                .handlers
                .borrow()
                .iter()
                .filter(|(id, _)| *id != self.id)
                .map(|(_, handler)| handler.clone())
                .collect();
            for handler in others {
                handler(serde_json::from_str(&json).expect("TabMessage deserialises"));
            }
        }

        fn reaches_other_tabs(&self) -> bool {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::{Envelope, IdleWindow, SharedToken, TabMessage, TokenArrivals, PROTOCOL_VERSION};
    use crate::api::auth::User;

    #[test]
    fn a_token_already_received_or_sent_by_this_tab_needs_no_wait() {
        let arrivals = TokenArrivals::default();
        assert!(arrivals.wait_for(0).is_none());
        arrivals.received(3);
        assert!(arrivals.wait_for(3).is_none());
        arrivals.published(5);
        assert!(
            arrivals.wait_for(5).is_none(),
            "our own message never comes back"
        );
    }

    #[test]
    fn a_page_load_never_waits_for_a_token_announced_before_it_opened() {
        // The page this one replaced (a reload) announced token 7 and is gone.
        let arrivals = TokenArrivals::since(7);
        assert!(arrivals.wait_for(7).is_none(), "nobody alive will send it");
        assert!(
            arrivals.wait_for(8).is_some(),
            "a tab alive now announced a newer one"
        );
    }

    #[test]
    fn a_newer_token_is_waited_for_until_it_arrives() {
        let arrivals = TokenArrivals::default();
        let mut waiting = arrivals.wait_for(2).expect("token 2 has not arrived");
        assert!((&mut waiting).now_or_never().is_none());
        arrivals.received(1);
        assert!(
            (&mut waiting).now_or_never().is_none(),
            "an older token does not count"
        );
        arrivals.received(2);
        assert!(waiting.now_or_never().is_some());
    }

    #[test]
    fn a_sign_in_and_a_refresh_travel_as_json_of_their_own_type() {
        let user = User {
            id: "u1".into(),
            username: "alice".into(),
            roles: vec!["user".into()],
        };
        let signed_in = TabMessage::SignedIn(SharedToken {
            access_token: "t1".into(),
            expires_in_ms: 60_000,
            user: user.clone(),
            idle: Some(IdleWindow {
                ends_in_ms: 1_800_000,
                timeout_secs: 1_800,
            }),
        });
        let refreshed = TabMessage::TokenRefreshed(SharedToken {
            access_token: "t2".into(),
            expires_in_ms: 60_000,
            user,
            idle: None,
        });
        for (message, tag) in [(signed_in, "signed_in"), (refreshed, "token_refreshed")] {
            let json = serde_json::to_value(&message).unwrap();
            assert_eq!(json[tag]["access_token"], message_token(&message));
            assert_eq!(serde_json::from_value::<TabMessage>(json).unwrap(), message);
        }
        let signed_out = serde_json::to_value(TabMessage::SignedOut).unwrap();
        assert_eq!(signed_out, "signed_out");
        assert_eq!(
            serde_json::from_value::<TabMessage>(signed_out).unwrap(),
            TabMessage::SignedOut
        );
    }

    fn message_token(message: &TabMessage) -> &str {
        match message {
            TabMessage::SignedIn(token) | TabMessage::TokenRefreshed(token) => &token.access_token,
            _ => "",
        }
    }

    /// The shared token's struct is the object the message's struct variants were before it, so
    /// this is still protocol version 2: tabs of the two builds read each other.
    #[test]
    fn a_token_message_reads_as_it_did_with_struct_variants() {
        let text = r#"{"token_refreshed":{"access_token":"t","expires_in_ms":5,"user":{"id":"u1","username":"alice","roles":["user"]},"idle":{"ends_in_ms":7,"timeout_secs":9}}}"#;
        let message: TabMessage = serde_json::from_str(text).unwrap();
        assert_eq!(message_token(&message), "t");
        assert_eq!(serde_json::to_string(&message).unwrap(), text);
    }

    #[test]
    fn a_sign_out_wakes_every_waiter() {
        let arrivals = TokenArrivals::default();
        let first = arrivals.wait_for(4).unwrap();
        let second = arrivals.wait_for(7).unwrap();
        arrivals.wake_all();
        assert!(first.now_or_never().is_some() && second.now_or_never().is_some());
    }

    #[test]
    fn an_envelope_of_this_version_is_read_back_whole() {
        let envelope = Envelope::new(7, TabMessage::SignedOut);
        let text = serde_json::to_string(&envelope).unwrap();
        assert!(
            text.contains(&format!("\"v\":{PROTOCOL_VERSION}")),
            "{text}"
        );
        assert_eq!(Envelope::decode(&text), Some(Ok(envelope)));
    }

    #[test]
    fn a_message_of_another_version_is_never_read_only_counted() {
        // What the build before the idle timeout posted: no version, the old message shape.
        let old = r#"{"seq":4,"message":"signed_out"}"#;
        assert_eq!(Envelope::decode(old), Some(Err(4)));
        let old_token = r#"{"seq":5,"message":{"token_refreshed":
            {"access_token":"t","expires_in_ms":1000,"user":{"id":"u","username":"u","roles":[]}}}}"#;
        assert_eq!(Envelope::decode(old_token), Some(Err(5)));
        // A newer build's message, even one this build could parse, is not interpreted either.
        let newer = format!(
            r#"{{"v":{},"seq":6,"message":"signed_out"}}"#,
            PROTOCOL_VERSION + 1
        );
        assert_eq!(Envelope::decode(&newer), Some(Err(6)));
        assert_eq!(Envelope::decode("not json"), None);
        assert_eq!(Envelope::decode(r#"{"v":2}"#), None);
    }
}
