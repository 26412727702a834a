#![cfg(feature = "ssr")]
//! The server binary itself: start-up failures are clear and non-zero, shutdown is graceful.

mod process;

use std::{
    net::TcpListener,
    process::{Command, Output},
};

use process::{free_addr, server, wait_until_listening, Running};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_address_in_use_exits_non_zero_with_a_clear_message() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = server(&addr, &[]).output().unwrap();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("cannot listen on {addr}")),
        "{message}"
    );
    assert!(message.contains("LEPTOS_SITE_ADDR"), "{message}");
}

#[test]
fn an_invalid_variable_stops_start_up_naming_it() {
    let output = server(&free_addr(), &[("ACCESS_TOKEN_TTL_SECS", "soon")])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("ACCESS_TOKEN_TTL_SECS"), "{message}");
}

#[test]
fn sigterm_shuts_the_server_down_cleanly() {
    let addr = free_addr();
    let mut child = server(&addr, &[]).spawn().unwrap();
    wait_until_listening(&addr, &mut child);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let log = String::from_utf8_lossy(&output.stdout);
    assert!(log.contains("shut down cleanly"), "{log}");
}

#[test]
fn a_restart_keeps_every_session_with_the_default_store_and_no_jwt_secret() {
    let dir = std::env::temp_dir().join(format!("tokenflight-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite://{}/sessions.db", dir.display());
    let env = [("STORE_URL", store.as_str())];
    // The same address, as a deployment restarts: it is the issuer the access token names.
    let addr = free_addr();

    let before = Running::start_on(addr.clone(), &env);
    let login = before.login("alice", "wonderland");
    assert_eq!(login.status, 200, "{}", login.body);
    let access = login.access_token();
    let refresh = login.cookie("tf_refresh").expect("a refresh cookie");
    before.stop();

    let after = Running::start_on(addr, &env);
    let me = after.get("/api/me", Some(&access));
    assert_eq!(
        me.status, 200,
        "the old access token was refused: {}",
        me.body
    );
    let refreshed = after.post("/api/auth/refresh", &format!("tf_refresh={refresh}"), "");
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_ne!(refreshed.cookie("tf_refresh"), Some(refresh));
    after.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #10: the lockout lives in the store, so restarting the server does not lift it.
#[test]
fn a_restart_keeps_a_sign_in_lockout_with_the_default_store() {
    let dir = std::env::temp_dir().join(format!("tokenflight-lockout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite://{}/sessions.db", dir.display());
    let env = [("STORE_URL", store.as_str()), ("LOGIN_MAX_FAILURES", "2")];

    let before = Running::start(&env);
    for _ in 0..2 {
        assert_eq!(before.login("alice", "guess").status, 401);
    }
    before.stop();

    let after = Running::start(&env);
    let locked = after.login("alice", "wonderland");
    assert_eq!(
        locked.status, 429,
        "the restart lifted the lockout: {}",
        locked.body
    );
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    after.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn health_readiness_and_metrics_answer_with_metrics_on_their_own_address() {
    let metrics = free_addr();
    let server = Running::start(&[("METRICS_ADDR", metrics.as_str())]);
    assert_eq!(server.get("/healthz", None).status, 200);
    assert_eq!(server.get("/readyz", None).status, 200);
    assert_eq!(server.login("alice", "wonderland").status, 200);
    assert_eq!(server.login("alice", "wrong").status, 401);
    assert_eq!(
        server.get("/metrics", None).status,
        404,
        "metrics must not be on the public address"
    );

    let scrape = process::request(&metrics, "GET", "/metrics", "", "");
    assert_eq!(scrape.status, 200);
    for line in [
        r#"tokenflight_logins_total{outcome="success"} 1"#,
        r#"tokenflight_logins_total{outcome="invalid_credentials"} 1"#,
        "tokenflight_store_seconds",
    ] {
        assert!(
            scrape.body.contains(line),
            "{line} missing from:\n{}",
            scrape.body
        );
    }
    server.stop();
}
