//! Denial of service through the password hash: clients that post a login and hang up.

use std::sync::Arc;

use axum::http::StatusCode;

use crate::common::{login_request, wait_until, TestApp};

/// OWASP Denial of Service cheat sheet ("limit the resources a request can hold"); issue #12 §1:
/// a dropped request must not free its hashing slot while argon2 still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_flood_that_hangs_up_mid_hash_never_exceeds_the_hashing_limit() {
    let app = Arc::new(
        TestApp::with_env(&[
            ("LOGIN_HASH_CONCURRENCY", "2"),
            ("LOGIN_QUEUE_TIMEOUT_MS", "10000"),
            ("LOGIN_PER_CLIENT_PER_MINUTE", "100000"),
        ])
        .await,
    );
    for wave in 0..6 {
        let requests: Vec<_> = (0..8)
            .map(|n| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.send(login_request(&format!("ghost-{wave}-{n}"), "guess"))
                        .await
                })
            })
            .collect();
        // Once this wave's first two hashes have begun, its clients hang up: hyper drops their
        // futures exactly like this. The next wave then competes with hashes still running.
        wait_until(|| app.state.users.checks_started() >= 2 * (wave + 1)).await;
        for request in &requests {
            request.abort();
        }
    }
    wait_until(|| app.state.users.checks_in_flight() == 0).await;
    // Hashes did run, and never more at once than the limit. (With the slot held by the
    // request, as before #12, this fails — 12 ran at once here: hung-up requests free slots
    // their hashes still use.)
    let peak = app.state.users.peak_concurrent_checks();
    assert!((1..=2).contains(&peak), "{peak} hashes ran at once");
}

/// OWASP Denial of Service cheat sheet (fail fast under load, tell the client when to retry):
/// a sign-in that finds every hashing slot busy is answered 503 with `Retry-After`, not queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_when_every_hashing_slot_is_busy_gets_503_with_retry_after() {
    let app = Arc::new(
        TestApp::with_env(&[
            ("LOGIN_HASH_CONCURRENCY", "1"),
            ("LOGIN_QUEUE_TIMEOUT_MS", "0"),
        ])
        .await,
    );
    let slow = {
        let app = app.clone();
        tokio::spawn(async move { app.send(login_request("alice", "wonderland")).await })
    };
    wait_until(|| app.state.users.checks_in_flight() == 1).await;
    let busy = app.send(login_request("admin", "admin-secret")).await;
    assert_eq!(
        busy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        busy.body
    );
    assert_eq!(busy.error_code(), "temporarily_unavailable");
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(slow.await.unwrap().status, StatusCode::OK);
    // A busy answer is no failed guess: the account is not any closer to a lockout.
    let retried = app.send(login_request("admin", "admin-secret")).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
}
