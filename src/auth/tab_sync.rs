//! Cross-tab coordination for the refresh coordinator: one refresh for all open tabs, and a
//! sign-out in one tab ends the session in every tab.
//!
//! The browser implements [`TabSync`] with the Web Locks API (`navigator.locks.request`) and a
//! `BroadcastChannel`; [`SingleTab`] is the fallback where those APIs are missing. Nothing here
//! depends on a browser crate, so the coordinator stays testable natively.

use std::future::Future;

use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::api::User;

/// What one tab tells the others. Sent as JSON over a `BroadcastChannel`, so it is serde-able.
///
/// The refresh credential never appears here: it lives in an HttpOnly cookie that every tab of the
/// origin already shares. Only the short-lived access token travels, and only between same-origin
/// tabs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TabMessage {
    /// A tab obtained a new access token (by refresh, login, or to answer [`TabMessage::TokenWanted`]).
    TokenRefreshed {
        access_token: String,
        /// Remaining lifetime when the message was sent. Relative, because tabs do not share a
        /// monotonic clock (`performance.now()` starts at each tab's own load).
        expires_in_ms: u64,
        user: User,
    },
    /// The session ended (logout, or the server refused the refresh): every tab must forget it.
    SignedOut,
    /// A newly opened tab asks the open ones for the current token, to spare a refresh call.
    TokenWanted,
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

/// An in-process stand-in for Web Locks + `BroadcastChannel`, linking several coordinators in one
/// test as if they were tabs of one browser.
#[cfg(test)]
pub(crate) mod memory {
    use std::cell::RefCell;
    use std::future::Future;
    use std::rc::Rc;

    use futures::future::LocalBoxFuture;
    use futures::lock::Mutex;

    use super::{TabMessage, TabSync};

    type Handler = Rc<dyn Fn(TabMessage)>;

    /// The "browser": one lock and one channel shared by every tab created from it.
    #[derive(Clone, Default)]
    pub(crate) struct MemoryBrowser {
        lock: Rc<Mutex<()>>,
        handlers: Rc<RefCell<Vec<(usize, Handler)>>>,
        tabs_opened: Rc<RefCell<usize>>,
    }

    impl MemoryBrowser {
        /// A new tab's end of the channel. Connect its receiver with [`MemoryTab::on_message`].
        pub(crate) fn open_tab(&self) -> MemoryTab {
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
    pub(crate) struct MemoryTab {
        browser: MemoryBrowser,
        id: usize,
    }

    impl MemoryTab {
        /// Registers the receiver (in the app: the coordinator's `on_tab_message`).
        pub(crate) fn on_message(&self, handler: impl Fn(TabMessage) + 'static) {
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
