use super::*;

/// Builds timeline entries with increasing sequence numbers.
#[derive(Default)]
struct Script {
    entries: Vec<TimelineEntry>,
}

impl Script {
    fn at(&mut self, at_ms: f64, source: FlowSource, event: AuthEvent) -> &mut Self {
        let seq = self.entries.len() as u64;
        self.entries.push(TimelineEntry {
            seq,
            at_ms,
            source,
            event,
        });
        self
    }

    fn c(&mut self, at_ms: f64, event: AuthEvent) -> &mut Self {
        self.at(at_ms, FlowSource::Coordinator, event)
    }

    fn layout(&self, now_ms: f64) -> Layout {
        Layout::build(&self.entries, now_ms)
    }
}

fn sent(request_id: u64, token_version: u64, retry: bool) -> AuthEvent {
    AuthEvent::RequestSent {
        request_id,
        path: "/api/items".into(),
        token_version,
        retry,
    }
}

fn responded(request_id: u64, status: u16) -> AuthEvent {
    AuthEvent::Responded { request_id, status }
}

fn unauthorized(request_id: u64) -> AuthEvent {
    AuthEvent::Unauthorized {
        request_id,
        token_version: 1,
    }
}

fn joined(request_id: u64, refresh_id: u64) -> AuthEvent {
    AuthEvent::WaiterJoined {
        request_id,
        refresh_id,
    }
}

fn retried(request_id: u64, with_refresh: bool) -> AuthEvent {
    AuthEvent::Retried {
        request_id,
        with_refresh,
    }
}

fn refreshed(refresh_id: u64, token_version: u64, waiters: Vec<u64>) -> AuthEvent {
    AuthEvent::RefreshSucceeded {
        refresh_id,
        token_version,
        expires_in_ms: 60_000,
        waiters,
        adopted: false,
    }
}

fn started(refresh_id: u64) -> AuthEvent {
    AuthEvent::RefreshStarted {
        refresh_id,
        reason: RefreshReason::Unauthorized,
    }
}

/// The coordinator's burst of `n`: all sent with v1, all 401, one refresh to v2; the first
/// `waiting` requests wait for it, the others' 401 arrive after it landed and retry at once.
fn coordinator_burst(n: u64, waiting: u64) -> Script {
    let mut script = Script::default();
    for id in 1..=n {
        script.c(0.0, sent(id, 1, false));
    }
    script.c(5.0, started(1));
    for id in 1..=waiting {
        script
            .c(5.0, responded(id, 401))
            .c(5.0, unauthorized(id))
            .c(5.0, joined(id, 1));
    }
    script.c(20.0, refreshed(1, 2, (1..=waiting).collect()));
    for id in waiting + 1..=n {
        script.c(25.0, responded(id, 401)).c(25.0, unauthorized(id));
    }
    for id in 1..=n {
        let with_refresh = id <= waiting;
        script
            .c(25.0, retried(id, with_refresh))
            .c(25.0, sent(id, 2, true))
            .c(40.0, responded(id, 200));
    }
    script
}

#[test]
fn a_burst_of_20_is_20_rows_and_one_refresh_that_served_all_20() {
    let layout = coordinator_burst(20, 20).layout(40.0);
    assert_eq!(layout.rows.len(), 20);
    assert_eq!(layout.group_size, 1);
    assert_eq!(layout.refreshes.len(), 1);
    let refresh = &layout.refreshes[0];
    assert_eq!(refresh.outcome, RefreshOutcome::Got(2));
    assert_eq!((refresh.waiters, refresh.served), (20, 20));
    assert_eq!(layout.summary(), "20 requests, 1 refresh, 20 retries");
    assert!(!layout.pending);
}

#[test]
fn requests_that_retried_with_the_new_token_without_waiting_count_as_served() {
    let layout = coordinator_burst(20, 12).layout(40.0);
    let refresh = &layout.refreshes[0];
    assert_eq!((refresh.waiters, refresh.served), (12, 20));
    assert!(refresh.detail.contains("12 waiting, served 20 requests"));
    assert!(
        refresh.detail.contains("(after a 401, "),
        "{}",
        refresh.detail
    );
}

