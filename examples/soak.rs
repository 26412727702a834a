//! The soak: many clients, each a real coordinator with its own cookie jar, sign in and keep
//! making parallel requests against a running server whose tokens live one second
//! (`ACCESS_TOKEN_TTL_SECS=1`). Run by `scripts/soak.sh`, which starts the server and samples its
//! memory.
//!
//! `soak <base-url> [clients] [seconds] [parallel] [server-pid]` (defaults 50, 60, 4). Prints the
//! figures — with a local server's pid, also its memory once everyone has signed in and at the end,
//! so the steady state is seen apart from the sign-ins' hashing — and exits non-zero on any failed
//! request or sign-out nobody asked for.

#[path = "support/mod.rs"]
mod support;

use std::{rc::Rc, sync::Arc, time::Duration};

use futures::future::join_all;
use reqwest::cookie::Jar;
use support::{client, sign_in, Client, Counts};
use tokenflight::auth::{coordinator::ApiRequest, tab_sync::SingleTab};
use tokio::time::Instant;

#[derive(Default)]
struct Tally {
    requests: u64,
    failed: u64,
    refresh_calls: u64,
    sign_outs: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let base_url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let number = |index: usize, default: u64| {
        args.get(index)
            .map(|value| value.parse().expect("a whole number"))
            .unwrap_or(default)
    };
    let (clients, seconds, parallel) = (number(1, 50), number(2, 60), number(3, 4));
    let server_pid = args.get(4).cloned();
    let memory = move || {
        server_pid
            .as_deref()
            .map(resident_memory)
            .unwrap_or_default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    let measure = memory.clone();
    let tallies = local.block_on(&runtime, async move {
        // One after another: the server counts sign-ins in flight per account (all are alice),
        // so a crowd of parallel logins would be throttled, as it should be.
        let mut signed_in = Vec::new();
        for _ in 0..clients {
            let (client, transport) = client(&base_url, Arc::new(Jar::default()), SingleTab);
            let counts = Counts::follow(&client);
            sign_in(&client, &transport).await;
            signed_in.push((Rc::new(client), counts));
        }
        let after_sign_in = measure();
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let runs = signed_in.into_iter().map(|(client, counts)| {
            tokio::task::spawn_local(run_client(client, counts, deadline, parallel as usize))
        });
        (join_all(runs).await, after_sign_in)
    });
    let (tallies, after_sign_in) = tallies;
    let mut total = Tally::default();
    for tally in tallies
        .into_iter()
        .map(|joined| joined.expect("a client ran"))
    {
        total.requests += tally.requests;
        total.failed += tally.failed;
        total.refresh_calls += tally.refresh_calls;
        total.sign_outs += tally.sign_outs;
    }
    let per_client_per_second = total.refresh_calls as f64 / (clients * seconds) as f64;
    println!("clients              {clients} × {parallel} parallel requests, {seconds} s");
    println!("requests             {}", total.requests);
    println!(
        "refresh calls        {} ({per_client_per_second:.2} per client per second)",
        total.refresh_calls
    );
    println!("failed requests      {}", total.failed);
    println!("spurious sign-outs   {}", total.sign_outs);
    if !after_sign_in.is_empty() {
        println!(
            "server memory        {after_sign_in} after sign-in, {} at end",
            memory()
        );
    }
    if total.failed > 0 || total.sign_outs > 0 || total.requests == 0 {
        std::process::exit(1);
    }
}

async fn run_client(
    client: Rc<Client<SingleTab>>,
    counts: Counts,
    deadline: Instant,
    parallel: usize,
) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let calls = (0..parallel).map(|_| client.execute(ApiRequest::get("/api/items")));
        for result in join_all(calls).await {
            tally.requests += 1;
            if let Err(error) = result {
                tally.failed += 1;
                eprintln!("request failed: {error}");
            }
        }
    }
    tally.refresh_calls = counts.refresh_calls.get();
    tally.sign_outs = counts.sign_outs.get();
    tally
}

/// The server's resident memory, from `/proc/<pid>/status`, e.g. "42.0 MiB" (empty if unreadable).
fn resident_memory(pid: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map(|kib| format!("{:.1} MiB", kib / 1024.0))
        .unwrap_or_default()
}
