//! The client side of auth, in layers that can be lifted into another Leptos app:
//!
//! - [`coordinator`]: single-flight refresh, token versions, retry-once — plain Rust, generic over
//!   a transport, a clock and a cross-tab channel, and tested natively;
//! - [`tab_sync`]: the cross-tab contract (one refresh for all tabs, sign-out everywhere);
//! - `browser` (feature `hydrate`): fetch, timers, Web Locks and `BroadcastChannel`;
//! - [`context`]: the Leptos context, hook and resource helper built on them;
//! - [`session`]: the JavaScript-free login form (a server function) and safe `?next=` paths.

#[cfg(feature = "hydrate")]
pub mod browser;
pub mod context;
pub mod coordinator;
pub mod session;
pub mod tab_sync;

pub use context::{provide_auth, use_auth, AuthContext};
pub use coordinator::AuthError;
