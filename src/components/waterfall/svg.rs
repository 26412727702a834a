//! The waterfall's SVG content as one markup string, built from a [`Layout`] in plain Rust.
//!
//! A string rather than typed views: one `innerHTML` write per frame is cheaper than diffing
//! hundreds of nodes, the browser parses `<title>` as SVG (so tooltips work), and it keeps the
//! wasm bundle smaller (typed views for every bar cost ~45 KB of wasm). Every text that goes
//! into the markup is escaped.

use std::fmt::Write;

use super::layout::{Layout, Outcome, Phase, PhaseKind, RefreshBar, RefreshOutcome, Row};
use crate::components::{
    flow_log::FlowSource,
    numbers::{Tenths, Whole},
};

/// The SVG's user-space width; it scales to the card.
pub const WIDTH: f64 = 1000.0;
const AXIS: f64 = 22.0;
/// Rows share this height (each between the bounds below), so 20 or 40 rows fit the card.
const ROWS_HEIGHT: f64 = 320.0;
const ROW_MIN: f64 = 8.0;
const ROW_MAX: f64 = 16.0;
const LANE_HEADER: f64 = 26.0;
const LANE: f64 = 14.0;

/// Hatchings, so that refused and failed bars differ from the others without colour.
const PATTERNS: &str = concat!(
    r#"<defs><pattern id="wf-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">"#,
    r#"<rect class="wf-hatch-bg" width="6" height="6"/><line class="wf-hatch-line" x1="0" y1="0" x2="0" y2="6"/></pattern>"#,
    r#"<pattern id="wf-cross" width="6" height="6" patternUnits="userSpaceOnUse">"#,
    r#"<rect class="wf-cross-bg" width="6" height="6"/><path class="wf-hatch-line" d="M0 0L6 6M6 0L0 6"/></pattern></defs>"#,
);

/// The chart's height in user units.
pub fn height(layout: &Layout) -> f64 {
    rows_bottom(layout) + LANE_HEADER + LANE * layout.lanes as f64 + 4.0
}

fn row_height(layout: &Layout) -> f64 {
    (ROWS_HEIGHT / layout.rows.len().max(1) as f64).clamp(ROW_MIN, ROW_MAX)
}

fn rows_bottom(layout: &Layout) -> f64 {
    AXIS + row_height(layout) * layout.rows.len().max(1) as f64
}

/// Everything inside `<svg>`: patterns, axis, rows, the refresh lane.
pub fn markup(layout: &Layout) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(PATTERNS);
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let bottom = height(layout);
    for t in layout.ticks() {
        let at = x(layout.start_ms + t);
        let anchor = if at > WIDTH - 40.0 { "end" } else { "start" };
        let _ = write!(
            out,
            r#"<line class="wf-tick" x1="{at}" x2="{at}" y1="{}" y2="{}"/><text class="wf-axis" x="{}" y="{}" text-anchor="{anchor}">{} ms</text>"#,
            Tenths(AXIS - 4.0),
            Tenths(bottom),
            Tenths(at + 2.0),
            Tenths(AXIS - 8.0),
            Whole(t),
            at = Tenths(at),
        );
    }
    if layout.rows.is_empty() && layout.refreshes.is_empty() {
        let _ = write!(
            out,
            r#"<text class="wf-axis" x="8" y="{}">No requests yet.</text>"#,
            Tenths(AXIS + 14.0)
        );
    }
    let row_h = row_height(layout);
    for (index, row) in layout.rows.iter().enumerate() {
        row_markup(&mut out, layout, row, AXIS + index as f64 * row_h, row_h);
    }
    let lane_top = rows_bottom(layout) + LANE_HEADER;
    let _ = write!(
        out,
        r#"<text class="wf-lane-title" x="0" y="{}">Refresh calls</text>"#,
        Tenths(lane_top - 8.0)
    );
    for bar in &layout.refreshes {
        refresh_markup(&mut out, layout, bar, lane_top + bar.lane as f64 * LANE);
    }
    out
}

