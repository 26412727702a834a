//! The coordinator's behaviour, pinned down against a scripted fake server and a manual clock.

use std::cell::Cell;
use std::collections::VecDeque;

use futures::executor::{LocalPool, LocalSpawner};
use futures::future::{abortable, Aborted};
use futures::task::LocalSpawnExt;

use super::*;
use crate::api::resources::paths;
use crate::auth::tab_sync::memory::{MemoryBrowser, MemoryTab};
use crate::auth::tab_sync::SingleTab;

// --- a clock the test moves ----------------------------------------------------------------

/// A pending [`Runtime::sleep`]: its deadline and the switch that wakes it.
type Timer = (f64, oneshot::Sender<()>);

#[derive(Clone)]
struct FakeRuntime {
    clock: Rc<Cell<f64>>,
    timers: Rc<RefCell<Vec<Timer>>>,
    spawner: LocalSpawner,
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
enum Reply {
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
enum RefreshReply {
    Mint,
    Refuse,
    Unavailable,
    Network,
    Hang,
}

/// One valid access token at a time; a refresh mints the next one (and invalidates the old).
#[derive(Default)]
struct Server {
    valid_token: RefCell<Option<String>>,
    minted: Cell<u32>,
    session_revoked: Cell<bool>,
    refresh_calls: Cell<usize>,
    /// (path, bearer) of every request, in order.
    sent: RefCell<Vec<(String, Option<String>)>>,
    replies: RefCell<VecDeque<Reply>>,
    refresh_replies: RefCell<VecDeque<RefreshReply>>,
    refresh_latency_ms: Cell<u64>,
}

const LIFETIME_S: u64 = 60;
const SLOW_PATH: &str = "/slow";
const SLOW_LATENCY_MS: u64 = 100;

impl Server {
    /// What login would return.
    fn mint(&self) -> TokenResponse {
        self.minted.set(self.minted.get() + 1);
        let token = format!("t{}", self.minted.get());
        *self.valid_token.borrow_mut() = Some(token.clone());
        TokenResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: LIFETIME_S,
            user: alice(),
        }
    }

    fn expire_token(&self) {
        *self.valid_token.borrow_mut() = None;
    }

    fn sends(&self) -> usize {
        self.sent.borrow().len()
    }

