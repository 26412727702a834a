//! Refresh storms through the real coordinator, against a running server: N concurrent requests on
//! an expired token (N = 20, 200, 1000) and a storm across 8 in-process tabs sharing one tab
//! channel and one cookie jar. For each: refresh calls on the wire (target: exactly 1), the time
//! until every request has its answer, and the p50/p99 latency the storm adds compared with the
//! same requests on a valid token. Prints rows of `docs/benchmarks.md`'s table; run by
//! `scripts/bench.sh`.
//!
//! `storm <base-url>`; the server needs `DEMO_CONTROLS=on` (the default) to expire tokens.

#[path = "support/mod.rs"]
mod support;

use std::{rc::Rc, sync::Arc, time::Instant};

use futures::future::join_all;
use reqwest::cookie::Jar;
use support::{client, sign_in, Client, Counts};
use tokenflight::auth::{
    coordinator::ApiRequest,
    tab_sync::{memory::MemoryBrowser, SingleTab, TabSync},
};

fn main() {
    let base_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        for n in [20, 200, 1000] {
            one_tab_storm(&base_url, n).await;
        }
        tab_storm(&base_url, 8, 25).await;
    });
}

async fn one_tab_storm(base_url: &str, n: usize) {
    let (client, transport) = client(base_url, Arc::new(Jar::default()), SingleTab);
    sign_in(&client, &transport).await;
    let counts = Counts::follow(&client);
    let tabs = [Rc::new(client)];
    warm_up(&tabs, n).await;
    let (mut baseline, _, _) = burst(&tabs, n).await;
    expire(&tabs[0]).await;
    let calls_before = counts.refresh_calls.get();
    let (mut storm, elapsed_ms, failed) = burst(&tabs, n).await;
    let refresh_calls = counts.refresh_calls.get() - calls_before;
    report(
        &format!("{n} requests, 1 tab"),
        refresh_calls,
        elapsed_ms,
        &mut baseline,
        &mut storm,
        failed,
    );
}

async fn tab_storm(base_url: &str, tab_count: usize, per_tab: usize) {
    let browser = MemoryBrowser::default();
    let jar = Arc::new(Jar::default());
    let mut tabs = Vec::new();
    let mut counts = Vec::new();
    for _ in 0..tab_count {
        let tab = browser.open_tab();
        let (client, transport) = client(base_url, jar.clone(), tab.clone());
        let receiver = client.clone();
        tab.on_message(move |message| receiver.on_tab_message(message));
        if tabs.is_empty() {
            // The other tabs adopt this login from the channel, as browser tabs do.
            sign_in(&client, &transport).await;
        }
        counts.push(Counts::follow(&client));
        tabs.push(Rc::new(client));
    }
    warm_up(&tabs, per_tab).await;
    let (mut baseline, _, _) = burst(&tabs, per_tab).await;
    expire(&tabs[0]).await;
    let calls = || counts.iter().map(|c| c.refresh_calls.get()).sum::<u64>();
    let calls_before = calls();
    let (mut storm, elapsed_ms, failed) = burst(&tabs, per_tab).await;
    report(
        &format!("{} requests, {tab_count} tabs", per_tab * tab_count),
        calls() - calls_before,
        elapsed_ms,
        &mut baseline,
        &mut storm,
        failed,
    );
}

/// One burst whose figures are dropped, so the baseline is a steady state like the storm after
/// it: connections open, and every tab holding the token (the others adopt it on first use).
async fn warm_up<S: TabSync>(tabs: &[Rc<Client<S>>], per_tab: usize) {
    burst(tabs, per_tab).await;
}

/// `per_tab` concurrent GETs from every tab at once: each request's latency, the time until the
/// last answer, and how many failed.
async fn burst<S: TabSync>(tabs: &[Rc<Client<S>>], per_tab: usize) -> (Vec<f64>, f64, usize) {
    let started = Instant::now();
    let calls = tabs.iter().flat_map(|tab| {
        (0..per_tab).map(move |_| {
            let tab = tab.clone();
            async move {
                let sent = Instant::now();
                let result = tab.execute(ApiRequest::get("/api/items")).await;
                (sent.elapsed().as_secs_f64() * 1000.0, result.is_ok())
            }
        })
    });
    let answers = join_all(calls).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let failed = answers.iter().filter(|(_, ok)| !ok).count();
    (
        answers.into_iter().map(|(ms, _)| ms).collect(),
        elapsed_ms,
        failed,
    )
}

/// Expires this session's access tokens on the server (the demo control): the next request
/// gets a 401.
async fn expire<S: TabSync>(tab: &Client<S>) {
    let request = ApiRequest::post_json("/api/demo/expire-access", &()).expect("encodable");
    tab.execute(request)
        .await
        .expect("the demo control answers");
}

fn report(
    name: &str,
    refresh_calls: u64,
    elapsed_ms: f64,
    baseline: &mut [f64],
    storm: &mut [f64],
    failed: usize,
) {
    let mut added = |p| percentile(storm, p) - percentile(baseline, p);
    let (p50, p99) = (added(50.0), added(99.0));
    println!(
        "| refresh storm: {name} on an expired token | {refresh_calls} refresh call(s) · all \
         answered in {elapsed_ms:.0} ms · added latency p50 {p50:.1} ms, p99 {p99:.1} ms · \
         {failed} failed |"
    );
}

/// The `p`-th percentile (0–100) of `samples`, sorted in place.
pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank]
}
