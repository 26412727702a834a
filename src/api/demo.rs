//! The demo's fault controls: they act on the caller's own session only.

use serde::{Deserialize, Serialize};

/// The demo endpoints (absent with `DEMO_CONTROLS=off`).
pub mod paths {
    pub const EXPIRE_ACCESS: &str = "/api/demo/expire-access";
    pub const REVOKE_SESSION: &str = "/api/demo/revoke-session";
    pub const FAULTS: &str = "/api/demo/faults";
}

/// `POST /api/demo/faults`: failure modes the demo can switch on for the caller's own session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoFaults {
    /// Extra latency added to every protected API response, in milliseconds (at most 5000).
    #[serde(default)]
    pub latency_ms: u64,
    /// How many upcoming refresh calls answer 503 before refresh works again (at most 10).
    #[serde(default)]
    pub failing_refreshes: u32,
}

/// Upper bounds for [`DemoFaults`], checked by the server and shown by the UI.
pub const MAX_DEMO_LATENCY_MS: u64 = 5_000;
pub const MAX_DEMO_FAILING_REFRESHES: u32 = 10;