    fn bearers_for(&self, path: &str) -> Vec<Option<String>> {
        let sent = self.sent.borrow();
        sent.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn script(&self, replies: &[Reply]) {
        self.replies.borrow_mut().extend(replies);
    }

    fn script_refresh(&self, replies: &[RefreshReply]) {
        self.refresh_replies.borrow_mut().extend(replies);
    }

    fn answer(&self, reply: Reply, path: &str, bearer: Option<&str>) -> Option<Outcome> {
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
    fn model(&self, path: &str, bearer: Option<&str>) -> Outcome {
        let valid = self.valid_token.borrow().clone();
        if bearer.is_none() || bearer != valid.as_deref() {
            let header = r#"Bearer realm="tokenflight", error="invalid_token""#;
            return Ok(response(401, Some(header.into()), ""));
        }
        if path == paths::ADMIN_STATS {
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

    fn refresh_answer(&self, reply: RefreshReply) -> Option<Outcome> {
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

type Outcome = Result<ApiResponse, TransportError>;

fn response(status: u16, www_authenticate: Option<String>, body: &str) -> ApiResponse {
    ApiResponse {
        status,
        www_authenticate,
        body: body.into(),
    }
}

fn alice() -> User {
    User {
        id: "u1".into(),
        username: "alice".into(),
        roles: vec!["user".into()],
    }
}

#[derive(Clone)]
struct FakeTransport {
    server: Rc<Server>,
    runtime: FakeRuntime,
}

impl FakeTransport {
    /// Resolves after `latency_ms` (at once when 0); `answer` runs then, `None` hangs.
    fn reply_later(
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

struct World {
    pool: RefCell<LocalPool>,
    runtime: FakeRuntime,
    server: Rc<Server>,
}

/// The result of a spawned future, once it finished.
struct Task<O>(Rc<RefCell<Option<O>>>);

impl<O> Task<O> {
    fn result(&self) -> O {
        self.0.borrow_mut().take().expect("the task has finished")
    }

    fn is_done(&self) -> bool {
        self.0.borrow().is_some()
    }
}

type TestCoordinator<S> = Coordinator<FakeTransport, FakeRuntime, S>;

fn config() -> CoordinatorConfig {
    CoordinatorConfig {
        refresh_margin_ms: 10_000,
        request_timeout_ms: 15_000,
        refresh_timeout_ms: 10_000,
        backoff_initial_ms: 1_000,
        backoff_max_ms: 8_000,
        tab_answer_wait_ms: 150,
    }
}

impl World {
    fn new() -> Self {
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

    fn coordinator_with<S: TabSync>(&self, tabs: S) -> TestCoordinator<S> {
        let transport = FakeTransport {
            server: self.server.clone(),
            runtime: self.runtime.clone(),
        };
        Coordinator::new(transport, self.runtime.clone(), tabs, config())
    }

    fn coordinator(&self) -> TestCoordinator<SingleTab> {
        self.coordinator_with(SingleTab)
    }

    /// A coordinator holding a fresh login token.
    fn signed_in(&self) -> TestCoordinator<SingleTab> {
        let coordinator = self.coordinator();
        coordinator.sign_in(self.server.mint());
        coordinator
    }

    fn tab(&self, browser: &MemoryBrowser) -> TestCoordinator<MemoryTab> {
        let tab = browser.open_tab();
        let coordinator = self.coordinator_with(tab.clone());
        let receiver = coordinator.clone();
        tab.on_message(move |message| receiver.on_tab_message(message));
        coordinator
    }

    /// Runs every task until all of them wait (for the clock or forever).
    fn settle(&self) {
        self.pool.borrow_mut().run_until_stalled();
    }

    fn start<O: 'static>(&self, future: impl Future<Output = O> + 'static) -> Task<O> {
        let slot = Rc::new(RefCell::new(None));
        let filled = slot.clone();
        self.runtime.spawn(async move {
            *filled.borrow_mut() = Some(future.await);
        });
        Task(slot)
    }

    /// Runs `future` to completion without moving the clock.
    fn finish<O: 'static>(&self, future: impl Future<Output = O> + 'static) -> O {
        let task = self.start(future);
        self.settle();
        task.result()
    }

    /// Moves the clock, firing due timers in deadline order.
    fn advance(&self, ms: u64) {
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
    fn jump(&self, ms: u64) {
        self.runtime.clock.set(self.now() + ms as f64);
    }

    fn take_timer_due_by(&self, target: f64) -> Option<Timer> {
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

    fn now(&self) -> f64 {
        self.runtime.clock.get()
    }

    fn refreshes(&self) -> usize {
        self.server.refresh_calls.get()
    }
}

fn get_token<S: TabSync>(
    coordinator: &TestCoordinator<S>,
    path: &str,
) -> impl Future<Output = Result<String, AuthError>> + 'static {
    let coordinator = coordinator.clone();
    let request = ApiRequest::get(path);
    async move { coordinator.execute_json::<String>(request).await }
}

fn restore<S: TabSync>(
    coordinator: &TestCoordinator<S>,
) -> impl Future<Output = Result<(), AuthError>> + 'static {
    let coordinator = coordinator.clone();
    async move { coordinator.restore().await }
}

fn record<S: TabSync>(coordinator: &TestCoordinator<S>) -> Rc<RefCell<Vec<AuthEvent>>> {
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = events.clone();
    coordinator.subscribe(move |event| sink.borrow_mut().push(event.clone()));
    events
}

fn session_endings<S: TabSync>(
    coordinator: &TestCoordinator<S>,
) -> Rc<RefCell<Vec<SignOutReason>>> {
    let endings = Rc::new(RefCell::new(Vec::new()));
    let sink = endings.clone();
    coordinator.on_session_ended(move |reason| sink.borrow_mut().push(reason));
    endings
}

fn count(events: &RefCell<Vec<AuthEvent>>, wanted: impl Fn(&AuthEvent) -> bool) -> usize {
    events.borrow().iter().filter(|e| wanted(e)).count()
}

// --- 1. the bearer ---------------------------------------------------------------------------

#[test]
fn attaches_the_in_memory_token_as_bearer() {
    let world = World::new();
    let auth = world.signed_in();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t1".into())]);
    assert_eq!(world.refreshes(), 0);
}

// --- 2. single flight ------------------------------------------------------------------------

#[test]
fn twenty_concurrent_401s_cause_exactly_one_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    // All twenty are on the wire before the first 401 comes back.
    let tasks: Vec<_> = (0..20)
        .map(|_| world.start(get_token(&auth, SLOW_PATH)))
        .collect();
    world.settle();
    assert_eq!(world.server.sends(), 20);
    world.advance(SLOW_LATENCY_MS);
    assert_eq!(world.refreshes(), 1);
    assert!(auth.snapshot().refreshing);
    world.advance(50 + SLOW_LATENCY_MS);

    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 40);
    let served = events.borrow().iter().find_map(|e| match e {
        AuthEvent::RefreshSucceeded { waiters, .. } => Some(waiters.len()),
        _ => None,
    });
    assert_eq!(served, Some(20));
}

#[test]
fn dropping_the_first_caller_does_not_cancel_the_shared_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let (first, first_handle) = abortable(get_token(&auth, paths::ITEMS));
    let first = world.start(first);
    let others: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();
    first_handle.abort();
    world.settle();
    assert_eq!(first.result(), Err(Aborted));
    world.advance(50);

    for task in &others {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().token_version, 2);
}

#[test]
fn a_finished_refresh_is_never_reused_for_a_later_401() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into())
    );
    assert_eq!(world.refreshes(), 2);
}

// --- 3. token versions -----------------------------------------------------------------------

#[test]
fn a_401_for_an_already_replaced_token_retries_without_refreshing() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();

    let slow = world.start(get_token(&auth, SLOW_PATH));
    let fast = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    assert_eq!(fast.result(), Ok("t2".into()));
    world.advance(SLOW_LATENCY_MS);
    world.advance(SLOW_LATENCY_MS);

    assert_eq!(slow.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 1);
    let slow_retry = events.borrow().iter().any(|e| {
        *e == AuthEvent::Retried {
            request_id: 1,
            with_refresh: false,
        }
    });
    assert!(slow_retry, "the slow request reused the new token");
}

#[test]
fn a_request_started_during_a_refresh_waits_for_the_new_token() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let first = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    let late = world.start(get_token(&auth, paths::USAGE));
    world.settle();
    assert!(world.server.bearers_for(paths::USAGE).is_empty());
    world.advance(50);

    assert_eq!(first.result(), Ok("t2".into()));
    assert_eq!(late.result(), Ok("t2".into()));
    assert_eq!(world.server.bearers_for(paths::USAGE), [Some("t2".into())]);
    assert_eq!(world.refreshes(), 1);
}

// --- 4. at most one retry --------------------------------------------------------------------

