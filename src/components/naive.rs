//! "Naive interceptor" mode: the burst the original AngularJS `$http` interceptor would have made,
//! replayed against the real server so the waterfall can show it beside the fix.
//!
//! Modelled on the original: every 401 starts its **own** refresh call (no single flight), and the
//! retry carries whatever token is stored at that moment — the old one when its refresh failed.
//! Unlike the original it is **bounded**: one refresh and one retry per request, never a loop.
//! It is demo code on purpose: it is not part of the auth client, holds its own token for the
//! life of the page only, and runs only when the "Naive interceptor" switch is on.
//!
//! It records into the flow log with the coordinator's own event shapes (marked
//! [`FlowSource::Naive`]) rather than through a second event type: the waterfall, the counters
//! and the text table then draw both strategies with one code path, so the comparison is fair.
//!
//! [`FlowSource::Naive`]: super::flow_log::FlowSource::Naive

use std::cell::{Cell, RefCell};

use leptos::prelude::*;

use crate::{
    api::{auth::TokenResponse, resources::paths},
    auth::{
        coordinator::{ApiRequest, AuthEvent, RefreshFailureKind, RefreshReason, Transport},
        AuthContext,
    },
    components::flow_log::FlowLog,
};

/// Fires a naive burst of `size` GETs from this page and reports on `status` (the demo controls
/// run it as an `Action`). In the browser it goes through the same `fetch` transport as the auth
/// client (so the comparison is fair), with one interceptor per page load; on the server there
/// is nothing to send from.
pub async fn burst(auth: AuthContext, log: FlowLog, status: RwSignal<String>, size: usize) {
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;

        use crate::{
            auth::{browser::FetchTransport, AuthConfig},
            components::flow_log::FlowSource,
        };
        thread_local! {
            static NAIVE: Rc<NaiveInterceptor<FetchTransport>> = Rc::new(NaiveInterceptor::new(
                FetchTransport { endpoints: AuthConfig::default().endpoints },
            ));
        }
        let naive = NAIVE.with(Rc::clone);
        status.set(format!(
            "Firing {size} requests through the naive interceptor…"
        ));
        let record = move |event: &AuthEvent| log.record(FlowSource::Naive, auth.now_ms(), event);
        let report = naive.burst(record, paths::ITEMS, size).await;
        status.set(report.describe(size));
        if report.refused > 0 {
            // The auth client finds out on its next call, as it would in real life.
            auth.reload();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (auth, log, status, size, paths::ITEMS);
}

/// What a naive burst did, for the status line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NaiveReport {
    pub succeeded: usize,
    /// Refresh calls that went on the wire: one per 401.
    pub refresh_calls: usize,
    /// Refresh calls the server refused (`invalid_grant`): reuse detected, session revoked.
    pub refused: usize,
}

impl NaiveReport {
    /// The status line after a naive burst of `size` requests.
    pub fn describe(&self, size: usize) -> String {
        let mut text = format!(
            "Naive interceptor: {}/{size} succeeded · {} refresh call{}",
            self.succeeded,
            self.refresh_calls,
            if self.refresh_calls == 1 { "" } else { "s" },
        );
        if self.refused > 0 {
            text.push_str(&format!(
                " · {} refused: the server saw a rotated-away credential, took it for a stolen \
                 one and revoked the session",
                self.refused
            ));
        } else if self.refresh_calls > 1 {
            text.push_str(" · the server's grace window absorbed the duplicates");
        }
        text
    }
}

/// The naive interceptor: its own token (none until its first refresh), id counters, and the
/// transport it sends with.
pub struct NaiveInterceptor<T> {
    transport: T,
    token: RefCell<Option<String>>,
    /// Bumped whenever it stores a token; `v0` means "no token yet".
    version: Cell<u64>,
    next_request: Cell<u64>,
    next_refresh: Cell<u64>,
}

/// How one naive refresh call ended.
enum Refreshed {
    Token(String, u64),
    /// `400`/`401`: the server refused the credential (reuse, revoked, missing).
    Refused,
    Unavailable,
}

