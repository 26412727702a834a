//! Real Redis servers for tests. [`url`]: the shared one the contract suite uses —
//! `TEST_REDIS_URL` when set (scripts/test.sh starts one), otherwise a `redis-server` from PATH
//! that this test process starts on a free port and that dies with it. [`OwnRedis`]: a private
//! one a test may stop, hang and restart. No Redis at all is a failure, never a skip.

#![allow(dead_code)] // each test file uses a different part of this helper

use std::{
    net::{TcpListener, TcpStream},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
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

/// A redis-server of one test's own, with an append-only file synced on every write, so a
/// `kill -9` and restart keeps the data (as a production Redis holding sessions should).
pub struct OwnRedis {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl OwnRedis {
    pub fn start() -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("tokenflight-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Self::spawn(port, &dir);
        Self { port, dir, child }
    }

    fn spawn(port: u16, dir: &std::path::Path) -> Child {
        let child = command(port, dir)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .spawn()
            .expect("redis-server on PATH (apt-get install -y redis-server)");
        wait_until_listening(port);
        child
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Sends a signal (`STOP`, `CONT`, `KILL`) to the server.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// `kill -9`, then a new server on the same port and data directory.
    pub fn kill_and_restart(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
        self.child = Self::spawn(self.port, &self.dir);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