#[test]
fn a_401_on_the_retry_is_final() {
    let world = World::new();
    let auth = world.signed_in();
    world
        .server
        .script(&[Reply::InvalidToken, Reply::InvalidToken, Reply::Ok]);
    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 2);
    assert_eq!(world.refreshes(), 1);
}

/// What a request must end in, with how many sends and refresh calls, for a script.
fn expected(first: Reply, refresh: RefreshReply, second: Reply) -> (&'static str, usize, usize) {
    let kind = |reply| match reply {
        Reply::Ok | Reply::Model => "ok",
        Reply::InvalidToken | Reply::NoErrorChallenge => "unauthorized",
        Reply::Forbidden => "forbidden",
        Reply::ServerError | Reply::Network | Reply::Hang => "transient",
    };
    match (kind(first), refresh) {
        ("unauthorized", RefreshReply::Mint) => (kind(second), 2, 1),
        ("unauthorized", RefreshReply::Refuse) => ("session_expired", 1, 1),
        ("unauthorized", _) => ("transient", 1, 1),
        (outcome, _) => (outcome, 1, 0),
    }
}

fn kind_of(result: &Result<ApiResponse, AuthError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AuthError::Unauthorized) => "unauthorized",
        Err(AuthError::Forbidden) => "forbidden",
        Err(AuthError::Transient(_)) => "transient",
        Err(AuthError::SessionExpired) => "session_expired",
        Err(_) => "other",
    }
}

