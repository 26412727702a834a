//! One page per file.

pub mod admin;
pub mod dashboard;
pub mod login;
pub mod not_found;
pub mod sessions;