fn row_markup(out: &mut String, layout: &Layout, row: &Row, top: f64, row_h: f64) {
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let bar_h = row_h * 0.75;
    let detail = escape(&row.detail);
    let _ = write!(
        out,
        r#"<g class="wf-row" data-testid="waterfall-row" data-requests="{}" data-detail="{detail}" tabindex="0"><title>{detail}</title>"#,
        row.requests
    );
    for phase in &row.phases {
        let (class, thin) = phase_class(phase);
        let h = if thin { bar_h * 0.4 } else { bar_h };
        let width = (x(phase.end_ms) - x(phase.start_ms)).max(2.0);
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}"/>"#,
            Tenths(x(phase.start_ms)),
            Tenths(top + (row_h - h) / 2.0),
            Tenths(width),
            Tenths(h),
        );
    }
    let end = row.phases.last().map_or(0.0, |phase| x(phase.end_ms));
    let (cx, cy, r) = (end + bar_h / 2.0 + 2.0, top + row_h / 2.0, bar_h / 2.5);
    // A group ends in a cross if any of its requests failed.
    let failed = row
        .outcomes
        .iter()
        .find(|(outcome, _)| !matches!(outcome, Outcome::Status(s) if *s < 400));
    match failed.or(row.outcomes.first()).map(|(outcome, _)| *outcome) {
        Some(Outcome::Status(status)) if status < 400 => {
            let _ = write!(
                out,
                r#"<circle class="wf-done-ok" cx="{}" cy="{}" r="{}"/>"#,
                Tenths(cx),
                Tenths(cy),
                Tenths(r)
            );
        }
        Some(Outcome::Status(_) | Outcome::Failed) => {
            let _ = write!(
                out,
                r#"<path class="wf-done-fail" d="M{} {}L{} {}M{} {}L{} {}"/>"#,
                Tenths(cx - r),
                Tenths(cy - r),
                Tenths(cx + r),
                Tenths(cy + r),
                Tenths(cx - r),
                Tenths(cy + r),
                Tenths(cx + r),
                Tenths(cy - r)
            );
        }
        _ => {}
    }
    out.push_str("</g>");
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

fn refresh_markup(out: &mut String, layout: &Layout, bar: &RefreshBar, top: f64) {
    let x = |ms: f64| layout.x(ms) * WIDTH;
    let class = match (bar.source, bar.outcome) {
        (_, RefreshOutcome::Pending) => "wf-refresh wf-pending",
        (_, RefreshOutcome::Adopted(_)) => "wf-refresh wf-adopted",
        (_, RefreshOutcome::Failed(_)) => "wf-refresh wf-refresh-failed",
        (FlowSource::Coordinator, RefreshOutcome::Got(_)) => "wf-refresh wf-refresh-ok",
        (FlowSource::Naive, RefreshOutcome::Got(_)) => "wf-refresh wf-refresh-ok wf-naive",
    };
    let (start, width) = (x(bar.start_ms), (x(bar.end_ms) - x(bar.start_ms)).max(3.0));
    let detail = escape(&bar.detail);
    let _ = write!(
        out,
        r#"<g class="wf-refresh-bar" data-testid="refresh-bar" data-served="{}" data-waiters="{}" data-detail="{detail}" tabindex="0"><title>{detail}</title><rect class="{class}" x="{}" y="{}" width="{}" height="{}"/>"#,
        bar.served,
        bar.waiters,
        Tenths(start),
        Tenths(top + 1.0),
        Tenths(width),
        Tenths(LANE - 2.0),
    );
    // A label inside the bar when there is room: which refresh, how many it served.
    if width > 90.0 {
        let _ = write!(
            out,
            r#"<text class="wf-bar-label" x="{}" y="{}">#{} · served {}</text>"#,
            Tenths(start + 4.0),
            Tenths(top + LANE - 4.0),
            bar.id,
            bar.served
        );
    }
    out.push_str("</g>");
}

/// Escapes text for an attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::coordinator::AuthEvent,
        components::flow_log::{FlowSource, TimelineEntry},
    };

    fn entry(seq: u64, at_ms: f64, event: AuthEvent) -> TimelineEntry {
        TimelineEntry {
            seq,
            at_ms,
            source: FlowSource::Coordinator,
            event,
        }
    }

    #[test]
    fn one_group_per_row_and_per_refresh_with_escaped_details() {
        let entries = [
            entry(
                0,
                0.0,
                AuthEvent::RequestSent {
                    request_id: 1,
                    path: "/api/items?a=<b>&c=\"d\"".into(),
                    token_version: 1,
                    retry: false,
                },
            ),
            entry(
                1,
                5.0,
                AuthEvent::Responded {
                    request_id: 1,
                    status: 200,
                },
            ),
        ];
        let layout = Layout::build(&entries, 5.0);
        let svg = markup(&layout);
        assert_eq!(svg.matches(r#"data-testid="waterfall-row""#).count(), 1);
        assert_eq!(svg.matches(r#"data-testid="refresh-bar""#).count(), 0);
        assert!(svg.contains("/api/items?a=&lt;b&gt;&amp;c=&quot;d&quot;"));
        assert!(!svg.contains("<b>"));
        assert!(
            svg.contains(r#"class="wf-done-ok""#),
            "a success ends in a circle"
        );
    }

    #[test]
    fn an_empty_run_says_so() {
        let layout = Layout::build(&[], 0.0);
        assert!(markup(&layout).contains("No requests yet."));
    }
}