#[test]
fn every_answer_sequence_ends_within_two_sends_and_one_refresh() {
    let replies = [
        Reply::Ok,
        Reply::InvalidToken,
        Reply::NoErrorChallenge,
        Reply::Forbidden,
        Reply::ServerError,
        Reply::Network,
    ];
    let refreshes = [
        RefreshReply::Mint,
        RefreshReply::Refuse,
        RefreshReply::Unavailable,
        RefreshReply::Network,
    ];
    let mut cases = 0;
    for first in replies {
        for refresh in refreshes {
            for second in replies {
                let world = World::new();
                let auth = world.signed_in();
                // More answers than any request may use: a loop would consume them.
                world.server.script(&[first, second, first, second]);
                world.server.script_refresh(&[refresh, refresh, refresh]);
                let request = ApiRequest::get(paths::ITEMS);
                let result = world.finish(async move { auth.execute(request).await });

                let case = format!("{first:?} / {refresh:?} / {second:?}");
                let (outcome, sends, refresh_calls) = expected(first, refresh, second);
                assert_eq!(kind_of(&result), outcome, "{case}");
                assert_eq!(world.server.sends(), sends, "{case}");
                assert_eq!(world.refreshes(), refresh_calls, "{case}");
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 144);
}

// --- 5. what the challenge says --------------------------------------------------------------

#[test]
fn insufficient_scope_is_forbidden_and_never_refreshes() {
    let world = World::new();
    let auth = world.signed_in();
    let result = world.finish(get_token(&auth, paths::ADMIN_STATS));
    assert_eq!(result, Err(AuthError::Forbidden));
    assert_eq!(world.server.sends(), 1);
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_401_without_an_error_code_is_treated_as_an_invalid_token() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.script(&[Reply::NoErrorChallenge]);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_first_request_without_a_token_gets_one_before_sending() {
    let world = World::new();
    let auth = world.coordinator();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t1".into())]);
    assert_eq!(world.refreshes(), 1);
    assert_eq!(auth.snapshot().user, Some(alice()));
}

#[test]
fn an_anonymous_visitor_gets_unauthorized_once_then_no_network() {
    let world = World::new();
    let auth = world.coordinator();
    let endings = session_endings(&auth);
    world.server.session_revoked.set(true);
    let first = world.finish(get_token(&auth, paths::ITEMS));
    let second = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(first, Err(AuthError::Unauthorized));
    assert_eq!(second, Err(AuthError::Unauthorized));
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 0);
    assert!(endings.borrow().is_empty(), "no session, nothing ended");
}

#[test]
fn requests_after_sign_out_fail_without_network() {
    let world = World::new();
    let auth = world.signed_in();
    let endings = session_endings(&auth);
    auth.sign_out(SignOutReason::User);
    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 0);
    assert_eq!(world.refreshes(), 0);
    assert!(
        endings.borrow().is_empty(),
        "the user asked; no redirect hook"
    );
}

#[test]
fn other_statuses_become_http_or_transient_errors() {
    let challenge = Some(r#"Bearer error="invalid_request""#.to_string());
    let bad_request = classify_response(response(401, challenge, ""));
    assert!(matches!(
        bad_request,
        Verdict::Fail(AuthError::Http { status: 401, code: Some(ref c), .. }) if c == "invalid_request"
    ));
    let body = r#"{"error":"not_found","message":"No such item"}"#;
    let not_found = classify_response(response(404, None, body));
    let expected = AuthError::Http {
        status: 404,
        code: Some("not_found".into()),
        message: Some("No such item".into()),
    };
    assert!(matches!(not_found, Verdict::Fail(ref e) if *e == expected));
    let garbled = classify_response(response(502, None, "<html>"));
    assert!(matches!(garbled, Verdict::Fail(AuthError::Transient(_))));
    let scope_in_body = r#"{"error":"insufficient_scope","message":"admins only"}"#;
    let forbidden = classify_response(response(403, None, scope_in_body));
    assert!(matches!(forbidden, Verdict::Fail(AuthError::Forbidden)));
}

#[test]
fn execute_json_reports_a_body_that_does_not_decode() {
    let world = World::new();
    let auth = world.signed_in();
    let result = world.finish(get_token(&auth, "/bad-json"));
    assert!(matches!(result, Err(AuthError::Decode(_))), "{result:?}");
}

#[test]
fn www_authenticate_parsing_handles_quotes_case_and_several_challenges() {
    let parsed = |header| parse_bearer_challenge(header);
    let full = parsed(
        r#"Bearer realm="tokenflight", error="invalid_token", error_description="The token, it \"expired\"""#,
    )
    .expect("a bearer challenge");
    assert_eq!(full.error.as_deref(), Some("invalid_token"));
    assert_eq!(
        full.description.as_deref(),
        Some(r#"The token, it "expired""#)
    );
    let error_of = |header| parsed(header).and_then(|c| c.error);
    assert_eq!(
        error_of("bearer ERROR=invalid_token").as_deref(),
        Some("invalid_token")
    );
    assert_eq!(
        error_of(r#"Basic realm="x, y", Bearer realm="y", error="insufficient_scope""#).as_deref(),
        Some("insufficient_scope")
    );
    assert_eq!(
        parsed(r#"Bearer realm="tokenflight""#),
        Some(BearerChallenge::default())
    );
    assert_eq!(
        error_of(r#"Bearer realm="x", Basic error="invalid_token""#),
        None
    );
    assert_eq!(parsed(r#"Basic realm="x""#), None);
    assert_eq!(parsed(r#"=== "" ,, ="#), None);
    assert_eq!(
        error_of(r#"Bearer error="unterminated"#).as_deref(),
        Some("unterminated")
    );
}

// --- 6. refresh failures ---------------------------------------------------------------------

#[test]
fn a_refused_refresh_signs_out_once_and_fails_every_waiter() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    let endings = session_endings(&auth);
    world.server.expire_token();
    world.server.session_revoked.set(true);

    let tasks: Vec<_> = (0..5)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();

    for task in &tasks {
        assert_eq!(task.result(), Err(AuthError::SessionExpired));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
    let sign_outs = count(&events, |e| matches!(e, AuthEvent::SignedOut { .. }));
    assert_eq!(sign_outs, 1);
    assert_eq!(auth.snapshot().user, None);
}

#[test]
fn a_transient_refresh_failure_never_signs_out() {
    for failure in [
        RefreshReply::Unavailable,
        RefreshReply::Network,
        RefreshReply::Hang,
    ] {
        let world = World::new();
        let auth = world.signed_in();
        let events = record(&auth);
        let endings = session_endings(&auth);
        world.server.expire_token();
        world.server.script_refresh(&[failure; 20]);

        let tasks: Vec<_> = (0..3)
            .map(|_| world.start(get_token(&auth, paths::ITEMS)))
            .collect();
        world.advance(config().refresh_timeout_ms);

        for task in &tasks {
            assert!(matches!(task.result(), Err(AuthError::Transient(_))));
        }
        let snapshot = auth.snapshot();
        assert_eq!(snapshot.user, Some(alice()), "{failure:?}");
        assert!(snapshot.offline, "{failure:?}");
        assert!(endings.borrow().is_empty(), "{failure:?}");
        assert_eq!(
            count(&events, |e| matches!(e, AuthEvent::SignedOut { .. })),
            0
        );
    }
}

#[test]
fn after_a_transient_failure_the_refresh_is_retried_with_backoff_until_online() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.script_refresh(&[RefreshReply::Network; 5]);

    let result = world.finish(get_token(&auth, paths::ITEMS));
    assert!(matches!(result, Err(AuthError::Transient(_))));
    for (delay, calls_after) in [(1_000, 2), (2_000, 3), (4_000, 4), (8_000, 5), (8_000, 6)] {
        world.advance(delay - 1);
        assert_eq!(world.refreshes(), calls_after - 1, "not before {delay} ms");
        world.advance(1);
        assert_eq!(world.refreshes(), calls_after, "after {delay} ms");
    }

    let delays: Vec<u64> = events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            AuthEvent::Offline { retry_in_ms } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 8_000]);
    assert_eq!(events.borrow().last(), Some(&AuthEvent::Online));
    assert!(!auth.snapshot().offline);
    world.advance(30_000);
    assert_eq!(world.refreshes(), 6, "no retry once online");
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
}

// --- 7. proactive refresh --------------------------------------------------------------------

#[test]
fn the_token_is_refreshed_shortly_before_it_expires() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    // 60 s token, margin min(10 s, 20 %) = 10 s: refreshed at 50 s.
    world.advance(49_999);
    assert_eq!(world.refreshes(), 0);
    world.advance(1);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::Proactive
    }));
    assert_eq!(auth.snapshot().token_version, 2);
    assert_eq!(auth.snapshot().token_expires_at_ms, Some(110_000.0));
}

#[test]
fn a_401_during_the_proactive_refresh_joins_it() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.refresh_latency_ms.set(100);
    world.advance(49_950);
    // Sent with t1; the proactive refresh starts (and rotates t1 away) before it answers.
    let slow = world.start(get_token(&auth, SLOW_PATH));
    world.advance(100);
    assert!(!slow.is_done(), "its 401 waits for the proactive refresh");
    assert!(auth.snapshot().refreshing);
    world.advance(50 + SLOW_LATENCY_MS);
    assert_eq!(slow.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_stale_proactive_timer_does_not_refresh() {
    let world = World::new();
    let auth = world.signed_in();
    world.advance(30_000);
    auth.sign_in(world.server.mint());
    world.advance(20_000);
    assert_eq!(world.refreshes(), 0, "the first token's timer is stale");
    world.advance(29_999);
    assert_eq!(world.refreshes(), 0);
    world.advance(1);
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn catch_up_refreshes_a_token_that_expired_while_the_tab_slept() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    auth.catch_up();
    world.settle();
    assert_eq!(world.refreshes(), 0, "a fresh token is left alone");

    world.jump(70_000);
    auth.catch_up();
    world.advance(0);
    assert_eq!(world.refreshes(), 1);
    assert!(events.borrow().contains(&AuthEvent::RefreshStarted {
        refresh_id: 1,
        reason: RefreshReason::CatchUp
    }));
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
}

#[test]
fn an_expired_token_is_replaced_before_sending() {
    let world = World::new();
    let auth = world.signed_in();
    world.jump(61_000);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t2".into())]);
}

// --- 8. restore ------------------------------------------------------------------------------

#[test]
fn restore_and_concurrent_requests_share_one_refresh() {
    let world = World::new();
    let auth = world.coordinator();
    world.server.refresh_latency_ms.set(30);
    let restoring = world.start(restore(&auth));
    let tasks: Vec<_> = (0..5)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.advance(30);

    assert_eq!(restoring.result(), Ok(()));
    for task in &tasks {
        assert_eq!(task.result(), Ok("t1".into()));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 5);
}

#[test]
fn resume_then_restore_refreshes_once_and_installs_the_token() {
    let world = World::new();
    let auth = world.coordinator();
    auth.resume(alice());
    assert_eq!(auth.snapshot().user, Some(alice()));
    assert_eq!(auth.snapshot().token_expires_at_ms, None);
    world.server.refresh_latency_ms.set(30);
    let restoring = world.start(restore(&auth));
    let tasks: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.advance(30);

    assert_eq!(restoring.result(), Ok(()));
    for task in &tasks {
        assert_eq!(task.result(), Ok("t1".into()));
    }
    assert_eq!(world.refreshes(), 1);
    let snapshot = auth.snapshot();
    assert_eq!(snapshot.user, Some(alice()));
    assert_eq!(snapshot.token_version, 1);
    assert_eq!(snapshot.token_expires_at_ms, Some(30.0 + 60_000.0));
}

#[test]
fn resume_then_a_refused_refresh_ends_the_session_and_fails_every_waiter() {
    let world = World::new();
    let auth = world.coordinator();
    let events = record(&auth);
    let endings = session_endings(&auth);
    auth.resume(alice());
    world.server.session_revoked.set(true);

    let tasks: Vec<_> = (0..3)
        .map(|_| world.start(get_token(&auth, paths::ITEMS)))
        .collect();
    world.settle();

    for task in &tasks {
        assert_eq!(task.result(), Err(AuthError::SessionExpired));
    }
    assert_eq!(world.refreshes(), 1);
    assert_eq!(world.server.sends(), 0);
    assert_eq!(*endings.borrow(), [SignOutReason::SessionExpired]);
    let expired = count(&events, |e| {
        matches!(
            e,
            AuthEvent::RefreshFailed {
                kind: RefreshFailureKind::SessionExpired,
                ..
            }
        )
    });
    assert_eq!(expired, 1);
    let sign_outs = count(&events, |e| {
        *e == AuthEvent::SignedOut {
            reason: SignOutReason::SessionExpired,
        }
    });
    assert_eq!(sign_outs, 1);
    assert_eq!(auth.snapshot().user, None);
}

#[test]
fn resume_then_a_refused_restore_signs_out_the_other_tabs() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    let second_endings = session_endings(&second);
    first.resume(alice());
    second.resume(alice());
    world.server.session_revoked.set(true);

    let restoring = world.start(restore(&first));
    world.advance(config().tab_answer_wait_ms);

    assert_eq!(restoring.result(), Err(AuthError::SessionExpired));
    assert_eq!(world.refreshes(), 1);
    assert_eq!(*first_endings.borrow(), [SignOutReason::SessionExpired]);
    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
    assert_eq!(second.snapshot().user, None);
}

#[test]
fn resume_leaves_a_token_already_held_alone() {
    let world = World::new();
    let auth = world.signed_in();
    let bob = User {
        id: "u2".into(),
        username: "bob".into(),
        roles: vec![],
    };
    auth.resume(bob);
    assert_eq!(auth.snapshot().user, Some(alice()));
    assert_eq!(auth.snapshot().token_version, 1);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t1".into())
    );
    assert_eq!(world.refreshes(), 0);
}

// --- 9. timeouts -----------------------------------------------------------------------------

#[test]
fn a_request_that_hangs_times_out_as_transient() {
    let world = World::new();
    let auth = world.signed_in();
    world.server.script(&[Reply::Hang]);
    let task = world.start(get_token(&auth, paths::ITEMS));
    world.advance(config().request_timeout_ms - 1);
    assert!(!task.is_done());
    world.advance(1);
    assert_eq!(task.result(), Err(AuthError::Transient("timed out".into())));
    assert_eq!(world.refreshes(), 0);
}

// --- 10. several tabs ------------------------------------------------------------------------

#[test]
fn two_tabs_bursting_on_an_expired_token_make_one_refresh_call() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let second_events = record(&second);
    first.sign_in(world.server.mint());
    assert_eq!(second.snapshot().user, Some(alice()), "login is shared");
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);

    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let tab = if i % 2 == 0 { &first } else { &second };
            world.start(get_token(tab, paths::ITEMS))
        })
        .collect();
    world.advance(50);

    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
    let adopted = count(&second_events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
}

