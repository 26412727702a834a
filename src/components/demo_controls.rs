//! Buttons that make the failure modes happen: an expired token, a revoked session, a burst of
//! parallel REST requests or server-function calls, latency and a failing refresh endpoint.

use futures::future::{join_all, FutureExt, LocalBoxFuture};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::{
        demo::{paths as demo_paths, DemoFaults},
        resources::{paths, Item},
    },
    auth::use_auth,
    components::flow_log::use_flow_log,
    server_fns::load_items,
};

/// Requests fired by "Burst requests".
pub const BURST_SIZE: usize = 20;

#[component]
pub fn DemoControls() -> impl IntoView {
    let auth = use_auth();
    let counters = use_flow_log().counters;
    let status = RwSignal::new(String::new());
    let slow_api = RwSignal::new(false);
    let report = move |result: Result<(), crate::auth::AuthError>, done: &str| match result {
        Ok(()) => status.set(done.to_owned()),
        Err(error) => status.set(format!("Failed: {error}")),
    };
    let expire = move |_| {
        spawn_local(async move {
            let result = auth.post_json(demo_paths::EXPIRE_ACCESS, &()).await;
            report(
                result,
                "Access token expired on the server. The next request will get a 401.",
            );
        })
    };
    let revoke = move |_| {
        spawn_local(async move {
            let result = auth.post_json(demo_paths::REVOKE_SESSION, &()).await;
            report(result, "Session revoked. Reloading data…");
            auth.reload();
        })
    };
    // Fires `calls` at once and reports how many succeeded and how many refresh calls they cost.
    let burst_of = move |what: &'static str, calls: Vec<LocalBoxFuture<'static, bool>>| {
        spawn_local(async move {
            status.set(format!("Firing {BURST_SIZE} {what}…"));
            let refreshes_before = counters.get_untracked().refreshes;
            let ok = join_all(calls).await.into_iter().filter(|ok| *ok).count();
            let refreshes = counters.get_untracked().refreshes - refreshes_before;
            status.set(format!(
                "{ok}/{BURST_SIZE} succeeded · {refreshes} refresh{}",
                if refreshes == 1 { "" } else { "es" }
            ));
        })
    };
    let burst = move |_| {
        let calls = (0..BURST_SIZE)
            .map(|_| {
                let call = auth.get_json::<Vec<Item>>(paths::ITEMS);
                async move { call.await.is_ok() }.boxed_local()
            })
            .collect();
        burst_of("requests", calls);
    };
    let burst_server_fns = move |_| {
        let calls = (0..BURST_SIZE)
            .map(|_| async { load_items().await.is_ok() }.boxed_local())
            .collect();
        burst_of("server function calls", calls);
    };
    let set_faults = move |faults: DemoFaults, done: &'static str| {
        spawn_local(async move {
            let result = auth.post_json(demo_paths::FAULTS, &faults).await;
            report(result, done);
        })
    };
    let toggle_latency = move |_| {
        let slow = !slow_api.get_untracked();
        slow_api.set(slow);
        let faults = DemoFaults {
            latency_ms: if slow { 1000 } else { 0 },
            failing_refreshes: 0,
        };
        set_faults(
            faults,
            if slow {
                "API calls now take 1 s longer."
            } else {
                "Latency removed."
            },
        );
    };
    let fail_refresh = move |_| {
        let latency_ms = if slow_api.get_untracked() { 1000 } else { 0 };
        let faults = DemoFaults {
            latency_ms,
            failing_refreshes: 2,
        };
        set_faults(faults, "The next 2 refresh calls will answer 503.");
    };
    view! {
        <section class="card controls" aria-label="Demo controls">
            <h2>"Demo controls"</h2>
            <div class="buttons">
                <button type="button" on:click=expire>"Expire access token"</button>
                <button type="button" on:click=burst>"Burst requests"</button>
                <button type="button" on:click=burst_server_fns>"Burst server functions"</button>
                <button type="button" on:click=move |_| auth.reload()>"Reload data"</button>
                <button type="button" on:click=fail_refresh>"Fail next refresh"</button>
                <button type="button" aria-pressed=move || slow_api.get().to_string() on:click=toggle_latency>
                    "Slow API"
                </button>
                <button type="button" class="danger" on:click=revoke>"Revoke session"</button>
            </div>
            <p class="status" role="status" data-testid="demo-status">{move || status.get()}</p>
        </section>
    }
}
