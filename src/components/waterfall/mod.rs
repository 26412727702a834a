//! The waterfall: every protected request of the latest run as a row of phases on a time axis,
//! and the refresh calls in their own lane, drawn as SVG from the flow log once per frame.
//!
//! Colour is never the only cue: a refused attempt is hatched, a wait is a thin dotted bar, a
//! final answer ends in a circle (success) or a cross (failure), and an adopted refresh is an
//! outline. Every bar group is focusable and says what it is in words.

pub mod layout;

use leptos::prelude::*;

use self::layout::{Layout, Outcome, Phase, PhaseKind, RefreshBar, RefreshOutcome, Row};
use super::flow_log::{use_flow_log, FlowSource};
use crate::auth::use_auth;

/// The SVG's user-space width; it scales to the card.
const WIDTH: f64 = 1000.0;
const AXIS: f64 = 22.0;
/// Rows share this height (each between the bounds below), so 20 or 40 rows fit the card.
const ROWS_HEIGHT: f64 = 320.0;
const ROW_MIN: f64 = 8.0;
const ROW_MAX: f64 = 16.0;
const LANE_HEADER: f64 = 26.0;
const LANE: f64 = 14.0;

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
                viewBox=move || format!("0 0 {WIDTH} {}", layout.with(height))
            >
                <Patterns/>
                {move || layout.with(|layout| chart(layout, detail))}
            </svg>
            <p class="waterfall-detail" aria-live="polite" data-testid="waterfall-detail">
                {move || {
                    let text = detail.get();
                    if text.is_empty() { "Hover over or focus a bar for its details.".to_owned() } else { text }
                }}
            </p>
            <Legend/>
        </figure>
    }
    .into_any()
}

fn row_height(layout: &Layout) -> f64 {
    (ROWS_HEIGHT / layout.rows.len().max(1) as f64).clamp(ROW_MIN, ROW_MAX)
}

fn rows_bottom(layout: &Layout) -> f64 {
    AXIS + row_height(layout) * layout.rows.len().max(1) as f64
}

fn height(layout: &Layout) -> f64 {
    rows_bottom(layout) + LANE_HEADER + LANE * layout.lanes as f64 + 4.0
}

/// The chart's content for one layout: axis, rows, refresh lane.
fn chart(layout: &Layout, detail: RwSignal<String>) -> impl IntoView {
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let bottom = height(layout);
    let ticks = layout
        .ticks()
        .into_iter()
        .map(|t| {
            let at = x(layout.start_ms + t);
            let anchor = if at > WIDTH - 40.0 { "end" } else { "start" };
            view! {
                <line class="wf-tick" x1=at x2=at y1=AXIS - 4.0 y2=bottom/>
                <text class="wf-axis" x=at + 2.0 y=AXIS - 8.0 text-anchor=anchor>{format!("{t:.0} ms")}</text>
            }
        })
        .collect_view();
    let row_h = row_height(layout);
    let rows = layout
        .rows
        .iter()
        .enumerate()
        .map(|(index, row)| row_view(layout, row, AXIS + index as f64 * row_h, row_h, detail))
        .collect_view();
    let lane_top = rows_bottom(layout) + LANE_HEADER;
    let refreshes = layout
        .refreshes
        .iter()
        .map(|bar| refresh_view(layout, bar, lane_top + bar.lane as f64 * LANE, detail))
        .collect_view();
    let empty = layout.rows.is_empty() && layout.refreshes.is_empty();
    view! {
        {ticks}
        {empty.then(|| view! { <text class="wf-axis" x=8 y=AXIS + 14.0>"No requests yet."</text> })}
        {rows}
        <text class="wf-lane-title" x=0 y=lane_top - 8.0>"Refresh calls"</text>
        {refreshes}
    }
}

fn row_view(
    layout: &Layout,
    row: &Row,
    top: f64,
    row_h: f64,
    detail: RwSignal<String>,
) -> impl IntoView {
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let bar_h = row_h * 0.75;
    let phases = row
        .phases
        .iter()
        .map(|phase| {
            let (class, thin) = phase_class(phase);
            let h = if thin { bar_h * 0.4 } else { bar_h };
            let y = top + (row_h - h) / 2.0;
            let width = (x(phase.end_ms) - x(phase.start_ms)).max(2.0);
            view! { <rect class=class x=x(phase.start_ms) y=y width=width height=h/> }
        })
        .collect_view();
    let end = row.phases.last().map_or(0.0, |phase| x(phase.end_ms));
    let marker = match row.outcomes.first().map(|(outcome, _)| *outcome) {
        Some(Outcome::Status(status)) if status < 400 => {
            Some(view! { <circle class="wf-done-ok" cx=end + bar_h / 2.0 + 2.0 cy=top + row_h / 2.0 r=bar_h / 2.5/> }.into_any())
        }
        Some(Outcome::Status(_) | Outcome::Failed) => {
            let (cx, cy, r) = (end + bar_h / 2.0 + 2.0, top + row_h / 2.0, bar_h / 2.5);
            let d = format!("M{} {}L{} {}M{} {}L{} {}", cx - r, cy - r, cx + r, cy + r, cx - r, cy + r, cx + r, cy - r);
            Some(view! { <path class="wf-done-fail" d=d/> }.into_any())
        }
        _ => None,
    };
    let text = row.detail.clone();
    let hover = text.clone();
    view! {
        <g class="wf-row" data-testid="waterfall-row" data-requests=row.requests tabindex="0"
            on:focus=move |_| detail.set(text.clone())
            on:mouseenter=move |_| detail.set(hover.clone())>
            <title>{row.detail.clone()}</title>
            {phases}
            {marker}
        </g>
    }
}

