//! What the auth client needs to know about the app it lives in: the auth endpoints, the login
//! page, the name its tabs talk under, and the coordinator's timings. The defaults fit Tokenflight.

use crate::api::auth::paths;

use super::coordinator::CoordinatorConfig;

/// Handed to [`provide_auth`](super::provide_auth) once, at the root of the app.
///
/// The defaults fit this crate's identity provider; an app with other paths, or a second app on
/// the same origin, overrides what differs:
///
/// ```no_run
/// use tokenflight::auth::{AuthConfig, AuthEndpoints};
///
/// let config = AuthConfig {
///     endpoints: AuthEndpoints {
///         login: "/auth/login",
///         refresh: "/auth/refresh",
///         logout: "/auth/logout",
///     },
///     login_page: "/sign-in",
///     tab_channel: "billing", // not the other app's name: its tabs must not adopt our tokens
///     ..AuthConfig::default()
/// };
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// Where the login, refresh and logout calls go: paths on this origin, as the browser sends
    /// the refresh cookie with `credentials: same-origin` only.
    pub endpoints: AuthEndpoints,
    /// Where a signed-out user is sent, with `?next=<where they were>`.
    pub login_page: &'static str,
    /// Names the `BroadcastChannel`, the Web Lock and the `localStorage` counter the tabs of this
    /// origin share; two apps on one origin need two names.
    pub tab_channel: &'static str,
    /// How long a refresh waits for the cross-tab lock with no tab announcing a new token
    /// before it goes ahead without the lock: a tab frozen or hung while holding the lock must
    /// not wedge the others, while a queue of tabs behind one that is refreshing keeps its
    /// turn. Longer than a refresh normally takes; the server's grace window makes the rare
    /// second refresh safe.
    pub lock_wait_ms: u32,
    /// The coordinator's timings: proactive refresh margin, timeouts, backoff, idle warning.
    pub timing: CoordinatorConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            endpoints: AuthEndpoints::default(),
            login_page: "/login",
            tab_channel: "tokenflight",
            lock_wait_ms: 5_000,
            timing: CoordinatorConfig::default(),
        }
    }
}

/// The identity provider's cookie-authenticated endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthEndpoints {
    /// `POST` `{"username","password"}` → a token response and the refresh cookie.
    pub login: &'static str,
    /// `POST` with the refresh cookie → a token response and the rotated cookie.
    pub refresh: &'static str,
    /// `POST` → the session ends on the server.
    pub logout: &'static str,
}

impl Default for AuthEndpoints {
    fn default() -> Self {
        Self {
            login: paths::LOGIN,
            refresh: paths::REFRESH,
            logout: paths::LOGOUT,
        }
    }
}
