//! The waterfall's geometry, as plain data: one row per protected request (or per group of
//! requests when a burst is large), its phases on a time axis, and a lane per overlapping refresh
//! call. No Leptos and no browser here, so every rule is unit-tested natively.

use std::collections::{HashMap, HashSet};

use crate::{
    auth::coordinator::{AuthEvent, RefreshFailureKind, RefreshReason},
    components::{
        flow_log::{FlowCounters, FlowSource, TimelineEntry},
        numbers::Whole,
    },
};

/// More requests than this are drawn in groups of consecutive requests, so a 200-request burst
/// is as tall as a 40-request one and never overflows the card.
pub const MAX_ROWS: usize = 40;
/// Overlapping refresh calls get a lane each, up to this many; more share the lane that frees
/// first (a naive burst of 200 refreshes stays a band, not a wall).
pub const MAX_LANES: usize = 10;

/// One phase of a request, a bar on its row.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub kind: PhaseKind,
    pub start_ms: f64,
    pub end_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhaseKind {
    /// On the wire with token `vN`; `status` once it answered (`None`: pending or no answer).
    Attempt {
        token_version: u64,
        retry: bool,
        status: Option<u16>,
    },
    /// Waiting for refresh `refresh_id`.
    Waiting { refresh_id: u64 },
}

/// How a request ended (so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Status(u16),
    /// No answer (network), or its refresh failed so it was never retried.
    Failed,
}

/// One request as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub source: FlowSource,
    pub id: u64,
    pub path: String,
    pub phases: Vec<Phase>,
    pub outcome: Outcome,
}

/// One drawn row: a request, or a group of consecutive requests (their phases merged per kind).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Requests on this row (1 unless grouped).
    pub requests: usize,
    pub phases: Vec<Phase>,
    /// How many of the row's requests ended in each outcome, in order of first appearance.
    pub outcomes: Vec<(Outcome, usize)>,
    /// A sentence for the tooltip and the focus line.
    pub detail: String,
}

/// How a refresh call ended (so far).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    Pending,
    /// A new token `vN` from the server.
    Got(u64),
    /// Token `vN` was adopted from another tab (or a sign-in): no call was made.
    Adopted(u64),
    Failed(RefreshFailureKind),
}

/// One refresh, a bar in the refresh lane.
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshBar {
    pub source: FlowSource,
    pub id: u64,
    pub reason: RefreshReason,
    pub start_ms: f64,
    pub end_ms: f64,
    pub lane: usize,
    pub outcome: RefreshOutcome,
    /// Requests that waited for it.
    pub waiters: usize,
    /// Requests it served: its waiters, and the requests whose retry carried its token (their
    /// 401 came back after it had landed, so they retried without waiting).
    pub served: usize,
    pub detail: String,
}

/// Everything the SVG needs for one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub start_ms: f64,
    pub end_ms: f64,
    pub rows: Vec<Row>,
    /// Requests per row (1 = not grouped).
    pub group_size: usize,
    pub refreshes: Vec<RefreshBar>,
    pub lanes: usize,
    /// The run's totals, counted exactly as the inspector's counters are.
    pub counters: FlowCounters,
    /// Something is still on the wire: the caller keeps redrawing.
    pub pending: bool,
}

impl Layout {
    /// Builds the layout of `entries` (one run); open bars end at `now_ms`.
    pub fn build<'a>(entries: impl IntoIterator<Item = &'a TimelineEntry>, now_ms: f64) -> Self {
        let mut builder = Builder::default();
        for entry in entries {
            builder.add(entry);
        }
        builder.finish(now_ms)
    }

    /// "20 requests, 1 refresh, 20 retries": the chart's accessible name.
    pub fn summary(&self) -> String {
        summary(&self.counters)
    }

    /// `ms` as a fraction of the time axis (0..=1).
    pub fn x(&self, ms: f64) -> f64 {
        let span = self.end_ms - self.start_ms;
        if span <= 0.0 {
            return 0.0;
        }
        ((ms - self.start_ms) / span).clamp(0.0, 1.0)
    }

    /// Tick marks for the time axis, as milliseconds since the start.
    pub fn ticks(&self) -> Vec<f64> {
        ticks(self.end_ms - self.start_ms)
    }
}

/// The counters as a sentence, with plurals.
pub fn summary(counters: &FlowCounters) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {}",
        plural(counters.requests, "request", "requests"),
        plural(counters.refreshes, "refresh", "refreshes"),
        plural(counters.retries, "retry", "retries"),
    )
}

