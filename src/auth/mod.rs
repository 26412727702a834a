//! The client side of auth, liftable into another Leptos app: it imports the auth wire contract
//! (`crate::api::auth`) and nothing else of this crate — a test keeps it that way.
//!
//! - [`coordinator`]: single-flight refresh, token versions, retry-once — plain Rust, generic over
//!   a transport, a clock and a cross-tab channel, and tested natively;
//! - [`tab_sync`]: the cross-tab contract (one refresh for all tabs, sign-out everywhere);
//! - `browser` (feature `hydrate`): fetch, timers, Web Locks and `BroadcastChannel`;
//! - [`config`]: endpoints, login page, channel name and timings, with this app's defaults;
//! - [`context`]: the Leptos context, hook and resource helper built on them;
//! - [`server_fn_client`]: `#[server(client = AuthClient)]` — server functions through the
//!   same coordinator.
//!
//! The glue an app needs:
//!
//! ```no_run
//! use leptos::prelude::*;
//! use leptos_router::components::Router;
//! use tokenflight::{api::auth::User, auth::{provide_auth, use_auth, AuthConfig}};
//!
//! #[component]
//! fn App(first_paint_user: Option<User>) -> impl IntoView {
//!     view! { <Router><Root first_paint_user/></Router> }
//! }
//!
//! #[component]
//! fn Root(first_paint_user: Option<User>) -> impl IntoView {
//!     provide_auth(AuthConfig::default(), first_paint_user); // inside <Router>
//!     let orders = use_auth().resource::<Vec<String>>("/api/orders"); // one refresh, retry once
//!     view! { <Suspense>{move || Suspend::new(async move { match orders.await {
//!         Ok(orders) => orders.join(", "),
//!         Err(error) => error.to_string(),
//!     } })}</Suspense> }
//! }
//! ```
//!
//! That is a hydrated app with a client router (`examples/router_app` runs it). The demo around
//! this module is built from islands instead (`crate::app`): `provide_auth` runs in its
//! outermost island with a [`FirstPaint::Token`] the server minted as it rendered the page, so a
//! page load makes no refresh call.
//!
//! Nothing here shows `Debug` output to people: [`coordinator::AuthError`] and the
//! refresh reasons have `Display`. That keeps the client correct in a bundle built with
//! `-Zfmt-debug=none`, as this repository's release bundle is (`scripts/lib.sh`).

#![warn(missing_docs)]

#[cfg(feature = "hydrate")]
pub mod browser;
pub mod config;
pub mod context;
pub mod coordinator;
pub mod server_fn_client;
pub mod tab_sync;

pub use config::{AuthConfig, AuthEndpoints};
pub use context::{provide_auth, use_auth, AuthContext, FirstPaint};
pub use coordinator::{AuthError, LoginError};
pub use server_fn_client::AuthClient;