impl<T: Transport> NaiveInterceptor<T> {
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            token: RefCell::new(None),
            version: Cell::new(0),
            next_request: Cell::new(0),
            next_refresh: Cell::new(0),
        }
    }

    /// Sends `size` GETs to `path` at once, each through the naive strategy, telling `record`
    /// everything in the auth client's event shapes.
    pub async fn burst(&self, record: impl Fn(&AuthEvent), path: &str, size: usize) -> NaiveReport {
        let report = RefCell::new(NaiveReport::default());
        let requests = (0..size).map(|_| self.one(&record, path, &report));
        let succeeded = futures::future::join_all(requests)
            .await
            .into_iter()
            .filter(|ok| *ok)
            .count();
        NaiveReport {
            succeeded,
            ..report.into_inner()
        }
    }

    /// One request: send, and on a 401 its own refresh and one retry. `true` if it succeeded.
    async fn one(
        &self,
        record: &impl Fn(&AuthEvent),
        path: &str,
        report: &RefCell<NaiveReport>,
    ) -> bool {
        let request_id = bump(&self.next_request);
        match self.send(record, request_id, path, false).await {
            Some(401) => {}
            Some(status) => return is_success(status),
            None => return false,
        }
        // The original's first mistake: every 401 starts its own refresh.
        let refresh_id = bump(&self.next_refresh);
        record(&AuthEvent::RefreshStarted {
            refresh_id,
            reason: RefreshReason::Unauthorized,
        });
        record(&AuthEvent::WaiterJoined {
            request_id,
            refresh_id,
        });
        report.borrow_mut().refresh_calls += 1;
        let waiters = vec![request_id];
        let failed = |kind| AuthEvent::RefreshFailed {
            refresh_id,
            kind,
            waiters: waiters.clone(),
        };
        match self.refresh().await {
            Refreshed::Token(token, expires_in_ms) => {
                *self.token.borrow_mut() = Some(token);
                record(&AuthEvent::RefreshSucceeded {
                    refresh_id,
                    token_version: bump(&self.version),
                    expires_in_ms,
                    waiters: waiters.clone(),
                    adopted: false,
                });
            }
            Refreshed::Refused => {
                report.borrow_mut().refused += 1;
                record(&failed(RefreshFailureKind::SessionExpired));
            }
            Refreshed::Unavailable => record(&failed(RefreshFailureKind::Transient)),
        }
        // Its second: the retry carries whatever is stored now — the old token if this
        // refresh failed. The original went round again on the next 401; this stops here.
        record(&AuthEvent::Retried {
            request_id,
            with_refresh: true,
        });
        self.send(record, request_id, path, true)
            .await
            .is_some_and(is_success)
    }

    /// `GET path` with the stored token, told as the client tells it. `None`: no answer.
    async fn send(
        &self,
        record: &impl Fn(&AuthEvent),
        request_id: u64,
        path: &str,
        retry: bool,
    ) -> Option<u16> {
        let token_version = self.version.get();
        record(&AuthEvent::RequestSent {
            request_id,
            path: path.to_owned(),
            token_version,
            retry,
        });
        let token = self.token.borrow().clone();
        match self
            .transport
            .send(&ApiRequest::get(path), token.as_deref())
            .await
        {
            Ok(response) => {
                let status = response.status;
                record(&AuthEvent::Responded { request_id, status });
                if status == 401 {
                    record(&AuthEvent::Unauthorized {
                        request_id,
                        token_version,
                    });
                }
                Some(status)
            }
            Err(error) => {
                record(&AuthEvent::RequestFailed {
                    request_id,
                    error: error.to_string(),
                });
                None
            }
        }
    }

    /// A real `POST /api/auth/refresh` with the browser's refresh cookie.
    async fn refresh(&self) -> Refreshed {
        match self.transport.refresh().await {
            Ok(response) if response.status == 200 => {
                match serde_json::from_str::<TokenResponse>(&response.body) {
                    Ok(body) => Refreshed::Token(body.access_token, body.expires_in * 1000),
                    Err(_) => Refreshed::Unavailable,
                }
            }
            Ok(response) if matches!(response.status, 400 | 401) => Refreshed::Refused,
            _ => Refreshed::Unavailable,
        }
    }
}