/// Round tick steps (1, 2, 5 × 10^k ms), at most six steps over `span_ms`, starting at 0: few
/// enough that their labels never collide.
pub fn ticks(span_ms: f64) -> Vec<f64> {
    if span_ms <= 0.0 || !span_ms.is_finite() {
        return vec![0.0];
    }
    let mut magnitude = 1.0;
    while span_ms / magnitude > 60.0 {
        magnitude *= 10.0;
    }
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| span_ms / step <= 6.0)
        .unwrap_or(10.0 * magnitude);
    (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= span_ms)
        .collect()
}

type Key = (FlowSource, u64);

#[derive(Default)]
struct Builder {
    start_ms: Option<f64>,
    last_ms: f64,
    requests: Vec<Request>,
    request_index: HashMap<Key, usize>,
    refreshes: Vec<RefreshBar>,
    refresh_index: HashMap<Key, usize>,
    /// The refresh each waiting request waits for.
    waiting_on: HashMap<Key, u64>,
    /// The requests that waited for each refresh.
    served: HashMap<Key, Vec<u64>>,
    counters: FlowCounters,
}

impl Builder {
    fn add(&mut self, entry: &TimelineEntry) {
        let (at, source) = (entry.at_ms, entry.source);
        self.start_ms.get_or_insert(at);
        self.last_ms = self.last_ms.max(at);
        self.counters.count(&entry.event);
        match &entry.event {
            AuthEvent::RequestSent {
                request_id,
                path,
                token_version,
                retry,
            } => {
                let key = (source, *request_id);
                if !retry {
                    self.request_index.insert(key, self.requests.len());
                    self.requests.push(Request {
                        source,
                        id: *request_id,
                        path: path.clone(),
                        phases: Vec::new(),
                        outcome: Outcome::Pending,
                    });
                }
                let attempt = PhaseKind::Attempt {
                    token_version: *token_version,
                    retry: *retry,
                    status: None,
                };
                self.open(key, attempt, at);
            }
            AuthEvent::Responded { request_id, status } => {
                self.close(
                    (source, *request_id),
                    at,
                    Some(*status),
                    Outcome::Status(*status),
                );
            }
            AuthEvent::RequestFailed { request_id, .. } => {
                self.close((source, *request_id), at, None, Outcome::Failed);
            }
            AuthEvent::WaiterJoined {
                request_id,
                refresh_id,
            } => {
                let key = (source, *request_id);
                self.waiting_on.insert(key, *refresh_id);
                let waiting = PhaseKind::Waiting {
                    refresh_id: *refresh_id,
                };
                self.open(key, waiting, at);
            }
            AuthEvent::Retried { request_id, .. } => {
                let key = (source, *request_id);
                if let Some(refresh_id) = self.waiting_on.remove(&key) {
                    self.served
                        .entry((source, refresh_id))
                        .or_default()
                        .push(key.1);
                }
                self.close(key, at, None, Outcome::Pending);
            }
            AuthEvent::RefreshStarted { refresh_id, reason } => {
                self.refresh_index
                    .insert((source, *refresh_id), self.refreshes.len());
                self.refreshes.push(RefreshBar {
                    source,
                    id: *refresh_id,
                    reason: *reason,
                    start_ms: at,
                    end_ms: at,
                    lane: 0,
                    outcome: RefreshOutcome::Pending,
                    waiters: 0,
                    served: 0,
                    detail: String::new(),
                });
            }
            AuthEvent::RefreshSucceeded {
                refresh_id,
                token_version,
                waiters,
                adopted,
                ..
            } => {
                let outcome = if *adopted {
                    RefreshOutcome::Adopted(*token_version)
                } else {
                    RefreshOutcome::Got(*token_version)
                };
                self.end_refresh((source, *refresh_id), at, outcome, waiters.len());
            }
            AuthEvent::RefreshFailed {
                refresh_id,
                kind,
                waiters,
            } => {
                self.end_refresh(
                    (source, *refresh_id),
                    at,
                    RefreshOutcome::Failed(*kind),
                    waiters.len(),
                );
                // Its waiters are never retried: their wait is their last phase.
                for waiter in waiters {
                    let key = (source, *waiter);
                    if self.waiting_on.remove(&key).is_some() {
                        self.close(key, at, None, Outcome::Failed);
                    }
                }
            }
            _ => {}
        }
    }