#[test]
fn a_row_has_its_phases_in_order_first_attempt_wait_retry() {
    let layout = coordinator_burst(1, 1).layout(40.0);
    let kinds: Vec<_> = layout.rows[0]
        .phases
        .iter()
        .map(|p| (p.kind.clone(), p.start_ms, p.end_ms))
        .collect();
    let attempt = |token_version, retry, status| PhaseKind::Attempt {
        token_version,
        retry,
        status: Some(status),
    };
    assert_eq!(
        kinds,
        vec![
            (attempt(1, false, 401), 0.0, 5.0),
            (PhaseKind::Waiting { refresh_id: 1 }, 5.0, 25.0),
            (attempt(2, true, 200), 25.0, 40.0),
        ]
    );
    assert_eq!(layout.rows[0].outcomes, vec![(Outcome::Status(200), 1)]);
    assert!(layout.rows[0].detail.contains("sent with token v1 → 401"));
    assert!(layout.rows[0]
        .detail
        .contains("retried with token v2 → 200"));
}

#[test]
fn open_phases_and_refreshes_run_to_now_and_mark_the_layout_pending() {
    let mut script = Script::default();
    script.c(0.0, sent(1, 1, false)).c(10.0, started(1));
    let layout = script.layout(30.0);
    assert!(layout.pending);
    assert_eq!(layout.rows[0].phases[0].end_ms, 30.0);
    assert_eq!(layout.refreshes[0].end_ms, 30.0);
    assert_eq!(layout.rows[0].outcomes, vec![(Outcome::Pending, 1)]);
}

#[test]
fn two_hundred_requests_are_grouped_into_at_most_max_rows() {
    let layout = coordinator_burst(200, 200).layout(40.0);
    assert_eq!(layout.group_size, 5);
    assert_eq!(layout.rows.len(), MAX_ROWS);
    assert!(layout.rows.iter().all(|row| row.requests == 5));
    let first = &layout.rows[0];
    assert_eq!(first.outcomes, vec![(Outcome::Status(200), 5)]);
    assert_eq!(first.detail, "Requests #1–#5 (5): 5 × 200");
    // The group keeps the shape: first attempt, wait, retry.
    assert_eq!(first.phases.len(), 3);
    assert_eq!(layout.summary(), "200 requests, 1 refresh, 200 retries");
}

#[test]
fn an_odd_count_leaves_a_shorter_last_group() {
    let layout = coordinator_burst(41, 41).layout(40.0);
    assert_eq!(layout.group_size, 2);
    assert_eq!(layout.rows.len(), 21);
    assert_eq!(layout.rows[20].requests, 1);
}

#[test]
fn overlapping_refreshes_get_their_own_lanes_up_to_the_limit() {
    let mut script = Script::default();
    for id in 1..=25 {
        script.at(f64::from(id as u32), FlowSource::Naive, started(id));
    }
    for id in 1..=25 {
        script.at(100.0, FlowSource::Naive, refreshed(id, id + 1, vec![id]));
    }
    let layout = script.layout(100.0);
    assert_eq!(layout.lanes, MAX_LANES);
    assert!(layout.refreshes.iter().all(|bar| bar.lane < MAX_LANES));
    let lanes: std::collections::HashSet<_> = layout.refreshes[..MAX_LANES]
        .iter()
        .map(|bar| bar.lane)
        .collect();
    assert_eq!(lanes.len(), MAX_LANES, "the first ten each get a lane");
}

#[test]
fn refreshes_one_after_another_share_one_lane() {
    let mut script = Script::default();
    script
        .c(0.0, started(1))
        .c(10.0, refreshed(1, 2, vec![]))
        .c(20.0, started(2))
        .c(30.0, refreshed(2, 3, vec![]));
    let layout = script.layout(30.0);
    assert_eq!(layout.lanes, 1);
    assert_eq!(layout.refreshes[1].lane, 0);
}

