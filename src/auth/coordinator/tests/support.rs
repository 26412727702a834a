//! The test world shared by every coordinator test: a clock the test moves, a scripted fake
//! identity provider and API, and helpers to run futures on a single-threaded pool.

pub(super) use std::cell::{Cell, RefCell};
pub(super) use std::collections::VecDeque;
pub(super) use std::future::Future;
pub(super) use std::rc::Rc;

pub(super) use futures::channel::oneshot;
pub(super) use futures::executor::{LocalPool, LocalSpawner};
pub(super) use futures::future::{self, abortable, Aborted};
pub(super) use futures::task::LocalSpawnExt;

pub(super) use crate::api::auth::{TokenResponse, User};
pub(super) use crate::auth::coordinator::{
    ApiRequest, ApiResponse, AuthError, AuthEvent, Coordinator, CoordinatorConfig,
    RefreshFailureKind, RefreshReason, Runtime, SignOutReason, Transport, TransportError,
};
pub(super) use crate::auth::tab_sync::memory::{MemoryBrowser, MemoryTab};
pub(super) use crate::auth::tab_sync::{SharedToken, SingleTab, TabMessage, TabSync};

/// The fake API's paths: any strings do, the coordinator does not know the app's routes.
pub(super) mod paths {
    pub const ITEMS: &str = "/api/items";
    pub const USAGE: &str = "/api/usage";
    /// Answers 403 `insufficient_scope` to every token.
    pub const ADMIN: &str = "/api/admin/stats";
}

// --- a clock the test moves ----------------------------------------------------------------

/// A pending [`Runtime::sleep`]: its deadline and the switch that wakes it.
pub(super) type Timer = (f64, oneshot::Sender<()>);

#[derive(Clone)]
pub(super) struct FakeRuntime {
    pub(super) clock: Rc<Cell<f64>>,
    pub(super) timers: Rc<RefCell<Vec<Timer>>>,
    pub(super) spawner: LocalSpawner,
}

impl Runtime for FakeRuntime {
    fn now_ms(&self) -> f64 {
        self.clock.get()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + 'static {
        let (sender, fired) = oneshot::channel();
        let deadline = self.clock.get() + ms as f64;
        self.timers.borrow_mut().push((deadline, sender));
        async move {
            let _ = fired.await;
        }
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        self.spawner
            .spawn_local(task)
            .expect("the test pool outlives its tasks");
    }
}

// --- a fake identity provider + API ------------------------------------------------------

/// How the fake API answers the next request; `Model` follows the server model.
#[derive(Clone, Copy, Debug)]
pub(super) enum Reply {
    Model,
    Ok,
    InvalidToken,
    NoErrorChallenge,
    Forbidden,
    ServerError,
    Network,
    Hang,
}

/// How the fake answers the next refresh; `Mint` follows the server model.
#[derive(Clone, Copy, Debug)]
pub(super) enum RefreshReply {
    Mint,
    Refuse,
    Unavailable,
    Network,
    Hang,
}

/// One valid access token at a time; a refresh mints the next one (and invalidates the old).
#[derive(Default)]
pub(super) struct Server {
    pub(super) valid_token: RefCell<Option<String>>,
    pub(super) minted: Cell<u32>,
    pub(super) session_revoked: Cell<bool>,
    pub(super) refresh_calls: Cell<usize>,
    /// (path, bearer) of every request, in order.
    pub(super) sent: RefCell<Vec<(String, Option<String>)>>,
    pub(super) replies: RefCell<VecDeque<Reply>>,
    pub(super) refresh_replies: RefCell<VecDeque<RefreshReply>>,
    pub(super) refresh_latency_ms: Cell<u64>,
    /// Whose session the refresh cookie holds, when not alice's: a sign-in no tab heard of
    /// (the login form's post, in a page of its own) replaced it.
    pub(super) cookie_user: RefCell<Option<User>>,
    /// The server's idle timeout in seconds, stated with every token when set (a login or a
    /// refresh starts the idle clock anew).
    pub(super) idle_timeout_s: Cell<Option<u64>>,
}

