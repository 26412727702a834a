//! The demo's fault switches as the refresh decision sees them: a seam ([`RefreshFaults`]) that
//! the registry asks, [`NoFaults`] unless the app hands it [`DemoFaultSwitches`] (the switches
//! `POST /api/demo/faults` sets). The family records know nothing of them. The switches live in
//! this instance's memory: behind a load balancer each instance has its own (the demo's
//! controls are for one server, off unless `DEMO_CONTROLS=on`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use super::clock::Clock;
use crate::api::demo::DemoFaults;

/// What the refresh decision needs to know about faults.
pub trait RefreshFaults: Send + Sync {
    /// Whether the grace window applies to this session's refreshes (on unless switched off).
    fn grace_window(&self, session_id: &str) -> bool;
    /// Whether this session's next refresh must fail with a 503. Only a question: the decision
    /// may be taken again after a lost race, and asking must not spend a failure.
    fn refresh_fails(&self, session_id: &str) -> bool;
    /// A refresh of this session failed as the faults asked: one failure fewer to go.
    fn refresh_failed(&self, session_id: &str);
}

/// No faults: the grace window always applies, no refresh fails on purpose.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFaults;

impl RefreshFaults for NoFaults {
    fn grace_window(&self, _session_id: &str) -> bool {
        true
    }

    fn refresh_fails(&self, _session_id: &str) -> bool {
        false
    }

    fn refresh_failed(&self, _session_id: &str) {}
}

/// The demo's switches per session, with when they were set (so a sweep can forget them).
pub struct DemoFaultSwitches {
    sessions: Mutex<HashMap<String, (DemoFaults, u64)>>,
    clock: Arc<dyn Clock>,
}

impl DemoFaultSwitches {
    /// No switches set; `clock` dates each setting, so a sweep can forget it.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            sessions: Mutex::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (DemoFaults, u64)>> {
        // Plain data: still consistent after a panic elsewhere.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn of(&self, session_id: &str) -> DemoFaults {
        self.lock()
            .get(session_id)
            .map(|(faults, _)| faults.clone())
            .unwrap_or_default()
    }

    /// Replaces the session's switches (the body is posted whole: one switch never resets
    /// another).
    pub fn set(&self, session_id: &str, faults: DemoFaults) {
        let now = self.clock.now_ms();
        self.lock().insert(session_id.to_owned(), (faults, now));
    }

    /// The latency added to the session's protected API calls.
    pub fn latency(&self, session_id: &str) -> Duration {
        Duration::from_millis(self.of(session_id).latency_ms)
    }

    /// Forgets switches set longer than `session_lifetime` ago: their session has ended.
    pub fn sweep(&self, session_lifetime: Duration) {
        let horizon = self
            .clock
            .now_ms()
            .saturating_sub(session_lifetime.as_millis() as u64);
        self.lock().retain(|_, (_, set_at)| *set_at >= horizon);
    }
}

impl RefreshFaults for DemoFaultSwitches {
    fn grace_window(&self, session_id: &str) -> bool {
        self.of(session_id).grace_window
    }

    fn refresh_fails(&self, session_id: &str) -> bool {
        self.of(session_id).failing_refreshes > 0
    }

    fn refresh_failed(&self, session_id: &str) {
        if let Some((faults, _)) = self.lock().get_mut(session_id) {
            faults.failing_refreshes = faults.failing_refreshes.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::core::clock::ManualClock;

    #[test]
    fn asking_spends_nothing_and_each_failure_is_spent_once() {
        let clock = ManualClock::new();
        let switches = DemoFaultSwitches::new(Arc::new(clock.clone()));
        let faults = DemoFaults {
            failing_refreshes: 2,
            grace_window: false,
            latency_ms: 300,
        };
        switches.set("s1", faults);
        assert!(switches.refresh_fails("s1") && switches.refresh_fails("s1"));
        switches.refresh_failed("s1");
        assert!(switches.refresh_fails("s1"));
        switches.refresh_failed("s1");
        assert!(!switches.refresh_fails("s1"));
        assert!(!switches.grace_window("s1"));
        assert_eq!(switches.latency("s1"), Duration::from_millis(300));
        assert!(switches.grace_window("another session"));
        clock.advance(Duration::from_secs(2));
        switches.sweep(Duration::from_secs(1));
        assert!(switches.grace_window("s1"), "forgotten: the defaults again");
    }
}
