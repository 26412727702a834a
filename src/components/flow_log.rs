//! The demo's record of the auth flow: a timeline and running totals, built by subscribing to the
//! coordinator's event stream. It is demo state, so it lives here and not in the auth context.
//!
//! The naive interceptor (`components::naive`) records into the same log with the same event
//! shapes, marked with its [`FlowSource`], so the waterfall draws both strategies one way.

use std::collections::VecDeque;

use leptos::prelude::*;

use crate::auth::{
    coordinator::{AuthEvent, RefreshFailureKind},
    AuthContext,
};

/// The timeline keeps this many entries; older ones scroll away. A naive 200-request burst makes
/// about 1,800 events, so one whole run always fits.
const TIMELINE_CAPACITY: usize = 4_000;

/// Who made the request or the refresh call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowSource {
    /// The auth client's coordinator (the fix).
    Coordinator,
    /// The demo's naive interceptor (the original bug, bounded).
    Naive,
}

/// One line of the inspector's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub seq: u64,
    /// On the auth clock ([`AuthContext::now_ms`]), like the token's expiry.
    pub at_ms: f64,
    pub source: FlowSource,
    pub event: AuthEvent,
}

/// What the waterfall draws: the entries from `first_seq` on (the latest burst, or everything
/// since the page loaded).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub label: String,
    pub first_seq: u64,
}

/// Running totals for the inspector, counted from the event stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounters {
    /// Protected requests started (retries not counted again).
    pub requests: u64,
    pub unauthorized: u64,
    /// Refresh calls that went over the network.
    pub refreshes: u64,
    pub retries: u64,
}

impl FlowCounters {
    /// Adds one event to the totals.
    pub fn count(&mut self, event: &AuthEvent) {
        match event {
            AuthEvent::RequestSent { retry: false, .. } => self.requests += 1,
            AuthEvent::Unauthorized { .. } => self.unauthorized += 1,
            AuthEvent::RefreshSucceeded { adopted: false, .. } => self.refreshes += 1,
            AuthEvent::RefreshFailed { kind, .. } if *kind != RefreshFailureKind::NoSession => {
                self.refreshes += 1
            }
            AuthEvent::Retried { .. } => self.retries += 1,
            _ => {}
        }
    }
}

/// How often views drawn from the timeline are brought up to date: a burst makes hundreds of
/// events in a few milliseconds, and redrawing per event would stall the page.
#[cfg(feature = "hydrate")]
const FRAME: std::time::Duration = std::time::Duration::from_millis(50);

/// The timeline and totals, shared by the inspector and the demo controls. `Copy`.
///
/// The timeline changes on every event; views drawn from it track [`FlowLog::frame`] instead and
/// read the timeline untracked, so they redraw at most once per frame.
#[derive(Clone, Copy)]
pub struct FlowLog {
    pub timeline: RwSignal<VecDeque<TimelineEntry>>,
    pub counters: RwSignal<FlowCounters>,
    pub run: RwSignal<Run>,
    /// Bumped at most once per frame after the timeline changed.
    pub frame: RwSignal<u64>,
    #[cfg(feature = "hydrate")]
    frame_scheduled: StoredValue<bool>,
}

/// Subscribes to `auth`'s events and provides the log. Call once, after `provide_auth`.
pub fn provide_flow_log(auth: AuthContext) -> FlowLog {
    let log = FlowLog {
        timeline: RwSignal::new(VecDeque::new()),
        counters: RwSignal::new(FlowCounters::default()),
        run: RwSignal::new(Run {
            label: "Since the page loaded".to_owned(),
            first_seq: 0,
        }),
        frame: RwSignal::new(0),
        #[cfg(feature = "hydrate")]
        frame_scheduled: StoredValue::new(false),
    };
    auth.subscribe(move |event| log.record(FlowSource::Coordinator, auth.now_ms(), event));
    provide_context(log);
    log
}

pub fn use_flow_log() -> FlowLog {
    expect_context::<FlowLog>()
}

impl FlowLog {
    /// Adds one event to the timeline and the totals.
    pub fn record(self, source: FlowSource, at_ms: f64, event: &AuthEvent) {
        self.counters.update(|counters| counters.count(event));
        self.timeline.update(|timeline| {
            let seq = timeline.back().map_or(0, |entry| entry.seq + 1);
            if timeline.len() == TIMELINE_CAPACITY {
                timeline.pop_front();
            }
            timeline.push_back(TimelineEntry {
                seq,
                at_ms,
                source,
                event: event.clone(),
            });
        });
        self.next_frame();
    }

    /// Bumps [`FlowLog::frame`] once, a frame from now, however often it is called meanwhile
    /// (also by a view that is still animating something on the wire).
    pub fn next_frame(self) {
        #[cfg(feature = "hydrate")]
        if !self.frame_scheduled.get_value() {
            self.frame_scheduled.set_value(true);
            set_timeout(
                move || {
                    self.frame_scheduled.set_value(false);
                    self.frame.update(|n| *n += 1);
                },
                FRAME,
            );
        }
    }

    /// Starts a new run: the waterfall draws only what happens from now on.
    pub fn begin_run(self, label: impl Into<String>) {
        let first_seq = self
            .timeline
            .with_untracked(|timeline| timeline.back().map_or(0, |entry| entry.seq + 1));
        self.run.set(Run {
            label: label.into(),
            first_seq,
        });
        self.next_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_requests_401s_network_refreshes_and_retries() {
        let events = [
            AuthEvent::RequestSent {
                request_id: 1,
                path: "/a".into(),
                token_version: 1,
                retry: false,
            },
            AuthEvent::Unauthorized {
                request_id: 1,
                token_version: 1,
            },
            AuthEvent::RefreshSucceeded {
                refresh_id: 1,
                token_version: 2,
                expires_in_ms: 1,
                waiters: vec![1],
                adopted: false,
            },
            AuthEvent::RefreshSucceeded {
                refresh_id: 2,
                token_version: 3,
                expires_in_ms: 1,
                waiters: vec![],
                adopted: true,
            },
            AuthEvent::RefreshFailed {
                refresh_id: 3,
                kind: RefreshFailureKind::NoSession,
                waiters: vec![],
            },
            AuthEvent::Retried {
                request_id: 1,
                with_refresh: true,
            },
            AuthEvent::RequestSent {
                request_id: 1,
                path: "/a".into(),
                token_version: 2,
                retry: true,
            },
        ];
        let mut counters = FlowCounters::default();
        events.iter().for_each(|event| counters.count(event));
        let expected = FlowCounters {
            requests: 1,
            unauthorized: 1,
            refreshes: 1,
            retries: 1,
        };
        assert_eq!(counters, expected);
    }
}
