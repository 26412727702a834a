//! The Redis the `redis` test modules use: `TEST_REDIS_URL` when set (scripts/test.sh starts
//! one), otherwise one `redis-server` from PATH that this test process starts on a free port
//! and that dies with it. No Redis at all is a failure, never a skip.

use std::{
    net::{TcpListener, TcpStream},
    os::unix::process::CommandExt,
    process::{Command, Stdio},
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

pub fn url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("TEST_REDIS_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(start_own)
    })
    .clone()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway `redis-server` (no persistence) on `port`, in `dir`.
pub fn command(port: u16, dir: &std::path::Path) -> Command {
    let mut command = Command::new("redis-server");
    command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

pub fn wait_until_listening(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server never listened on {port}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn start_own() -> String {
    let port = free_port();
    let dir = std::env::temp_dir();
    // Started from a thread that never ends, so PR_SET_PDEATHSIG stops the server exactly
    // when this test process exits (the signal follows the *thread* that spawned it).
    let (sender, receiver) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut command = command(port, &dir);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let spawned = command.spawn();
        let failed = spawned.is_err();
        sender.send(spawned.map(|_| ())).unwrap();
        if !failed {
            loop {
                thread::park();
            }
        }
    });
    if let Err(error) = receiver.recv().unwrap() {
        panic!(
            "the redis tests need Redis: set TEST_REDIS_URL, or put redis-server on PATH \
             (apt-get install -y redis-server): {error}"
        );
    }
    wait_until_listening(port);
    format!("redis://127.0.0.1:{port}/0")
}
