//! The waterfall: every protected request of the latest run as a row of phases on a time axis,
//! and the refresh calls in their own lane, drawn as SVG from the flow log once per frame.
//!
//! Colour is never the only cue: a refused attempt is hatched, a wait is a thin dotted bar, a
//! final answer ends in a circle (success) or a cross (failure), and an adopted refresh is an
//! outline. Every bar group is focusable and says what it is in words.

pub mod layout;
pub mod svg;

use leptos::prelude::*;

use self::layout::Layout;
use super::{flow_log::use_flow_log, numbers::Tenths};
use crate::auth::use_auth;

#[component]
pub fn Waterfall() -> impl IntoView {
    let auth = use_auth();
    let log = use_flow_log();
    let layout = Memo::new(move |_| {
        log.frame.track();
        let first_seq = log.run.with(|run| run.first_seq);
        let now = auth.now_ms();
        log.timeline.with_untracked(|timeline| {
            let run = timeline.iter().filter(|entry| entry.seq >= first_seq);
            Layout::build(run, now)
        })
    });
    // While something is on the wire, its bar keeps growing.
    Effect::new(move |_| {
        if layout.with(|layout| layout.pending) {
            log.next_frame();
        }
    });
    let detail = RwSignal::new(String::new());
    // One listener for every bar: the focused or hovered group carries its sentence.
    let show = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let group = ev
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .and_then(|element| element.closest("g[data-detail]").ok().flatten());
            if let Some(text) = group.and_then(|g| g.get_attribute("data-detail")) {
                detail.set(text);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let label = move || layout.with(|layout| layout.summary());
    view! {
        <figure class="waterfall">
            <figcaption>
                <strong>{move || log.run.with(|run| run.label.clone())}</strong>
                " · "
                <span data-testid="waterfall-summary">{label}</span>
            </figcaption>
            <svg
                role="img"
                aria-label=label
                data-testid="waterfall"
                data-pending=move || layout.with(|layout| layout.pending.to_string())
                viewBox=move || format!("0 0 {} {}", Tenths(svg::WIDTH), Tenths(layout.with(svg::height)))
                on:focusin=move |ev| show(ev.into())
                on:mouseover=move |ev| show(ev.into())
                inner_html=move || layout.with(svg::markup)
            ></svg>
            <p class="waterfall-detail" aria-live="polite" data-testid="waterfall-detail">
                {move || {
                    let text = detail.get();
                    if text.is_empty() { "Hover over or focus a bar for its details.".to_owned() } else { text }
                }}
            </p>
            <Legend/>
        </figure>
    }
}

/// What each mark means, in words and with the same shapes (static, trusted markup; the
/// hatchings are the chart's patterns, one document-wide id each).
const LEGEND: &str = concat!(
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-pending" width="28" height="12" y="1"/></svg>on the wire</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-401" width="28" height="12" y="1"/></svg>answered 401 (hatched)</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-wait" width="28" height="4" y="5"/></svg>waiting for a refresh (thin)</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-ok" width="28" height="12" y="1"/></svg>answered 2xx, ends in a circle</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-fail" width="28" height="12" y="1"/></svg>failed, ends in a cross</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-refresh wf-refresh-ok" width="28" height="12" y="1"/></svg>refresh call</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-refresh wf-adopted" width="28" height="12" y="1"/></svg>token adopted from another tab (outline)</li>"#,
    r#"<li><svg aria-hidden="true" width="28" height="14"><rect class="wf-refresh wf-refresh-failed" width="28" height="12" y="1"/></svg>refresh refused</li>"#,
);

#[component]
fn Legend() -> impl IntoView {
    view! { <ul class="waterfall-legend" aria-label="Legend" inner_html=LEGEND></ul> }
}