fn bump(counter: &Cell<u64>) -> u64 {
    counter.set(counter.get() + 1);
    counter.get()
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use std::{
        future::Future,
        pin::Pin,
        task::{Context, Poll},
    };

    use std::rc::Rc;

    use super::*;
    use crate::auth::coordinator::{ApiResponse, TransportError};

    /// A server that answers after one yield (so a burst's requests are all in flight together):
    /// a GET is 200 with a valid token, else 401; refresh calls answer in turn from `refreshes`
    /// (a token, or a refusal that revokes every token, as reuse detection does).
    #[derive(Default)]
    struct FakeServer {
        valid: RefCell<Vec<String>>,
        refreshes: RefCell<Vec<Option<&'static str>>>,
        gets: Cell<usize>,
        refresh_calls: Cell<usize>,
    }

    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn answer(status: u16, body: String) -> Result<ApiResponse, TransportError> {
        Ok(ApiResponse {
            status,
            body,
            ..ApiResponse::default()
        })
    }

    impl Transport for Rc<FakeServer> {
        async fn send(
            &self,
            _: &ApiRequest,
            bearer: Option<&str>,
        ) -> Result<ApiResponse, TransportError> {
            YieldOnce(false).await;
            self.gets.set(self.gets.get() + 1);
            let ok = bearer.is_some_and(|token| self.valid.borrow().iter().any(|t| t == token));
            answer(if ok { 200 } else { 401 }, "[]".into())
        }

        async fn refresh(&self) -> Result<ApiResponse, TransportError> {
            YieldOnce(false).await;
            self.refresh_calls.set(self.refresh_calls.get() + 1);
            let next = self.refreshes.borrow_mut().remove(0);
            match next {
                Some(token) => {
                    self.valid.borrow_mut().push(token.to_owned());
                    let body = serde_json::json!({
                        "access_token": token, "token_type": "Bearer", "expires_in": 60,
                        "user": {"id": "u1", "username": "alice", "roles": ["user"]},
                    });
                    answer(200, body.to_string())
                }
                None => {
                    self.valid.borrow_mut().clear();
                    answer(400, r#"{"error":"invalid_grant","message":"no"}"#.into())
                }
            }
        }
    }

    fn run(server: &Rc<FakeServer>, size: usize) -> (NaiveReport, Vec<AuthEvent>) {
        let naive = NaiveInterceptor::new(server.clone());
        let events = RefCell::new(Vec::new());
        let record = |event: &AuthEvent| events.borrow_mut().push(event.clone());
        let report = futures::executor::block_on(naive.burst(record, "/api/items", size));
        (report, events.into_inner())
    }

    fn count(events: &[AuthEvent], what: impl Fn(&AuthEvent) -> bool) -> usize {
        events.iter().filter(|event| what(event)).count()
    }

    #[test]
    fn every_401_makes_its_own_refresh_call_and_each_request_is_retried_once() {
        let server = Rc::new(FakeServer::default());
        *server.refreshes.borrow_mut() =
            vec![Some("t1"), Some("t2"), Some("t3"), Some("t4"), Some("t5")];
        let (report, events) = run(&server, 5);
        let expected = NaiveReport {
            succeeded: 5,
            refresh_calls: 5,
            refused: 0,
        };
        assert_eq!(report, expected);
        assert_eq!(server.refresh_calls.get(), 5, "five calls on the wire");
        assert_eq!(
            server.gets.get(),
            10,
            "one first attempt and one retry each"
        );
        let started = count(&events, |e| matches!(e, AuthEvent::RefreshStarted { .. }));
        let retries = count(&events, |e| {
            matches!(e, AuthEvent::RequestSent { retry: true, .. })
        });
        assert_eq!((started, retries), (5, 5));
    }

    #[test]
    fn a_refused_refresh_leaves_the_retry_with_the_old_token_and_stops_there() {
        let server = Rc::new(FakeServer::default());
        // The first refresh rotates; the second presents the rotated-away cookie: reuse, and
        // every token is revoked; the rest find no session.
        *server.refreshes.borrow_mut() = vec![Some("t1"), None, None, None];
        let (report, events) = run(&server, 4);
        let expected = NaiveReport {
            succeeded: 0,
            refresh_calls: 4,
            refused: 3,
        };
        assert_eq!(report, expected);
        assert_eq!(server.gets.get(), 8, "bounded: no second round");
        assert_eq!(server.refresh_calls.get(), 4);
        let final_401s = count(&events, |e| {
            matches!(e, AuthEvent::Responded { status: 401, .. })
        });
        assert_eq!(final_401s, 8);
        // A retry after a refused refresh carries v1 at best, the token some other refresh got.
        let retried_with = events.iter().filter_map(|e| match e {
            AuthEvent::RequestSent {
                retry: true,
                token_version,
                ..
            } => Some(*token_version),
            _ => None,
        });
        assert!(retried_with.into_iter().all(|v| v <= 1));
    }

    #[test]
    fn a_request_that_is_not_refused_makes_no_refresh() {
        let server = Rc::new(FakeServer::default());
        *server.refreshes.borrow_mut() = vec![Some("t1")];
        let naive = NaiveInterceptor::new(server.clone());
        let record = |_: &AuthEvent| {};
        futures::executor::block_on(naive.burst(record, "/api/items", 1));
        let report = futures::executor::block_on(naive.burst(record, "/api/items", 3));
        assert_eq!(report.refresh_calls, 0, "the stored token is still valid");
        assert_eq!(report.succeeded, 3);
    }

    #[test]
    fn the_status_line_says_what_the_server_did_with_the_duplicates() {
        let absorbed = NaiveReport {
            succeeded: 20,
            refresh_calls: 20,
            refused: 0,
        };
        assert_eq!(
            absorbed.describe(20),
            "Naive interceptor: 20/20 succeeded · 20 refresh calls · the server's grace window \
             absorbed the duplicates"
        );
        let revoked = NaiveReport {
            succeeded: 0,
            refresh_calls: 20,
            refused: 19,
        };
        assert!(revoked
            .describe(20)
            .starts_with("Naive interceptor: 0/20 succeeded · 20 refresh calls · 19 refused"));
    }
}
