//! Buttons that make the failure modes happen: an expired token, a revoked session, a burst of
//! parallel requests, latency and a failing refresh endpoint.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::{
        demo::{paths as demo_paths, DemoFaults},
        resources::{paths, Item},
    },
    auth::use_auth,
    components::flow_log::use_flow_log,
};

/// Requests fired by "Burst requests".
pub const BURST_SIZE: usize = 20;

#[component]
pub fn DemoControls() -> impl IntoView {
    let auth = use_auth();
    let counters = use_flow_log().counters;
    let status = RwSignal::new(String::new());
    let faults = RwSignal::new(DemoFaults::default());
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
    let burst = move |_| {
        spawn_local(async move {
            status.set(format!("Firing {BURST_SIZE} requests…"));
            let refreshes_before = counters.get_untracked().refreshes;
            let requests = (0..BURST_SIZE).map(|_| auth.get_json::<Vec<Item>>(paths::ITEMS));
            let results = futures::future::join_all(requests).await;
            let ok = results.iter().filter(|result| result.is_ok()).count();
            let refreshes = counters.get_untracked().refreshes - refreshes_before;
            status.set(format!(
                "{ok}/{BURST_SIZE} succeeded · {refreshes} refresh{}",
                if refreshes == 1 { "" } else { "es" }
            ));
        })
    };
    // The session's faults, posted whole on every change, so one switch never resets another.
    let set_faults = move |change: fn(&mut DemoFaults), done: &'static str| {
        faults.update(change);
        let body = faults.get_untracked();
        spawn_local(async move {
            let result = auth.post_json(demo_paths::FAULTS, &body).await;
            report(result, done);
        })
    };
    let toggle_latency = move |_| {
        let slow = faults.get_untracked().latency_ms == 0;
        if slow {
            set_faults(|f| f.latency_ms = 1000, "API calls now take 1 s longer.");
        } else {
            set_faults(|f| f.latency_ms = 0, "Latency removed.");
        }
    };
    let fail_refresh = move |_| {
        set_faults(
            |f| f.failing_refreshes = 2,
            "The next 2 refresh calls will answer 503.",
        )
    };
    view! {
        <section class="card controls" aria-label="Demo controls">
            <h2>"Demo controls"</h2>
            <div class="buttons">
                <button type="button" on:click=expire>"Expire access token"</button>
                <button type="button" on:click=burst>"Burst requests"</button>
                <button type="button" on:click=move |_| auth.reload()>"Reload data"</button>
                <button type="button" on:click=fail_refresh>"Fail next refresh"</button>
                <button type="button" aria-pressed=move || (faults.get().latency_ms > 0).to_string() on:click=toggle_latency>
                    "Slow API"
                </button>
                <button type="button" class="danger" on:click=revoke>"Revoke session"</button>
            </div>
            <p class="status" role="status" data-testid="demo-status">{move || status.get()}</p>
        </section>
    }
}