#[test]
fn three_tabs_burst_on_an_expired_token_with_one_refresh_call() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let tabs: Vec<_> = (0..3).map(|_| world.tab(&browser)).collect();
    tabs[2].sign_in(world.server.mint());
    world.server.expire_token();
    let tasks: Vec<_> = tabs
        .iter()
        .flat_map(|tab| (0..3).map(|_| world.start(get_token(tab, paths::ITEMS))))
        .collect();
    world.settle();
    for task in &tasks {
        assert_eq!(task.result(), Ok("t2".into()));
    }
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn signing_out_in_one_tab_ends_the_session_in_the_other() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    let second_endings = session_endings(&second);
    first.sign_in(world.server.mint());

    first.sign_out(SignOutReason::User);

    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
    assert!(first_endings.borrow().is_empty());
    assert_eq!(second.snapshot().user, None);
    let result = world.finish(get_token(&second, paths::ITEMS));
    assert_eq!(result, Err(AuthError::Unauthorized));
    assert_eq!(world.server.sends(), 0);
}

#[test]
fn a_refused_refresh_in_one_tab_ends_the_session_in_the_others() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let second_endings = session_endings(&second);
    first.sign_in(world.server.mint());
    world.server.expire_token();
    world.server.session_revoked.set(true);

    let result = world.finish(get_token(&first, paths::ITEMS));

    assert_eq!(result, Err(AuthError::SessionExpired));
    assert_eq!(*second_endings.borrow(), [SignOutReason::OtherTab]);
}

