//! HTTP handlers, one file per area of the API.

pub mod api;
pub mod auth;
pub mod demo;
