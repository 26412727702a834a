//! The inspector: counters, the token's countdown, the waterfall of the latest run, and the same
//! events as a text table (for screen readers and for copying): requests, 401s, refreshes, the
//! waiters each refresh served, retries and sign-outs.

use leptos::prelude::*;

use super::{
    flow_log::{use_flow_log, FlowSource, TimelineEntry},
    grace_or_theft::GraceOrTheft,
    numbers::{Duration, MillisAsSeconds, Whole},
    waterfall::Waterfall,
};
use crate::auth::{
    coordinator::{AuthEvent, RefreshFailureKind, SignOutReason},
    use_auth,
};

#[component]
pub fn Inspector() -> impl IntoView {
    let auth = use_auth();
    let log = use_flow_log();
    let counters = log.counters;
    // The countdown reads the auth clock, the one the token's expiry is on, so it stays right
    // after a laptop sleeps.
    let now_ms = RwSignal::new(auth.now_ms());
    #[cfg(feature = "hydrate")]
    leptos_use_interval_fn::use_interval_fn(move || now_ms.set(auth.now_ms()), 250);
    let countdown = move || {
        let snapshot = auth.snapshot().get()?;
        if snapshot.offline {
            return Some("offline · retrying".to_owned());
        }
        if snapshot.refreshing {
            return Some("refreshing…".to_owned());
        }
        let left = (snapshot.token_expires_at_ms? - now_ms.get()) / 1000.0;
        Some(format!("{} s", Whole(left.max(0.0))))
    };
    // The headline: how many failed requests the latest refresh call served.
    let last_refresh = move || {
        log.frame.track();
        log.timeline.with_untracked(|timeline| {
            timeline.iter().rev().find_map(|entry| match &entry.event {
                AuthEvent::RefreshSucceeded { refresh_id, waiters, adopted: false, .. } => Some(format!(
                    "Refresh {refresh_id}: one call to /api/auth/refresh served {} waiting request{}.",
                    waiters.len(),
                    if waiters.len() == 1 { "" } else { "s" },
                )),
                _ => None,
            })
        })
    };
    // The table is built only while it is open: hundreds of rows per frame would slow a burst.
    let table_open = RwSignal::new(false);
    view! {
        <section class="card inspector" aria-label="Inspector">
            <h2>"Inspector"</h2>
            <p class="muted" data-testid="inspector-scope">
                "Counts and timeline start afresh with each page load (a followed link is one): "
                "the page brings an access token for your session, so a page load makes no "
                "refresh call."
            </p>
            <dl class="counters">
                <div><dt>"Requests"</dt><dd data-testid="count-requests">{move || counters.get().requests}</dd></div>
                <div><dt>"401s"</dt><dd data-testid="count-401">{move || counters.get().unauthorized}</dd></div>
                <div><dt>"Refreshes"</dt><dd data-testid="count-refreshes">{move || counters.get().refreshes}</dd></div>
                <div><dt>"Retries"</dt><dd data-testid="count-retries">{move || counters.get().retries}</dd></div>
                <div><dt>"Token expires in"</dt><dd data-testid="token-countdown">{move || countdown().unwrap_or_else(|| "—".to_owned())}</dd></div>
            </dl>
            <p class="callout" data-testid="last-refresh">
                {move || last_refresh().unwrap_or_else(|| "No refresh yet.".to_owned())}
            </p>
            <Waterfall/>
            <GraceOrTheft/>
            <details class="timeline-details" on:toggle=move |_| table_open.update(|open| *open = !*open)>
                <summary>"Timeline as text (latest " {TABLE_ROWS} " events)"</summary>
                <table class="timeline" aria-label="Timeline">
                    <thead><tr><th scope="col">"Time"</th><th scope="col">"By"</th><th scope="col">"Kind"</th><th scope="col">"Event"</th></tr></thead>
                    <tbody>
                        <For
                            each=move || {
                                log.frame.track();
                                if !table_open.get() {
                                    return Vec::new();
                                }
                                log.timeline.with_untracked(|timeline| {
                                    timeline.iter().rev().take(TABLE_ROWS).cloned().collect::<Vec<_>>()
                                })
                            }
                            key=|entry| entry.seq
                            children=|entry| view! { <TimelineRow entry/> }
                        />
                    </tbody>
                </table>
            </details>
        </section>
    }
}

/// The text table shows this many of the latest events.
const TABLE_ROWS: usize = 200;