#[test]
fn a_new_tab_gets_the_token_from_an_open_tab_without_refreshing() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let open = world.tab(&browser);
    open.sign_in(world.server.mint());
    world.advance(5_000);

    let new = world.tab(&browser);
    let events = record(&new);
    let restored = world.finish(restore(&new));

    assert_eq!(restored, Ok(()));
    assert_eq!(world.refreshes(), 0);
    assert!(events
        .borrow()
        .contains(&AuthEvent::TokenFromOtherTab { token_version: 1 }));
    assert_eq!(new.snapshot().token_expires_at_ms, Some(60_000.0));
    assert_eq!(world.finish(get_token(&new, paths::ITEMS)), Ok("t1".into()));
}

#[test]
fn a_new_tab_alone_refreshes_after_waiting_briefly_for_an_answer() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let alone = world.tab(&browser);
    let restoring = world.start(restore(&alone));
    world.settle();
    assert_eq!(world.refreshes(), 0);
    world.advance(config().tab_answer_wait_ms);
    assert_eq!(restoring.result(), Ok(()));
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn the_single_tab_fallback_refreshes_at_once_and_shares_nothing() {
    let world = World::new();
    let lonely = world.coordinator();
    let restoring = world.start(restore(&lonely));
    world.settle();
    assert_eq!(restoring.result(), Ok(()), "no wait for other tabs");
    let other = world.coordinator();
    assert_eq!(other.snapshot().user, None);
    assert_eq!(world.refreshes(), 1);
}

// --- 11. a session that changes while a refresh is under way ---------------------------------

#[test]
fn a_refresh_answering_after_sign_out_is_discarded_whatever_it_says() {
    for answer in [
        RefreshReply::Mint,
        RefreshReply::Refuse,
        RefreshReply::Unavailable,
    ] {
        let world = World::new();
        let auth = world.signed_in();
        let events = record(&auth);
        let endings = session_endings(&auth);
        world.server.expire_token();
        world.server.refresh_latency_ms.set(50);
        world.server.script_refresh(&[answer]);
        let waiting = world.start(get_token(&auth, paths::ITEMS));
        world.settle();
        assert!(auth.snapshot().refreshing, "{answer:?}");

        auth.sign_out(SignOutReason::User);
        world.advance(50);

        assert_eq!(
            waiting.result(),
            Err(AuthError::SessionExpired),
            "{answer:?}"
        );
        let snapshot = auth.snapshot();
        assert_eq!(snapshot.user, None, "{answer:?}");
        assert_eq!(snapshot.token_expires_at_ms, None, "{answer:?}");
        assert!(!snapshot.offline, "{answer:?}");
        assert!(endings.borrow().is_empty(), "{answer:?}");
        let sign_outs = count(&events, |e| matches!(e, AuthEvent::SignedOut { .. }));
        assert_eq!(sign_outs, 1, "{answer:?}");
        let resurrected = count(&events, |e| {
            matches!(
                e,
                AuthEvent::RefreshSucceeded { .. } | AuthEvent::Offline { .. }
            )
        });
        assert_eq!(resurrected, 0, "{answer:?}");

        let after = world.finish(get_token(&auth, paths::ITEMS));
        assert_eq!(after, Err(AuthError::Unauthorized), "{answer:?}");
        world.advance(120_000);
        assert_eq!(world.refreshes(), 1, "{answer:?}");
        assert_eq!(world.server.sends(), 1, "{answer:?}");
    }
}

#[test]
fn a_refresh_answering_after_another_tab_signed_out_is_not_shared() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    let first_endings = session_endings(&first);
    first.sign_in(world.server.mint());
    let second_events = record(&second);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);
    let waiting = world.start(get_token(&first, paths::ITEMS));
    world.settle();

    second.sign_out(SignOutReason::User);
    world.advance(50);

    assert_eq!(waiting.result(), Err(AuthError::SessionExpired));
    assert_eq!(first.snapshot().user, None);
    assert_eq!(
        second.snapshot().user,
        None,
        "no token came after the sign-out"
    );
    let shared = count(&second_events, |e| {
        matches!(e, AuthEvent::TokenFromOtherTab { .. })
    });
    assert_eq!(shared, 0);
    assert_eq!(*first_endings.borrow(), [SignOutReason::OtherTab]);
}