/// The CSS class of a phase, and whether it is drawn thin (a wait).
fn phase_class(phase: &Phase) -> (&'static str, bool) {
    match phase.kind {
        PhaseKind::Waiting { .. } => ("wf-wait", true),
        PhaseKind::Attempt { status: None, .. } => ("wf-pending", false),
        PhaseKind::Attempt {
            status: Some(401), ..
        } => ("wf-401", false),
        PhaseKind::Attempt {
            status: Some(s), ..
        } if s < 400 => ("wf-ok", false),
        PhaseKind::Attempt { .. } => ("wf-fail", false),
    }
}

fn refresh_view(
    layout: &Layout,
    bar: &RefreshBar,
    top: f64,
    detail: RwSignal<String>,
) -> impl IntoView {
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let class = match (bar.source, bar.outcome) {
        (_, RefreshOutcome::Pending) => "wf-refresh wf-pending",
        (_, RefreshOutcome::Adopted(_)) => "wf-refresh wf-adopted",
        (_, RefreshOutcome::Failed(_)) => "wf-refresh wf-refresh-failed",
        (FlowSource::Coordinator, RefreshOutcome::Got(_)) => "wf-refresh wf-refresh-ok",
        (FlowSource::Naive, RefreshOutcome::Got(_)) => "wf-refresh wf-refresh-ok wf-naive",
    };
    let (start, width) = (x(bar.start_ms), (x(bar.end_ms) - x(bar.start_ms)).max(3.0));
    // A label inside the bar when there is room: which refresh, how many it served.
    let label = (width > 90.0).then(|| {
        view! { <text class="wf-bar-label" x=start + 4.0 y=top + LANE - 4.0>{format!("#{} · served {}", bar.id, bar.served)}</text> }
    });
    let text = bar.detail.clone();
    let hover = text.clone();
    view! {
        <g class="wf-refresh-bar" data-testid="refresh-bar" data-served=bar.served data-waiters=bar.waiters tabindex="0"
            on:focus=move |_| detail.set(text.clone())
            on:mouseenter=move |_| detail.set(hover.clone())>
            <title>{bar.detail.clone()}</title>
            <rect class=class x=start y=top + 1.0 width=width height=LANE - 2.0/>
            {label}
        </g>
    }
}

/// Hatchings, so that refused and failed bars differ from the others without colour.
#[component]
fn Patterns() -> impl IntoView {
    view! {
        <defs>
            <pattern id="wf-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                <rect class="wf-hatch-bg" width="6" height="6"/>
                <line class="wf-hatch-line" x1="0" y1="0" x2="0" y2="6"/>
            </pattern>
            <pattern id="wf-cross" width="6" height="6" patternUnits="userSpaceOnUse">
                <rect class="wf-cross-bg" width="6" height="6"/>
                <path class="wf-hatch-line" d="M0 0L6 6M6 0L0 6"/>
            </pattern>
        </defs>
    }
}

/// What each mark means, in words and with the same shapes.
#[component]
fn Legend() -> impl IntoView {
    let item = |class: &'static str, thin: bool, text: &'static str| {
        let (y, h) = if thin { (5.0, 4.0) } else { (1.0, 12.0) };
        view! {
            <li>
                <svg aria-hidden="true" width="28" height="14" viewBox="0 0 28 14"><rect class=class x="0" y=y width="28" height=h/></svg>
                {text}
            </li>
        }
    };
    view! {
        <ul class="waterfall-legend" aria-label="Legend">
            {item("wf-pending", false, "on the wire")}
            {item("wf-401", false, "answered 401 (hatched)")}
            {item("wf-wait", true, "waiting for a refresh (thin)")}
            {item("wf-ok", false, "answered 2xx, ends in a circle")}
            {item("wf-fail", false, "failed, ends in a cross")}
            {item("wf-refresh wf-refresh-ok", false, "refresh call")}
            {item("wf-refresh wf-adopted", false, "token adopted from another tab (outline)")}
            {item("wf-refresh wf-refresh-failed", false, "refresh refused")}
        </ul>
    }
    .into_any()
}
