//! Buttons that make the failure modes happen: an expired token, a revoked session, a burst of
//! parallel REST requests or server-function calls, latency and a failing refresh endpoint; and
//! the comparison switches: the naive interceptor instead of the auth client, and the server's
//! grace window.

use futures::future::{join_all, FutureExt, LocalBoxFuture};
use leptos::prelude::*;

use crate::{
    api::{
        demo::{paths as demo_paths, DemoFaults},
        resources::{paths, Item},
    },
    auth::use_auth,
    components::{flow_log::use_flow_log, naive},
    server_fns::load_items,
};

/// Requests fired by "Burst requests", unless "Burst size" says otherwise.
pub const BURST_SIZE: usize = 20;
/// The large burst, to see grouping and drawing speed.
pub const LARGE_BURST_SIZE: usize = 200;

#[component]
pub fn DemoControls() -> impl IntoView {
    let auth = use_auth();
    let log = use_flow_log();
    let counters = log.counters;
    let status = RwSignal::new(String::new());
    let faults = RwSignal::new(DemoFaults::default());
    // Off on every page load: the naive strategy never runs unless someone asks for it.
    let naive_mode = RwSignal::new(false);
    let burst_size = RwSignal::new(BURST_SIZE);
    let report = move |result: Result<(), crate::auth::AuthError>, done: &str| match result {
        Ok(()) => status.set(done.to_owned()),
        Err(error) => status.set(format!("Failed: {error}")),
    };
    // Every control is an `Action`: its button is disabled while it runs, so a double click
    // never sends the same control twice.
    let expire = Action::new_local(move |_: &()| async move {
        let result = auth.post_json(demo_paths::EXPIRE_ACCESS, &()).await;
        report(
            result,
            "Access token expired on the server. The next request will get a 401.",
        );
    });
    let revoke = Action::new_local(move |_: &()| async move {
        let result = auth.post_json(demo_paths::REVOKE_SESSION, &()).await;
        report(result, "Session revoked. Reloading data…");
        auth.reload();
    });
    // Fires `calls` at once and reports how many succeeded and how many refresh calls they cost.
    let burst_of = move |what: &'static str, calls: Vec<LocalBoxFuture<'static, bool>>| {
        let size = calls.len();
        log.begin_run(format!("Auth client, {size} {what}"));
        async move {
            status.set(format!("Firing {size} {what}…"));
            let refreshes_before = counters.get_untracked().refreshes;
            let ok = join_all(calls).await.into_iter().filter(|ok| *ok).count();
            let refreshes = counters.get_untracked().refreshes - refreshes_before;
            status.set(format!(
                "{ok}/{size} succeeded · {refreshes} refresh{}",
                if refreshes == 1 { "" } else { "es" }
            ));
        }
    };
    let burst = Action::new_local(move |_: &()| {
        let size = burst_size.get_untracked();
        let run = if naive_mode.get_untracked() {
            log.begin_run(format!("Naive interceptor, {size} requests"));
            naive::burst(auth, log, status, size).boxed_local()
        } else {
            let calls = (0..size)
                .map(|_| {
                    let call = auth.get_json::<Vec<Item>>(paths::ITEMS);
                    async move { call.await.is_ok() }.boxed_local()
                })
                .collect();
            burst_of("requests", calls).boxed_local()
        };
        run
    });
    let burst_server_fns = Action::new_local(move |_: &()| {
        let calls = (0..burst_size.get_untracked())
            .map(|_| async { load_items().await.is_ok() }.boxed_local())
            .collect();
        burst_of("server function calls", calls)
    });
    // The session's faults, posted whole on every change, so one switch never resets another.
    let set_faults = Action::new_local(
        move |(change, done): &(fn(&mut DemoFaults), &'static str)| {
            faults.update(change);
            let (body, done) = (faults.get_untracked(), *done);
            async move {
                let result = auth.post_json(demo_paths::FAULTS, &body).await;
                report(result, done);
            }
        },
    );
    let toggle_latency = move |_| {
        let slow = faults.get_untracked().latency_ms == 0;
        if slow {
            set_faults.dispatch((|f| f.latency_ms = 1000, "API calls now take 1 s longer."));
        } else {
            set_faults.dispatch((|f| f.latency_ms = 0, "Latency removed."));
        }
    };
    let fail_refresh = move |_| {
        set_faults.dispatch((
            |f| f.failing_refreshes = 2,
            "The next 2 refresh calls will answer 503.",
        ));
    };
    let toggle_grace = move |on: bool| {
        if on {
            set_faults.dispatch((
                |f| f.grace_window = true,
                "Grace window on: the previous refresh credential is honoured for a few seconds.",
            ));
        } else {
            set_faults.dispatch((
                |f| f.grace_window = false,
                "Grace window off for this session: a replayed refresh credential is reuse.",
            ));
        }
    };
    let faults_pending = set_faults.pending();
    view! {
        <section class="card controls" aria-label="Demo controls">
            <h2>"Demo controls"</h2>
            <div class="buttons">
                <button type="button" disabled=move || expire.pending().get() on:click=move |_| { expire.dispatch(()); }>
                    "Expire access token"
                </button>
                <button type="button" disabled=move || burst.pending().get() on:click=move |_| { burst.dispatch(()); }>
                    "Burst requests"
                </button>
                <button type="button" disabled=move || burst_server_fns.pending().get() on:click=move |_| { burst_server_fns.dispatch(()); }>
                    "Burst server functions"
                </button>
                <button type="button" on:click=move |_| auth.reload()>"Reload data"</button>
                <button type="button" disabled=move || faults_pending.get() on:click=fail_refresh>"Fail next refresh"</button>
                <button type="button" disabled=move || faults_pending.get() aria-pressed=move || (faults.get().latency_ms > 0).to_string() on:click=toggle_latency>
                    "Slow API"
                </button>
                <button type="button" class="danger" disabled=move || revoke.pending().get() on:click=move |_| { revoke.dispatch(()); }>
                    "Revoke session"
                </button>
            </div>
            <div class="switches">
                <label class="switch">
                    <input type="checkbox" role="switch"
                        prop:checked=move || naive_mode.get()
                        on:change=move |ev| naive_mode.set(event_target_checked(&ev))/>
                    "Naive interceptor"
                </label>
                <label class="switch">
                    <input type="checkbox" role="switch"
                        checked=true
                        prop:checked=move || faults.get().grace_window
                        on:change=move |ev| toggle_grace(event_target_checked(&ev))/>
                    "Grace window"
                </label>
                <label>
                    "Burst size "
                    <select on:change=move |ev| {
                        burst_size.set(event_target_value(&ev).parse().unwrap_or(BURST_SIZE))
                    }>
                        <option value=BURST_SIZE.to_string() selected=true>{BURST_SIZE}</option>
                        <option value=LARGE_BURST_SIZE.to_string()>{LARGE_BURST_SIZE}</option>
                    </select>
                </label>
            </div>
            <p class="status" role="status" data-testid="demo-status">{move || status.get()}</p>
        </section>
    }
}
