//! The coordinator's timing knobs, with the defaults this app uses.

/// Timing knobs. All durations in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// Refresh proactively this long before expiry, but never more than a fifth of the token's
    /// lifetime (so a 30 s token is refreshed after 24 s, a 15 min token 10 s before it expires).
    /// Tokens shorter than one second are only refreshed on demand, never on a timer.
    pub refresh_margin_ms: u64,
    /// Give up on an API request after this long ([`AuthError::Transient`]).
    ///
    /// [`AuthError::Transient`]: super::AuthError::Transient
    pub request_timeout_ms: u64,
    /// Give up on a refresh call after this long (counts as a transient failure).
    pub refresh_timeout_ms: u64,
    /// First delay before retrying a refresh that failed transiently; doubled on each failure.
    pub backoff_initial_ms: u64,
    /// Upper bound of that delay.
    pub backoff_max_ms: u64,
    /// How long a newly opened tab waits for another tab to answer [`TabMessage::TokenWanted`]
    /// before refreshing itself (only when [`TabSync::reaches_other_tabs`]).
    ///
    /// [`TabMessage::TokenWanted`]: crate::auth::tab_sync::TabMessage::TokenWanted
    /// [`TabSync::reaches_other_tabs`]: crate::auth::tab_sync::TabSync::reaches_other_tabs
    pub tab_answer_wait_ms: u64,
    /// Show the idle warning this long before the server ends an unused session, but never
    /// earlier than a quarter of its idle timeout before (so a 2-minute timeout warns 30 s
    /// ahead). Used only with a server that states its idle timeout.
    pub idle_warning_lead_ms: u64,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        Self {
            refresh_margin_ms: 10_000,
            request_timeout_ms: 15_000,
            refresh_timeout_ms: 10_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 30_000,
            tab_answer_wait_ms: 150,
            idle_warning_lead_ms: 60_000,
        }
    }
}
