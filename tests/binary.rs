#![cfg(feature = "ssr")]
//! The server binary itself: start-up failures are clear and non-zero, shutdown is graceful.

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Output, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

fn server(addr: &str, extra_env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenflight"));
    command
        .env("LEPTOS_OUTPUT_NAME", "tokenflight")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_ADDR", addr)
        .env("RUST_LOG", "info")
        // Never the default file in the working tree; tests that need a store pass their own.
        .env("STORE_URL", "memory://")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn wait_until_listening(addr: &str, child: &mut Child) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server never listened"
        );
        sleep(Duration::from_millis(50));
    }
}

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
