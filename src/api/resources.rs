//! The demo's protected resources: what the dashboard and the admin page load.

use serde::{Deserialize, Serialize};

/// The Bearer-protected data endpoints.
pub mod paths {
    pub const ME: &str = "/api/me";
    pub const ITEMS: &str = "/api/items";
    pub const NOTIFICATIONS: &str = "/api/notifications";
    pub const USAGE: &str = "/api/usage";
    pub const ADMIN_STATS: &str = "/api/admin/stats";
    /// Unauthenticated twin of [`PROTECTED_PING`], same answer: a benchmark pair.
    pub const PING: &str = "/api/ping";
    pub const PROTECTED_PING: &str = "/api/me/ping";
}

/// One of the user's items (`GET /api/items`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct Item {
    pub id: u64,
    pub title: String,
}

/// `POST /api/items`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct NewItem {
    /// Trimmed; at least one character that is not white space, at most 120.
    #[cfg_attr(feature = "idp", schema(pattern = r"\S", max_length = 120))]
    pub title: String,
}

/// Longest title `POST /api/items` accepts, in characters.
pub const MAX_ITEM_TITLE_CHARS: usize = 120;

/// One entry of `GET /api/notifications`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: u64,
    pub text: String,
    pub unread: bool,
}

/// `GET /api/usage`: what the caller has used, a third independent resource for the dashboard.
/// Counts only: the demo enforces no quota, so it reports none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct Usage {
    /// Protected API requests this server process has answered for the calling user (this one
    /// included); it starts at 0 when the process starts.
    pub requests_served: u64,
    pub refreshes_this_session: u64,
}

/// `GET /api/admin/stats`, for the `admin` role only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct AdminStats {
    pub active_sessions: u64,
    pub refreshes: u64,
    pub reuse_detected: u64,
    pub failed_logins: u64,
    /// Most password checks ever running at once (bounded by `LOGIN_HASH_CONCURRENCY`).
    pub peak_password_checks: u64,
}