#[test]
fn a_refresh_answering_after_a_new_sign_in_gives_its_waiters_the_new_token() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.expire_token();
    world.server.refresh_latency_ms.set(50);
    let waiting = world.start(get_token(&auth, paths::ITEMS));
    world.settle();

    auth.sign_in(world.server.mint());
    world.advance(50);

    assert_eq!(waiting.result(), Ok("t3".into()), "t2 was minted too late");
    assert_eq!(
        world.server.bearers_for(paths::ITEMS),
        [Some("t1".into()), Some("t3".into())]
    );
    assert_eq!(auth.snapshot().token_version, 2);
    let adopted = count(&events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into())
    );
}

// --- 12. messages that cross a sign-out, and a login that must not race a refresh ------------

/// How a tab came to be signed out.
#[derive(Clone, Copy, Debug)]
enum SignedOutBy {
    ThisTab,
    OtherTab,
    RefusedRefresh,
}

/// A token message as another tab would send it.
fn announced(kind: fn(String, u64, User) -> TabMessage, tokens: TokenResponse) -> TabMessage {
    kind(tokens.access_token, tokens.expires_in * 1000, tokens.user)
}

fn refreshed(access_token: String, expires_in_ms: u64, user: User) -> TabMessage {
    TabMessage::TokenRefreshed {
        access_token,
        expires_in_ms,
        user,
    }
}

fn signed_in(access_token: String, expires_in_ms: u64, user: User) -> TabMessage {
    TabMessage::SignedIn {
        access_token,
        expires_in_ms,
        user,
    }
}

#[test]
fn a_signed_out_tab_ignores_a_refreshed_token_that_crossed_its_sign_out_but_adopts_a_sign_in() {
    for way in [
        SignedOutBy::ThisTab,
        SignedOutBy::OtherTab,
        SignedOutBy::RefusedRefresh,
    ] {
        let world = World::new();
        let browser = MemoryBrowser::default();
        let first = world.tab(&browser);
        let second = world.tab(&browser);
        first.sign_in(world.server.mint());
        match way {
            SignedOutBy::ThisTab => second.sign_out(SignOutReason::User),
            SignedOutBy::OtherTab => first.sign_out(SignOutReason::User),
            SignedOutBy::RefusedRefresh => {
                world.server.expire_token();
                world.server.session_revoked.set(true);
                let refused = world.finish(get_token(&second, paths::ITEMS));
                assert_eq!(refused, Err(AuthError::SessionExpired), "{way:?}");
            }
        }
        assert_eq!(second.snapshot().user, None, "{way:?}");
        let events = record(&second);
        let endings = session_endings(&second);
        let (sends, refreshes) = (world.server.sends(), world.refreshes());

        // A refresh, or an answer to `TokenWanted`, from a tab that had not heard of the sign-out
        // yet. The server would still take the token: adopting it would show.
        second.on_tab_message(announced(refreshed, world.server.mint()));

        assert_eq!(second.snapshot().user, None, "{way:?}");
        assert_eq!(second.snapshot().token_expires_at_ms, None, "{way:?}");
        assert!(events.borrow().is_empty(), "{way:?}: {:?}", events.borrow());
        let after = world.finish(get_token(&second, paths::ITEMS));
        assert_eq!(after, Err(AuthError::Unauthorized), "{way:?}");
        world.advance(120_000);
        assert_eq!(world.server.sends(), sends, "{way:?}: nothing sent with it");
        assert_eq!(world.refreshes(), refreshes, "{way:?}: no refresh either");

        // A new login in another tab does sign it in again.
        let login = world.server.mint();
        let token = login.access_token.clone();
        second.on_tab_message(announced(signed_in, login));

        assert_eq!(second.snapshot().user, Some(alice()), "{way:?}");
        let adopted = count(&events, |e| {
            matches!(e, AuthEvent::TokenFromOtherTab { .. })
        });
        assert_eq!(adopted, 1, "{way:?}");
        let result = world.finish(get_token(&second, paths::ITEMS));
        assert_eq!(result, Ok(token), "{way:?}");
        assert_eq!(world.refreshes(), refreshes, "{way:?}");
        assert!(endings.borrow().is_empty(), "{way:?}");
    }
}

#[test]
fn a_tab_whose_session_is_unknown_or_active_still_adopts_a_refreshed_token() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let unknown = world.tab(&browser);
    let active = world.tab(&browser);
    active.resume(alice());
    world.server.mint();
    let newer = world.server.mint();
    let token = newer.access_token.clone();

    let message = announced(refreshed, newer);
    unknown.on_tab_message(message.clone());
    active.on_tab_message(message);

    for tab in [&unknown, &active] {
        assert_eq!(
            world.finish(get_token(tab, paths::ITEMS)),
            Ok(token.clone())
        );
    }
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_login_in_one_tab_signs_in_a_tab_that_had_signed_out() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    let second = world.tab(&browser);
    first.sign_in(world.server.mint());
    first.sign_out(SignOutReason::User);
    assert_eq!(second.snapshot().user, None);
    let events = record(&second);

    first.sign_in(world.server.mint());

    assert_eq!(second.snapshot().user, Some(alice()));
    assert!(events
        .borrow()
        .contains(&AuthEvent::TokenFromOtherTab { token_version: 3 }));
    assert_eq!(
        world.finish(get_token(&second, paths::ITEMS)),
        Ok("t2".into())
    );
    assert_eq!(world.refreshes(), 0);
}

