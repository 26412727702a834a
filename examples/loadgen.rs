//! The load driver `scripts/bench.sh` runs against a release server: the loads `wrk` cannot
//! make (a login burst released at once; refreshes, each one presenting its family's newest cookie).
//! It prints markdown table rows; it asserts nothing about time (benchmarks are not tests).
//!
//! ```text
//! loadgen token   <base-url>                      an access token for alice, on stdout
//! loadgen logins  <base-url> <concurrent>         a login burst: statuses, p50/p99, wall time
//! loadgen refresh <base-url> <families> <secs>    refreshes per second, families in parallel
//! ```

use std::{
    collections::BTreeMap,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::{header, Client, StatusCode};
use tokenflight::api::auth::{paths, LoginRequest, TokenResponse};
use tokio::sync::Barrier;

/// The refresh cookie's name (`server::http::cookies::REFRESH_COOKIE`).
const REFRESH_COOKIE: &str = "tf_refresh";

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["token", base] => token(base).await,
        ["logins", base, concurrent] => match concurrent.parse() {
            Ok(concurrent) => logins(base, concurrent).await,
            Err(_) => Err("<concurrent> must be a number".into()),
        },
        ["refresh", base, families, secs] => match (families.parse(), secs.parse()) {
            (Ok(families), Ok(secs)) => refresh(base, families, Duration::from_secs(secs)).await,
            _ => Err("<families> and <secs> must be numbers".into()),
        },
        _ => Err("usage: loadgen token|logins|refresh <base-url> [args] (see the source)".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn token(base: &str) -> Result<(), Failure> {
    let (_, tokens) = sign_in(&Client::new(), base, "alice").await?;
    println!("{}", tokens.access_token);
    Ok(())
}

/// `concurrent` logins (alice and admin alternately), all released at the same instant.
async fn logins(base: &str, concurrent: usize) -> Result<(), Failure> {
    let client = Client::new();
    let start = Arc::new(Barrier::new(concurrent));
    let began = Instant::now();
    let tasks: Vec<_> = (0..concurrent)
        .map(|i| {
            let (client, start, url) = (
                client.clone(),
                start.clone(),
                format!("{base}{}", paths::LOGIN),
            );
            let username = if i % 2 == 0 { "alice" } else { "admin" };
            tokio::spawn(async move {
                start.wait().await;
                let sent = Instant::now();
                let status = client
                    .post(url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("sec-fetch-site", "same-origin")
                    .body(login_body(username))
                    .send()
                    .await
                    .map(|response| response.status());
                (status, sent.elapsed())
            })
        })
        .collect();
    let mut statuses = BTreeMap::<String, usize>::new();
    let mut latencies = Vec::with_capacity(concurrent);
    for task in tasks {
        let (status, latency) = task.await?;
        let key = match status {
            Ok(status) => status.as_u16().to_string(),
            Err(_) => "connection error".to_owned(),
        };
        *statuses.entry(key).or_default() += 1;
        latencies.push(latency);
    }
    let wall = began.elapsed();
    let seen: Vec<String> = statuses.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    let allowed = statuses
        .keys()
        .all(|k| ["200", "429", "503"].contains(&k.as_str()));
    println!(
        "| sign-in: {concurrent} concurrent logins, answers | {} |",
        seen.join(", ")
    );
    println!(
        "| sign-in: latency p50 / p99 | {} |",
        percentiles(&mut latencies)
    );
    println!(
        "| sign-in: all {concurrent} answered after | {} |",
        millis(wall)
    );
    if allowed {
        Ok(())
    } else {
        Err(format!("answers other than 200/429/503: {}", seen.join(", ")).into())
    }
}

/// `families` sessions refreshing in a loop for `duration`, each with its own newest cookie.
async fn refresh(base: &str, families: usize, duration: Duration) -> Result<(), Failure> {
    let client = Client::new();
    let mut cookies = Vec::with_capacity(families);
    for i in 0..families {
        let username = if i % 2 == 0 { "alice" } else { "admin" };
        cookies.push(sign_in(&client, base, username).await?.0);
    }
    let url = format!("{base}{}", paths::REFRESH);
    let began = Instant::now();
    let tasks: Vec<_> = cookies
        .into_iter()
        .map(|mut cookie| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while began.elapsed() < duration {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header(header::COOKIE, format!("{REFRESH_COOKIE}={cookie}"))
                        .header("sec-fetch-site", "same-origin")
                        .send()
                        .await?;
                    if response.status() != StatusCode::OK {
                        return Err(format!("a refresh answered {}", response.status()).into());
                    }
                    cookie = refresh_cookie(&response).ok_or("a refresh set no cookie")?;
                    latencies.push(sent.elapsed());
                }
                Ok::<_, Failure>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let rate = latencies.len() as f64 / began.elapsed().as_secs_f64();
    println!("| refresh: {families} families in parallel | {rate:.0} refreshes/s |");
    println!(
        "| refresh: latency p50 / p99 | {} |",
        percentiles(&mut latencies)
    );
    Ok(())
}

async fn sign_in(
    client: &Client,
    base: &str,
    username: &str,
) -> Result<(String, TokenResponse), Failure> {
    let response = client
        .post(format!("{base}{}", paths::LOGIN))
        .header(header::CONTENT_TYPE, "application/json")
        // As a browser's same-origin fetch: the login refuses requests that say nothing.
        .header("sec-fetch-site", "same-origin")
        .body(login_body(username))
        .send()
        .await?;
    if response.status() != StatusCode::OK {
        return Err(format!("login as {username} answered {}", response.status()).into());
    }
    let cookie = refresh_cookie(&response).ok_or("the login set no refresh cookie")?;
    let tokens = serde_json::from_slice(&response.bytes().await?)?;
    Ok((cookie, tokens))
}

fn login_body(username: &str) -> String {
    let password = if username == "admin" {
        "admin-secret"
    } else {
        "wonderland"
    };
    let request = LoginRequest {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    serde_json::to_string(&request).expect("two strings always serialise")
}

/// The value of the `tf_refresh` cookie a response sets, if any.
fn refresh_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(REFRESH_COOKIE)?.strip_prefix('='))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

/// "p50 / p99" by nearest rank.
fn percentiles(latencies: &mut [Duration]) -> String {
    if latencies.is_empty() {
        return "no answers".to_owned();
    }
    latencies.sort_unstable();
    let at = |p: usize| latencies[(latencies.len() * p).div_ceil(100).max(1) - 1];
    format!("{} / {}", millis(at(50)), millis(at(99)))
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
