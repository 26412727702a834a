//! A user's sessions: what the Sessions page lists and ends (`GET/DELETE /api/sessions`).

use serde::{Deserialize, Serialize};

/// The session endpoints (Bearer).
pub mod paths {
    /// `GET`: the caller's sessions; `DELETE`: end all of them but the caller's own.
    pub const SESSIONS: &str = "/api/sessions";
    /// `DELETE`: end one of the caller's sessions.
    pub const SESSION: &str = "/api/sessions/{id}";
    /// `GET`: the caller's sessions that reuse detection ended in the last day.
    pub const REUSE_DETECTED: &str = "/api/sessions/reuse-detected";

    /// [`SESSION`] for one id (ids are URL-safe base64, nothing to escape).
    pub fn session(id: &str) -> String {
        format!("/api/sessions/{id}")
    }
}

/// One entry of `GET /api/sessions`: a refresh family of the caller's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The session's id, as `DELETE /api/sessions/{id}` takes it.
    pub id: String,
    /// When the user signed in, in seconds since the Unix epoch.
    pub created_at: u64,
    /// The session's last refresh (its sign-in if none yet), in seconds since the Unix epoch.
    pub last_refresh_at: u64,
    /// The client the session was issued to: `tokenflight` for this app, else an OAuth
    /// client's id.
    pub client: String,
    /// The browser that signed in, coarsely ("Chromium on Linux"); null when it sent none.
    pub user_agent: Option<String>,
    /// How often the refresh credential has rotated.
    pub generation: u64,
    /// Whether this is the session of the access token that asked.
    pub current: bool,
    /// Refreshes answered from the grace window: a second tab or a lost response presenting
    /// the just-rotated credential again — harmless, nothing was revoked.
    pub grace_replays: u64,
}

/// One entry of `GET /api/sessions/reuse-detected`: a session of the caller's that reuse
/// detection ended — a refresh credential it had rotated away was presented again, so someone
/// held a copy — as it was at that moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct ReuseEndedSession {
    /// The ended session's id, as [`SessionInfo::id`] showed it; no longer accepted anywhere.
    pub id: String,
    /// When the user signed in, in seconds since the Unix epoch.
    pub created_at: u64,
    /// When the reuse was detected and the session revoked, in seconds since the Unix epoch.
    pub ended_at: u64,
    /// The client the session was issued to, as in [`SessionInfo::client`].
    pub client: String,
    /// The browser that signed in, coarsely; null when it sent none.
    pub user_agent: Option<String>,
    /// How often the refresh credential had rotated before the reuse: the presented copy was
    /// of an earlier generation.
    pub generation: u64,
    /// Grace-window replays the session had seen, harmless ones, before the reuse ended it.
    pub grace_replays: u64,
}