#[component]
fn TimelineRow(entry: TimelineEntry) -> impl IntoView {
    let (kind, text) = describe(&entry.event);
    let by = match entry.source {
        FlowSource::Coordinator => "client",
        FlowSource::Naive => "naive",
    };
    view! {
        <tr class=format!("event {kind}")>
            <td><time>{format!("{:>8} s", MillisAsSeconds(entry.at_ms))}</time></td>
            <td>{by}</td>
            <td><span class="badge">{kind}</span></td>
            <td class="text">{text}</td>
        </tr>
    }
    // Erased: a small type, and it keeps the dashboard's view type within the compiler's limits.
    .into_any()
}

/// A short class name and a sentence for each event.
fn describe(event: &AuthEvent) -> (&'static str, String) {
    match event {
        AuthEvent::RequestSent {
            request_id,
            path,
            token_version,
            retry,
        } => (
            if *retry { "retry" } else { "request" },
            format!("#{request_id} {path} with token v{token_version}"),
        ),
        AuthEvent::Responded { request_id, status } => {
            ("response", format!("#{request_id} → {status}"))
        }
        AuthEvent::RequestFailed { request_id, error } => {
            ("failed", format!("#{request_id} failed: {error}"))
        }
        AuthEvent::Unauthorized {
            request_id,
            token_version,
        } => (
            "401",
            format!("#{request_id} 401: token v{token_version} refused"),
        ),
        AuthEvent::RefreshStarted { refresh_id, reason } => (
            "refresh",
            format!("refresh {refresh_id} started ({reason})"),
        ),
        AuthEvent::WaiterJoined {
            request_id,
            refresh_id,
        } => (
            "wait",
            format!("#{request_id} waits for refresh {refresh_id}"),
        ),
        AuthEvent::RefreshSucceeded {
            refresh_id,
            token_version,
            waiters,
            adopted,
            ..
        } => (
            "refreshed",
            format!(
                "refresh {refresh_id} {} token v{token_version}; served {} waiting request{}",
                if *adopted { "adopted" } else { "got" },
                waiters.len(),
                if waiters.len() == 1 { "" } else { "s" },
            ),
        ),
        AuthEvent::RefreshFailed {
            refresh_id,
            kind,
            waiters,
        } => (
            "refresh-failed",
            format!(
                "refresh {refresh_id} failed: {}; {} waiting request(s) failed",
                match kind {
                    RefreshFailureKind::SessionExpired => "session expired",
                    RefreshFailureKind::NoSession => "no session",
                    RefreshFailureKind::UserChanged => "signed in as someone else",
                    RefreshFailureKind::Transient => "temporary failure, will retry",
                },
                waiters.len()
            ),
        ),
        AuthEvent::Retried {
            request_id,
            with_refresh,
        } => (
            "retry",
            format!(
                "#{request_id} retried {}",
                if *with_refresh {
                    "after the refresh"
                } else {
                    "with the newer token"
                }
            ),
        ),
        AuthEvent::TokenFromOtherTab { token_version } => (
            "tab",
            format!("token v{token_version} received from another tab"),
        ),
        AuthEvent::TokenFromPage { token_version } => (
            "page",
            format!("token v{token_version} came with the page (no refresh call)"),
        ),
        AuthEvent::SignedIn { token_version } => {
            ("signed-in", format!("signed in, token v{token_version}"))
        }
        AuthEvent::SignedOut { reason } => (
            "signed-out",
            match reason {
                SignOutReason::User => "signed out".to_owned(),
                SignOutReason::SessionExpired => {
                    "session ended by the server: signed out".to_owned()
                }
                SignOutReason::OtherTab => "signed out in another tab".to_owned(),
                SignOutReason::Idle { after_secs } => {
                    format!(
                        "signed out after {} without activity",
                        Duration(*after_secs)
                    )
                }
            },
        ),
        AuthEvent::LeftToLapse { token_version } => (
            "idle",
            format!("nobody here since token v{token_version}: left to expire, no refresh"),
        ),
        AuthEvent::IdleWarning { ends_in_ms } => (
            "idle",
            format!(
                "idle warning: the session ends in {} s unless you stay",
                ends_in_ms / 1000
            ),
        ),
        AuthEvent::Offline { retry_in_ms } => (
            "offline",
            format!("offline; retrying in {} s", retry_in_ms / 1000),
        ),
        AuthEvent::Online => ("online", "back online".to_owned()),
    }
}
