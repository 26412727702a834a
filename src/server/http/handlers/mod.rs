//! HTTP handlers, one file per area of the API.

pub mod auth;
pub mod demo;
pub mod ping;
pub mod resources;
pub mod sessions;
