//! The demo's fault controls: they act on the caller's own session only.

use serde::{Deserialize, Serialize};

/// The demo endpoints (absent with `DEMO_CONTROLS=off`).
pub mod paths {
    /// `POST` (Bearer): 204, and every access token the caller's session holds so far is refused
    /// from now on while its refresh still works — the next call shows 401, refresh, retry.
    pub const EXPIRE_ACCESS: &str = "/api/demo/expire-access";
    /// `POST` (Bearer): 204, and the caller's session is revoked — its token and its refresh
    /// are refused, so the client signs out.
    pub const REVOKE_SESSION: &str = "/api/demo/revoke-session";
    /// `POST` (Bearer) a [`DemoFaults`](super::DemoFaults): 200 with the faults now set for the
    /// caller's session.
    pub const FAULTS: &str = "/api/demo/faults";
}

/// `POST /api/demo/faults`: failure modes the demo can switch on for the caller's own session.
/// A field left out of the body takes its default (no fault), so older clients keep working.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct DemoFaults {
    /// Extra latency added to every protected API response, in milliseconds (at most 5000).
    #[serde(default)]
    #[cfg_attr(feature = "idp", schema(maximum = 5000))]
    pub latency_ms: u64,
    /// How many upcoming refresh calls answer 503 before refresh works again (at most 10).
    #[serde(default)]
    #[cfg_attr(feature = "idp", schema(maximum = 10))]
    pub failing_refreshes: u32,
    /// Whether the immediately previous refresh credential is honoured within
    /// `REFRESH_GRACE_SECS` (on by default). Off, the naive-interceptor demo can show reuse
    /// detection revoking the family when N refreshes race with one cookie.
    #[serde(default = "grace_window_on")]
    pub grace_window: bool,
}

impl Default for DemoFaults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            failing_refreshes: 0,
            grace_window: true,
        }
    }
}

fn grace_window_on() -> bool {
    true
}

/// Upper bounds for [`DemoFaults`], checked by the server and shown by the UI.
pub const MAX_DEMO_LATENCY_MS: u64 = 5_000;
/// Most refresh failures [`DemoFaults::failing_refreshes`] may queue; a larger value is refused
/// with 422 `validation_failed`.
pub const MAX_DEMO_FAILING_REFRESHES: u32 = 10;
