//! The server half (feature `ssr`), in two rooms:
//!
//! - [`core`]: where things are decided — refresh families and reuse detection, tokens and
//!   keys, users, authorization codes, OAuth clients, throttles, stores. Plain Rust over a
//!   store and a clock: nothing of axum, tower or Leptos, so it is tested with no router.
//! - [`http`]: where the HTTP answer is built — the router, handlers, extractors, guards, the
//!   listener, the OpenID Connect endpoints, OpenAPI and the demo's fault switches, calling
//!   the core.
//!
//! [`config`] reads every environment variable once, for both.

#![warn(missing_docs)]

pub mod config;
pub mod core;
pub mod http;

#[cfg(feature = "demo")]
pub use http::router;
pub use http::{api_routes, spawn_housekeeping, sweep_expired, with_server_layers};
pub use http::{provider::IdentityProvider, state::IdpState};
