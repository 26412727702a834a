//! The demo's record of the auth flow: a timeline and running totals, built by subscribing to the
//! coordinator's event stream. It is demo state, so it lives here and not in the auth context.

use leptos::prelude::*;

use crate::auth::{
    coordinator::{AuthEvent, RefreshFailureKind},
    AuthContext,
};

/// The timeline keeps this many entries; older ones scroll away.
const TIMELINE_CAPACITY: usize = 300;

/// One line of the inspector's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub seq: u64,
    /// On the auth clock ([`AuthContext::now_ms`]), like the token's expiry.
    pub at_ms: f64,
    pub event: AuthEvent,
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

/// The timeline and totals, shared by the inspector and the demo controls. `Copy`.
#[derive(Clone, Copy)]
pub struct FlowLog {
    pub timeline: RwSignal<Vec<TimelineEntry>>,
    pub counters: RwSignal<FlowCounters>,
}

/// Subscribes to `auth`'s events and provides the log. Call once, after `provide_auth`.
pub fn provide_flow_log(auth: AuthContext) -> FlowLog {
    let log = FlowLog {
        timeline: RwSignal::new(Vec::new()),
        counters: RwSignal::new(FlowCounters::default()),
    };
    auth.subscribe(move |event| log.record(auth.now_ms(), event));
    provide_context(log);
    log
}

pub fn use_flow_log() -> FlowLog {
    expect_context::<FlowLog>()
}

impl FlowLog {
    fn record(self, at_ms: f64, event: &AuthEvent) {
        self.counters.update(|counters| counters.count(event));
        self.timeline.update(|timeline| {
            let seq = timeline.last().map_or(0, |entry| entry.seq + 1);
            if timeline.len() == TIMELINE_CAPACITY {
                timeline.remove(0);
            }
            timeline.push(TimelineEntry {
                seq,
                at_ms,
                event: event.clone(),
            });
        });
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
