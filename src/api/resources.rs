//! The demo's protected resources: what the dashboard and the admin page load.

use serde::{Deserialize, Serialize};

/// The OAuth scopes the protected API asks of a third-party client's token (RFC 6750 §3.1:
/// without it, `403 insufficient_scope` naming the scope). The first-party session's tokens
/// carry no scope and pass every check: the user's roles decide for them.
pub mod scopes {
    /// `GET /api/me`: who the user is (the OpenID Connect scope of the same name).
    pub const PROFILE: &str = "profile";
    /// `GET /api/items`, `/api/notifications`, `/api/usage`: read the user's data.
    pub const ITEMS_READ: &str = "items:read";
    /// `POST /api/items`: write it.
    pub const ITEMS_WRITE: &str = "items:write";
    /// `/api/sessions…`: list and end the user's sessions.
    pub const SESSIONS: &str = "sessions";
    /// `GET /api/admin/stats`: the statistics, for a user who also has the `admin` role.
    pub const ADMIN: &str = "admin";
}

/// The Bearer-protected data endpoints.
pub mod paths {
    /// `GET`: the caller as a [`User`](crate::api::auth::User), the one its access token names.
    pub const ME: &str = "/api/me";
    /// `GET`: the caller's [`Item`](super::Item)s; `POST` a [`NewItem`](super::NewItem): 201 with
    /// the item created.
    pub const ITEMS: &str = "/api/items";
    /// `GET`: the caller's [`Notification`](super::Notification)s.
    pub const NOTIFICATIONS: &str = "/api/notifications";
    /// `GET`: the caller's [`Usage`](super::Usage).
    pub const USAGE: &str = "/api/usage";
    /// `GET`: the server's [`AdminStats`](super::AdminStats); 403 `insufficient_scope` without
    /// the `admin` role.
    pub const ADMIN_STATS: &str = "/api/admin/stats";
    /// Unauthenticated twin of [`PROTECTED_PING`], same answer: a benchmark pair.
    pub const PING: &str = "/api/ping";
    /// `GET` (Bearer): `{"ok":true}`, the same bytes as [`PING`], so the pair's difference is
    /// the cost of checking the token.
    pub const PROTECTED_PING: &str = "/api/me/ping";
}

/// One of the user's items (`GET /api/items`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct Item {
    /// Unique across all users of one server process, assigned in creation order.
    pub id: u64,
    /// As the user gave it, trimmed (see [`NewItem::title`]).
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
    /// Its place in the caller's list, from 1; unique within one answer only.
    pub id: u64,
    /// Plain text to show as it is (no markup).
    pub text: String,
    /// Whether the UI should mark it as new.
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
    /// Refreshes made in the caller's session (the one its access token belongs to) since its
    /// sign-in: with single-flight refresh, one per expiry however many calls fail at once.
    pub refreshes_this_session: u64,
}

/// `GET /api/admin/stats`, for the `admin` role only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "idp", derive(utoipa::ToSchema))]
pub struct AdminStats {
    /// Sessions in the store, across every instance that shares it; expired ones may linger
    /// until the store's next sweep.
    pub active_sessions: u64,
    /// Refreshes this instance has answered since it started.
    pub refreshes: u64,
    /// Sessions this instance revoked since it started because a rotated-away refresh
    /// credential was presented again (a stolen copy, or a client refreshing without a lock).
    pub reuse_detected: u64,
    /// Failed sign-ins this instance has counted since it started.
    pub failed_logins: u64,
    /// Most password checks ever running at once (bounded by `LOGIN_HASH_CONCURRENCY`).
    pub peak_password_checks: u64,
}