#[test]
fn a_login_is_announced_as_signed_in_and_a_refresh_or_an_answer_as_token_refreshed() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let auth = world.tab(&browser);
    let spy = browser.open_tab();
    let heard = Rc::new(RefCell::new(Vec::new()));
    {
        let heard = heard.clone();
        spy.on_message(move |message| heard.borrow_mut().push(message));
    }

    auth.sign_in(world.server.mint());
    world.server.expire_token();
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t2".into())
    );
    spy.publish(TabMessage::TokenWanted);

    let heard: Vec<(&str, String)> = heard
        .borrow()
        .iter()
        .map(|message| match message {
            TabMessage::SignedIn { access_token, .. } => ("signed in", access_token.clone()),
            TabMessage::TokenRefreshed { access_token, .. } => ("refreshed", access_token.clone()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        heard,
        [
            ("signed in", "t1".to_owned()),
            ("refreshed", "t2".to_owned()),
            ("refreshed", "t2".to_owned())
        ]
    );
}

/// A login call for [`Coordinator::sign_in_with`] that records when it is first polled.
fn login_call(
    world: &World,
    polled: &Rc<Cell<bool>>,
) -> impl Future<Output = Result<TokenResponse, String>> + 'static {
    let (server, polled) = (world.server.clone(), polled.clone());
    async move {
        polled.set(true);
        Ok(server.mint())
    }
}

fn sign_in_with<S: TabSync>(
    coordinator: &TestCoordinator<S>,
    login: impl Future<Output = Result<TokenResponse, String>> + 'static,
) -> impl Future<Output = Result<User, String>> + 'static {
    let coordinator = coordinator.clone();
    async move { coordinator.sign_in_with(login).await }
}

#[test]
fn sign_in_with_calls_login_only_after_the_refresh_in_flight_answered() {
    let world = World::new();
    let auth = world.signed_in();
    let events = record(&auth);
    world.server.refresh_latency_ms.set(50);
    world.advance(50_000);
    assert!(auth.snapshot().refreshing, "the proactive refresh is out");
    assert_eq!(world.refreshes(), 1);

    let polled = Rc::new(Cell::new(false));
    let signing_in = world.start(sign_in_with(&auth, login_call(&world, &polled)));
    world.advance(49);
    assert!(!polled.get(), "the login waits for the refresh's answer");
    assert!(!signing_in.is_done());
    world.advance(1);

    assert!(polled.get());
    assert_eq!(signing_in.result(), Ok(alice()));
    let order: Vec<&str> = events
        .borrow()
        .iter()
        .filter_map(|event| match event {
            AuthEvent::RefreshSucceeded { adopted: false, .. } => Some("refreshed"),
            AuthEvent::SignedIn { .. } => Some("signed in"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["refreshed", "signed in"]);
    assert_eq!(
        world.finish(get_token(&auth, paths::ITEMS)),
        Ok("t3".into()),
        "the login's token, not the refresh's t2"
    );
    assert_eq!(world.server.bearers_for(paths::ITEMS), [Some("t3".into())]);
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn sign_in_with_waits_for_a_refresh_holding_the_lock_in_another_tab() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let first = world.tab(&browser);
    first.sign_in(world.server.mint());
    world.server.refresh_latency_ms.set(50);
    world.advance(50_000);
    assert!(first.snapshot().refreshing);
    let second = world.tab(&browser);

    let polled = Rc::new(Cell::new(false));
    let signing_in = world.start(sign_in_with(&second, login_call(&world, &polled)));
    world.advance(49);
    assert!(!polled.get(), "one auth call per browser at a time");
    world.advance(1);

    assert_eq!(signing_in.result(), Ok(alice()));
    for tab in [&first, &second] {
        assert_eq!(world.finish(get_token(tab, paths::ITEMS)), Ok("t3".into()));
    }
    assert_eq!(world.refreshes(), 1);
}

#[test]
fn a_refresh_started_during_sign_in_with_adopts_the_login_token() {
    let world = World::new();
    let browser = MemoryBrowser::default();
    let auth = world.tab(&browser);
    auth.sign_in(world.server.mint());
    world.server.expire_token();
    let events = record(&auth);
    let (answer, answered) = oneshot::channel::<()>();
    let login = {
        let server = world.server.clone();
        async move {
            let _ = answered.await;
            Ok::<_, String>(server.mint())
        }
    };
    let signing_in = world.start(sign_in_with(&auth, login));
    world.settle();
    let request = world.start(get_token(&auth, paths::ITEMS));
    world.settle();
    assert!(auth.snapshot().refreshing, "the 401 started a refresh");
    assert_eq!(
        world.refreshes(),
        0,
        "it waits for the lock the login holds"
    );

    let _ = answer.send(());
    world.settle();

    assert_eq!(signing_in.result(), Ok(alice()));
    assert_eq!(request.result(), Ok("t2".into()));
    assert_eq!(world.refreshes(), 0, "the login's token was adopted");
    let adopted = count(&events, |e| {
        matches!(e, AuthEvent::RefreshSucceeded { adopted: true, .. })
    });
    assert_eq!(adopted, 1);
}

#[test]
fn a_failed_sign_in_with_hands_back_the_login_error_and_changes_nothing() {
    let world = World::new();
    let auth = world.coordinator();
    let events = record(&auth);
    let login = async { Err::<TokenResponse, _>("Wrong username or password.".to_owned()) };

    let result = world.finish(sign_in_with(&auth, login));

    assert_eq!(result, Err("Wrong username or password.".to_owned()));
    assert_eq!(auth.snapshot().user, None);
    assert_eq!(auth.snapshot().token_version, 0);
    assert!(events.borrow().is_empty());
}
