//! This app's own wire types (the auth contract is `tokenflight::api::auth`).

use serde::{Deserialize, Serialize};

/// One entry of `GET /api/items`, as this app reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: u64,
    pub title: String,
}

/// Paths this app calls besides the auth endpoints.
pub mod paths {
    pub const ITEMS: &str = "/api/items";
    pub const ME: &str = "/api/me";
    /// A demo control of the identity provider: the session's access tokens die at once.
    pub const EXPIRE_ACCESS: &str = "/api/demo/expire-access";
}
