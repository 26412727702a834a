//! Where things are decided, below HTTP: may this credential refresh, is this code spent, is
//! this password right, is this client throttled. Nothing here imports axum, tower or Leptos
//! (a test keeps it so): handlers in [`crate::server::http`] translate requests into these
//! calls and the answers back.

pub mod clients;
pub mod clock;
pub mod codes;
pub mod data;
pub mod dpop;
pub mod families;
pub mod faults;
pub mod keys;
pub mod password;
pub mod signing;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod upgrade;
pub mod users;