#[test]
fn a_naive_burst_shows_one_refresh_per_request_and_ids_do_not_clash_with_the_coordinator() {
    let mut script = Script::default();
    script.c(0.0, sent(1, 5, false));
    for id in 1..=3 {
        script
            .at(0.0, FlowSource::Naive, sent(id, 0, false))
            .at(2.0, FlowSource::Naive, responded(id, 401))
            .at(2.0, FlowSource::Naive, unauthorized(id))
            .at(2.0, FlowSource::Naive, started(id))
            .at(2.0, FlowSource::Naive, joined(id, id))
            .at(9.0, FlowSource::Naive, refreshed(id, id, vec![id]))
            .at(9.0, FlowSource::Naive, retried(id, true))
            .at(9.0, FlowSource::Naive, sent(id, 3, true))
            .at(12.0, FlowSource::Naive, responded(id, 200));
    }
    script.c(12.0, responded(1, 200));
    let layout = script.layout(12.0);
    assert_eq!(layout.rows.len(), 4);
    assert_eq!(layout.refreshes.len(), 3);
    assert!(layout.refreshes.iter().all(|bar| bar.waiters == 1));
    assert_eq!(layout.summary(), "4 requests, 3 refreshes, 3 retries");
    assert!(layout.rows[1].detail.starts_with("Naive request #1"));
}

#[test]
fn a_failed_refresh_ends_its_waiters_as_failed() {
    let mut script = Script::default();
    script
        .c(0.0, sent(1, 1, false))
        .c(5.0, responded(1, 401))
        .c(5.0, unauthorized(1))
        .c(5.0, started(1))
        .c(5.0, joined(1, 1))
        .c(
            9.0,
            AuthEvent::RefreshFailed {
                refresh_id: 1,
                kind: RefreshFailureKind::SessionExpired,
                waiters: vec![1],
            },
        );
    let layout = script.layout(9.0);
    assert_eq!(layout.rows[0].outcomes, vec![(Outcome::Failed, 1)]);
    assert_eq!(layout.rows[0].phases[1].end_ms, 9.0);
    assert_eq!(
        layout.refreshes[0].outcome,
        RefreshOutcome::Failed(RefreshFailureKind::SessionExpired)
    );
    assert!(!layout.pending);
}

#[test]
fn events_of_requests_started_before_the_run_are_ignored() {
    let mut script = Script::default();
    script.c(0.0, responded(7, 200)).c(1.0, sent(8, 1, false));
    let layout = script.layout(1.0);
    assert_eq!(layout.rows.len(), 1);
}

#[test]
fn x_maps_the_run_onto_zero_to_one() {
    let layout = coordinator_burst(1, 1).layout(40.0);
    assert_eq!(layout.x(0.0), 0.0);
    assert_eq!(layout.x(20.0), 0.5);
    assert_eq!(layout.x(80.0), 1.0);
}

#[test]
fn ticks_are_round_and_at_most_six_steps() {
    assert_eq!(ticks(40.0), vec![0.0, 10.0, 20.0, 30.0, 40.0]);
    assert_eq!(ticks(1_234.0), vec![0.0, 500.0, 1000.0]);
    assert_eq!(ticks(0.0), vec![0.0]);
    for span in [3.0, 17.0, 99.0, 250.0, 999.0, 7_500.0, 61_000.0] {
        let ticks = ticks(span);
        assert!(ticks.len() <= 7 && ticks.len() >= 2, "{span}: {ticks:?}");
    }
}

#[test]
fn summary_uses_singulars_and_plurals() {
    let one = FlowCounters {
        requests: 1,
        unauthorized: 1,
        refreshes: 1,
        retries: 1,
    };
    assert_eq!(summary(&one), "1 request, 1 refresh, 1 retry");
    assert_eq!(
        summary(&FlowCounters::default()),
        "0 requests, 0 refreshes, 0 retries"
    );
}