pub(super) const LIFETIME_S: u64 = 60;
pub(super) const SLOW_PATH: &str = "/slow";
pub(super) const SLOW_LATENCY_MS: u64 = 100;

impl Server {
    /// What login would return.
    pub(super) fn mint(&self) -> TokenResponse {
        self.minted.set(self.minted.get() + 1);
        let token = format!("t{}", self.minted.get());
        *self.valid_token.borrow_mut() = Some(token.clone());
        TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: LIFETIME_S,
            user: self.cookie_user.borrow().clone().unwrap_or_else(alice),
            idle_expires_in: self.idle_timeout_s.get(),
            idle_timeout: self.idle_timeout_s.get(),
        }
    }

    pub(super) fn expire_token(&self) {
        *self.valid_token.borrow_mut() = None;
    }

    pub(super) fn sends(&self) -> usize {
        self.sent.borrow().len()
    }

    pub(super) fn bearers_for(&self, path: &str) -> Vec<Option<String>> {
        let sent = self.sent.borrow();
        sent.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub(super) fn script(&self, replies: &[Reply]) {
        self.replies.borrow_mut().extend(replies);
    }

    pub(super) fn script_refresh(&self, replies: &[RefreshReply]) {
        self.refresh_replies.borrow_mut().extend(replies);
    }

    pub(super) fn answer(&self, reply: Reply, path: &str, bearer: Option<&str>) -> Option<Outcome> {
        let challenge = |error: &str| {
            Some(format!(
                r#"Bearer realm="tokenflight", error="{error}", error_description="test""#
            ))
        };
        let response = match reply {
            Reply::Model => return Some(self.model(path, bearer)),
            Reply::Ok => response(200, None, "\"ok\""),
            Reply::InvalidToken => response(401, challenge("invalid_token"), ""),
            Reply::NoErrorChallenge => {
                response(401, Some(r#"Bearer realm="tokenflight""#.into()), "")
            }
            Reply::Forbidden => response(403, challenge("insufficient_scope"), ""),
            Reply::ServerError => {
                response(500, None, r#"{"error":"internal_error","message":"boom"}"#)
            }
            Reply::Network => return Some(Err(TransportError::Network("reset".into()))),
            Reply::Hang => return None,
        };
        Some(Ok(response))
    }

    /// 200 with the bearer as a JSON string (so tests see which token was used), 401 for any
    /// other token, 403 on the admin path.
    pub(super) fn model(&self, path: &str, bearer: Option<&str>) -> Outcome {
        let valid = self.valid_token.borrow().clone();
        if bearer.is_none() || bearer != valid.as_deref() {
            let header = r#"Bearer realm="tokenflight", error="invalid_token""#;
            return Ok(response(401, Some(header.into()), ""));
        }
        if path == paths::ADMIN {
            let header = r#"Bearer realm="tokenflight", error="insufficient_scope""#;
            return Ok(response(403, Some(header.into()), ""));
        }
        if path == "/bad-json" {
            return Ok(response(200, None, "not json"));
        }
        Ok(response(
            200,
            None,
            &format!("\"{}\"", bearer.unwrap_or("")),
        ))
    }

    pub(super) fn refresh_answer(&self, reply: RefreshReply) -> Option<Outcome> {
        let refused = r#"{"error":"invalid_grant","message":"no session"}"#;
        Some(Ok(match reply {
            RefreshReply::Mint if self.session_revoked.get() => response(400, None, refused),
            RefreshReply::Mint => {
                let body = serde_json::to_string(&self.mint()).expect("serialises");
                response(200, None, &body)
            }
            RefreshReply::Refuse => response(400, None, refused),
            RefreshReply::Unavailable => response(503, None, ""),
            RefreshReply::Network => return Some(Err(TransportError::Network("down".into()))),
            RefreshReply::Hang => return None,
        }))
    }
}

pub(super) type Outcome = Result<ApiResponse, TransportError>;

pub(super) fn response(status: u16, www_authenticate: Option<String>, body: &str) -> ApiResponse {
    ApiResponse {
        status,
        www_authenticate,
        body: body.into(),
        ..ApiResponse::default()
    }
}

pub(super) fn alice() -> User {
    User {
        id: "u1".into(),
        username: "alice".into(),
        roles: vec!["user".into()],
    }
}

pub(super) fn admin() -> User {
    User {
        id: "u2".into(),
        username: "admin".into(),
        roles: vec!["user".into(), "admin".into()],
    }
}

#[derive(Clone)]
pub(super) struct FakeTransport {
    pub(super) server: Rc<Server>,
    pub(super) runtime: FakeRuntime,
}

impl FakeTransport {
    /// Resolves after `latency_ms` (at once when 0); `answer` runs then, `None` hangs.
    pub(super) fn reply_later(
        &self,
        latency_ms: u64,
        answer: impl FnOnce() -> Option<Outcome> + 'static,
    ) -> impl Future<Output = Outcome> + '_ {
        let timer = (latency_ms > 0).then(|| self.runtime.sleep(latency_ms));
        async move {
            if let Some(timer) = timer {
                timer.await;
            }
            match answer() {
                Some(outcome) => outcome,
                None => future::pending().await,
            }
        }
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: &ApiRequest, bearer: Option<&str>) -> impl Future<Output = Outcome> {
        let bearer = bearer.map(str::to_owned);
        let path = request.path.clone();
        self.server
            .sent
            .borrow_mut()
            .push((path.clone(), bearer.clone()));
        let reply = self.server.replies.borrow_mut().pop_front();
        let latency = if path.starts_with(SLOW_PATH) {
            SLOW_LATENCY_MS
        } else {
            0
        };
        let server = self.server.clone();
        self.reply_later(latency, move || {
            server.answer(reply.unwrap_or(Reply::Model), &path, bearer.as_deref())
        })
    }

    fn refresh(&self) -> impl Future<Output = Outcome> {
        let server = &self.server;
        server.refresh_calls.set(server.refresh_calls.get() + 1);
        let reply = server.refresh_replies.borrow_mut().pop_front();
        // The server rotates when the call arrives, not when the answer does.
        let answer = server.refresh_answer(reply.unwrap_or(RefreshReply::Mint));
        self.reply_later(server.refresh_latency_ms.get(), move || answer)
    }
}

// --- the test world --------------------------------------------------------------------------

pub(super) struct World {
    pub(super) pool: RefCell<LocalPool>,
    pub(super) runtime: FakeRuntime,
    pub(super) server: Rc<Server>,
}

/// The result of a spawned future, once it finished.
pub(super) struct Task<O>(Rc<RefCell<Option<O>>>);

impl<O> Task<O> {
    pub(super) fn result(&self) -> O {
        self.0.borrow_mut().take().expect("the task has finished")
    }

    pub(super) fn is_done(&self) -> bool {
        self.0.borrow().is_some()
    }
}

pub(super) type TestCoordinator<S> = Coordinator<FakeTransport, FakeRuntime, S>;

pub(super) fn config() -> CoordinatorConfig {
    CoordinatorConfig {
        refresh_margin_ms: 10_000,
        request_timeout_ms: 15_000,
        refresh_timeout_ms: 10_000,
        backoff_initial_ms: 1_000,
        backoff_max_ms: 8_000,
        tab_answer_wait_ms: 150,
        idle_warning_lead_ms: 60_000,
    }
}

impl World {
    pub(super) fn new() -> Self {
        let pool = LocalPool::new();
        let runtime = FakeRuntime {
            clock: Rc::new(Cell::new(0.0)),
            timers: Rc::default(),
            spawner: pool.spawner(),
        };
        Self {
            pool: RefCell::new(pool),
            runtime,
            server: Rc::default(),
        }
    }

    pub(super) fn coordinator_with<S: TabSync>(&self, tabs: S) -> TestCoordinator<S> {
        let transport = FakeTransport {
            server: self.server.clone(),
            runtime: self.runtime.clone(),
        };
        Coordinator::new(transport, self.runtime.clone(), tabs, config())
    }

    pub(super) fn coordinator(&self) -> TestCoordinator<SingleTab> {
        self.coordinator_with(SingleTab)
    }

    /// A coordinator holding a fresh login token.
    pub(super) fn signed_in(&self) -> TestCoordinator<SingleTab> {
        let coordinator = self.coordinator();
        coordinator.sign_in(self.server.mint());
        coordinator
    }

    pub(super) fn tab(&self, browser: &MemoryBrowser) -> TestCoordinator<MemoryTab> {
        let tab = browser.open_tab();
        let coordinator = self.coordinator_with(tab.clone());
        let receiver = coordinator.clone();
        tab.on_message(move |message| receiver.on_tab_message(message));
        coordinator
    }

    /// Runs every task until all of them wait (for the clock or forever).
    pub(super) fn settle(&self) {
        self.pool.borrow_mut().run_until_stalled();
    }

    pub(super) fn start<O: 'static>(&self, future: impl Future<Output = O> + 'static) -> Task<O> {
        let slot = Rc::new(RefCell::new(None));
        let filled = slot.clone();
        self.runtime.spawn(async move {
            *filled.borrow_mut() = Some(future.await);
        });
        Task(slot)
    }

    /// Runs `future` to completion without moving the clock.
    pub(super) fn finish<O: 'static>(&self, future: impl Future<Output = O> + 'static) -> O {
        let task = self.start(future);
        self.settle();
        task.result()
    }

    /// Moves the clock, firing due timers in deadline order.
    pub(super) fn advance(&self, ms: u64) {
        let target = self.now() + ms as f64;
        loop {
            self.settle();
            let Some((deadline, timer)) = self.take_timer_due_by(target) else {
                break;
            };
            self.runtime.clock.set(deadline.max(self.now()));
            let _ = timer.send(());
        }
        self.runtime.clock.set(target);
        self.settle();
    }

    /// Sets the clock without firing timers: a tab frozen in the background.
    pub(super) fn jump(&self, ms: u64) {
        self.runtime.clock.set(self.now() + ms as f64);
    }

    pub(super) fn take_timer_due_by(&self, target: f64) -> Option<Timer> {
        let mut timers = self.runtime.timers.borrow_mut();
        timers.retain(|(_, sender)| !sender.is_canceled());
        let earliest = timers
            .iter()
            .enumerate()
            .filter(|(_, (deadline, _))| *deadline <= target)
            .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(index, _)| index)?;
        Some(timers.remove(earliest))
    }

    pub(super) fn now(&self) -> f64 {
        self.runtime.clock.get()
    }

    pub(super) fn refreshes(&self) -> usize {
        self.server.refresh_calls.get()
    }
}

