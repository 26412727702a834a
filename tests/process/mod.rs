//! Runs the real server binary and talks HTTP/1.1 to it over a plain socket, for the tests that
//! need whole processes: start-up, shutdown, restarts, several instances on one store.

#![allow(dead_code)] // each test file uses a different part of this helper

pub mod redis;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

/// The server binary with the site settings it needs, a memory store unless `extra_env` names
/// another, and piped output.
pub fn server(addr: &str, extra_env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenflight"));
    command
        .env("LEPTOS_OUTPUT_NAME", "tokenflight")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_ADDR", addr)
        .env("RUST_LOG", "info")
        // Never the default file in the working tree; tests that need a store pass their own.
        .env("STORE_URL", "memory://")
        .env_remove("JWT_SECRET")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

pub fn wait_until_listening(addr: &str, child: &mut Child) {
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

/// A started server, killed when dropped; its log is in `<CARGO_TARGET_TMPDIR>/server-logs/`.
pub struct Running {
    pub addr: String,
    pub child: Child,
}

impl Running {
    pub fn start(extra_env: &[(&str, &str)]) -> Self {
        Self::start_on(free_addr(), extra_env)
    }

    /// [`Running::start`] listening on `addr` (e.g. `[::]:port` for a dual-stack listener).
    pub fn start_on(addr: String, extra_env: &[(&str, &str)]) -> Self {
        Self::spawn(addr, extra_env, None)
    }

    /// [`Running::start`] in a process that may open at most `descriptors` files and sockets.
    pub fn start_with_descriptors(descriptors: u64, extra_env: &[(&str, &str)]) -> Self {
        Self::spawn(free_addr(), extra_env, Some(descriptors))
    }

    fn spawn(addr: String, extra_env: &[(&str, &str)], descriptors: Option<u64>) -> Self {
        // The server's log, for reading after a failure: target/test-logs/<port>.log.
        let logs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("server-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let port = addr.rsplit(':').next().unwrap();
        let log = std::fs::File::create(logs.join(format!("{port}.log"))).unwrap();
        let mut command = server(&addr, extra_env);
        command.stdout(log.try_clone().unwrap()).stderr(log);
        if let Some(descriptors) = descriptors {
            let limit = libc::rlimit {
                rlim_cur: descriptors,
                rlim_max: descriptors,
            };
            // SAFETY: setrlimit is async-signal-safe and touches only the child being started.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().unwrap();
        wait_until_listening(&addr, &mut child);
        Self { addr, child }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        let port = self.addr.rsplit(':').next().unwrap();
        let logs = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("server-logs");
        std::fs::read_to_string(logs.join(format!("{port}.log"))).unwrap_or_default()
    }

    /// The server's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop(mut self) {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n"));
        request(&self.addr, "GET", path, auth.as_deref().unwrap_or(""), "")
    }

    /// A same-origin POST carrying `cookies` (and a JSON body when given).
    pub fn post(&self, path: &str, cookies: &str, json: &str) -> Response {
        let mut headers = String::from("Sec-Fetch-Site: same-origin\r\n");
        if !cookies.is_empty() {
            headers.push_str(&format!("Cookie: {cookies}\r\n"));
        }
        if !json.is_empty() {
            headers.push_str("Content-Type: application/json\r\n");
        }
        request(&self.addr, "POST", path, &headers, json)
    }

    /// A POST with a Bearer token and no body, as the demo controls take.
    pub fn post_bearer(&self, path: &str, token: &str) -> Response {
        let headers = format!("Authorization: Bearer {token}\r\n");
        request(&self.addr, "POST", path, &headers, "")
    }

    pub fn login(&self, username: &str, password: &str) -> Response {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        self.post("/api/auth/login", "", &body)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn terminate(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The value this response sets for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, line)| line.split(';').next()?.split_once('='))
            .find(|(cookie, value)| *cookie == name && !value.is_empty())
            .map(|(_, value)| value.to_owned())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    pub fn access_token(&self) -> String {
        self.json()["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, so the body ends with it).
pub fn request(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}