    /// Ends the request's open phase (if any) at `at` and starts `kind`.
    fn open(&mut self, key: Key, kind: PhaseKind, at: f64) {
        let Some(&index) = self.request_index.get(&key) else {
            return; // started before this run
        };
        let request = &mut self.requests[index];
        if let Some(open) = request.phases.last_mut().filter(|p| p.end_ms.is_nan()) {
            open.end_ms = at;
        }
        request.phases.push(Phase {
            kind,
            start_ms: at,
            end_ms: f64::NAN,
        });
    }

    /// Ends the open phase; an attempt records `status`. `outcome` replaces the request's
    /// outcome unless it is `Pending`.
    fn close(&mut self, key: Key, at: f64, status: Option<u16>, outcome: Outcome) {
        let Some(&index) = self.request_index.get(&key) else {
            return;
        };
        let request = &mut self.requests[index];
        if let Some(open) = request.phases.last_mut().filter(|p| p.end_ms.is_nan()) {
            open.end_ms = at;
            if let PhaseKind::Attempt { status: slot, .. } = &mut open.kind {
                *slot = status;
            }
        }
        if outcome != Outcome::Pending {
            request.outcome = outcome;
        }
    }

    fn end_refresh(&mut self, key: Key, at: f64, outcome: RefreshOutcome, waiters: usize) {
        if let Some(&index) = self.refresh_index.get(&key) {
            let bar = &mut self.refreshes[index];
            bar.end_ms = at;
            bar.outcome = outcome;
            bar.waiters = waiters;
        }
    }

    fn finish(mut self, now_ms: f64) -> Layout {
        let end_ms = now_ms.max(self.last_ms);
        let mut pending = false;
        for request in &mut self.requests {
            for phase in &mut request.phases {
                if phase.end_ms.is_nan() {
                    phase.end_ms = end_ms;
                    pending = true;
                }
            }
        }
        for bar in &mut self.refreshes {
            if bar.outcome == RefreshOutcome::Pending {
                bar.end_ms = end_ms;
                pending = true;
            }
        }
        self.count_served();
        let lanes = assign_lanes(&mut self.refreshes);
        let group_size = self.requests.len().div_ceil(MAX_ROWS).max(1);
        let rows = self
            .requests
            .chunks(group_size)
            .map(row_of)
            .collect::<Vec<_>>();
        Layout {
            start_ms: self.start_ms.unwrap_or(end_ms),
            end_ms,
            rows,
            group_size,
            refreshes: self.refreshes,
            lanes,
            counters: self.counters,
            pending,
        }
    }

    /// A refresh served its waiters and every request of its source whose retry carried the
    /// token it produced.
    fn count_served(&mut self) {
        for bar in &mut self.refreshes {
            let waited = self.served.get(&(bar.source, bar.id));
            let mut served: HashSet<u64> = waited.into_iter().flatten().copied().collect();
            if let RefreshOutcome::Got(version) | RefreshOutcome::Adopted(version) = bar.outcome {
                let carried = self.requests.iter().filter(|request| {
                    request.source == bar.source && request.phases.iter().any(|phase| {
                        matches!(phase.kind, PhaseKind::Attempt { token_version, retry: true, .. }
                                if token_version == version)
                    })
                });
                served.extend(carried.map(|request| request.id));
            }
            bar.served = served.len();
            bar.detail = refresh_detail(bar);
        }
    }
}

fn refresh_detail(bar: &RefreshBar) -> String {
    let who = match bar.source {
        FlowSource::Coordinator => "Refresh",
        FlowSource::Naive => "Naive refresh",
    };
    let how = match bar.outcome {
        RefreshOutcome::Pending => "on the wire".to_owned(),
        RefreshOutcome::Got(v) => format!("got token v{v} from the server"),
        RefreshOutcome::Adopted(v) => format!("adopted token v{v} from another tab, no call"),
        RefreshOutcome::Failed(RefreshFailureKind::SessionExpired) => {
            "refused: session ended".to_owned()
        }
        RefreshOutcome::Failed(RefreshFailureKind::NoSession) => "refused: no session".to_owned(),
        RefreshOutcome::Failed(RefreshFailureKind::UserChanged) => {
            "another user's token: signed in as someone else".to_owned()
        }
        RefreshOutcome::Failed(RefreshFailureKind::Transient) => {
            "failed for now, retrying later".to_owned()
        }
    };
    format!(
        "{who} {} ({}, {} ms): {how}; {} waiting, served {} request{}",
        bar.id,
        bar.reason,
        Whole(bar.end_ms - bar.start_ms),
        bar.waiters,
        bar.served,
        if bar.served == 1 { "" } else { "s" },
    )
}