pub(super) fn get_token<S: TabSync>(
    coordinator: &TestCoordinator<S>,
    path: &str,
) -> impl Future<Output = Result<String, AuthError>> + 'static {
    let coordinator = coordinator.clone();
    let request = ApiRequest::get(path);
    async move { coordinator.execute_json::<String>(request).await }
}

pub(super) fn restore<S: TabSync>(
    coordinator: &TestCoordinator<S>,
) -> impl Future<Output = Result<(), AuthError>> + 'static {
    let coordinator = coordinator.clone();
    async move { coordinator.restore().await }
}

pub(super) fn record<S: TabSync>(coordinator: &TestCoordinator<S>) -> Rc<RefCell<Vec<AuthEvent>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    coordinator.subscribe(move |event| sink.borrow_mut().push(event.clone()));
    events
}

pub(super) fn session_endings<S: TabSync>(
    coordinator: &TestCoordinator<S>,
) -> Rc<RefCell<Vec<SignOutReason>>> {
    let endings = Rc::new(RefCell::new(Vec::new()));
    let sink = endings.clone();
    coordinator.on_session_ended(move |reason| sink.borrow_mut().push(reason));
    endings
}

pub(super) fn count(
    events: &RefCell<Vec<AuthEvent>>,
    wanted: impl Fn(&AuthEvent) -> bool,
) -> usize {
    events.borrow().iter().filter(|e| wanted(e)).count()
}

/// Refreshes that failed because the token became another user's.
pub(super) fn user_changes(events: &RefCell<Vec<AuthEvent>>) -> usize {
    count(events, |e| {
        matches!(
            e,
            AuthEvent::RefreshFailed {
                kind: RefreshFailureKind::UserChanged,
                ..
            }
        )
    })
}