/// Greedy interval partitioning: each bar takes the first lane free at its start; past
/// [`MAX_LANES`] it shares the lane that frees first. Returns the number of lanes used.
fn assign_lanes(bars: &mut [RefreshBar]) -> usize {
    // Bars are recorded as their refreshes start, so they are already in order of start.
    let mut lane_ends: Vec<f64> = Vec::new();
    for bar in bars.iter_mut() {
        let free = lane_ends.iter().position(|end| *end <= bar.start_ms);
        let lane = match free {
            Some(lane) => lane,
            None if lane_ends.len() < MAX_LANES => {
                lane_ends.push(bar.end_ms);
                lane_ends.len() - 1
            }
            None => (0..lane_ends.len())
                .min_by(|a, b| lane_ends[*a].total_cmp(&lane_ends[*b]))
                .unwrap_or(0),
        };
        lane_ends[lane] = lane_ends[lane].max(bar.end_ms);
        bar.lane = lane;
    }
    lane_ends.len().max(1)
}

/// One row for a chunk of consecutive requests: each phase kind spans from its earliest start
/// to its latest end among them.
fn row_of(chunk: &[Request]) -> Row {
    let mut outcomes: Vec<(Outcome, usize)> = Vec::new();
    for request in chunk {
        match outcomes.iter_mut().find(|(o, _)| *o == request.outcome) {
            Some((_, n)) => *n += 1,
            None => outcomes.push((request.outcome, 1)),
        }
    }
    let phases = match chunk {
        [single] => single.phases.clone(),
        _ => merged_phases(chunk),
    };
    let detail = match chunk {
        [single] => request_detail(single),
        [first, .., last] => format!(
            "Requests #{}–#{} ({}): {}",
            first.id,
            last.id,
            chunk.len(),
            outcome_text(&outcomes)
        ),
        [] => String::new(),
    };
    Row {
        requests: chunk.len(),
        phases,
        outcomes,
        detail,
    }
}

fn merged_phases(chunk: &[Request]) -> Vec<Phase> {
    let mut merged: Vec<Phase> = Vec::new();
    for phase in chunk.iter().flat_map(|request| &request.phases) {
        let kind = generic(&phase.kind);
        match merged.iter_mut().find(|m| m.kind == kind) {
            Some(m) => {
                m.start_ms = m.start_ms.min(phase.start_ms);
                m.end_ms = m.end_ms.max(phase.end_ms);
            }
            None => merged.push(Phase {
                kind,
                start_ms: phase.start_ms,
                end_ms: phase.end_ms,
            }),
        }
    }
    merged.sort_unstable_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    merged
}

/// A phase kind with the per-request details dropped (for merging a group), keeping what the
/// colour depends on: first attempt or retry, refused or not.
fn generic(kind: &PhaseKind) -> PhaseKind {
    match kind {
        PhaseKind::Attempt { retry, status, .. } => PhaseKind::Attempt {
            token_version: 0,
            retry: *retry,
            status: status.map(|s| if s == 401 { 401 } else { 200 }),
        },
        PhaseKind::Waiting { .. } => PhaseKind::Waiting { refresh_id: 0 },
    }
}

fn request_detail(request: &Request) -> String {
    let who = match request.source {
        FlowSource::Coordinator => "Request",
        FlowSource::Naive => "Naive request",
    };
    let steps = request
        .phases
        .iter()
        .map(|phase| match &phase.kind {
            PhaseKind::Attempt {
                token_version,
                retry,
                status,
            } => format!(
                "{} with token v{token_version} → {}",
                if *retry { "retried" } else { "sent" },
                status.map_or("…".to_owned(), |s| s.to_string()),
            ),
            PhaseKind::Waiting { refresh_id } => format!("waited for refresh {refresh_id}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{who} #{} {}: {steps}", request.id, request.path)
}

fn outcome_text(outcomes: &[(Outcome, usize)]) -> String {
    outcomes
        .iter()
        .map(|(outcome, n)| match outcome {
            Outcome::Pending => format!("{n} pending"),
            Outcome::Status(status) => format!("{n} × {status}"),
            Outcome::Failed => format!("{n} failed"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
