//! The wire contract between the browser and the server: request and response bodies and paths.
//!
//! Both halves compile these modules, so a field renamed here is renamed everywhere. They depend
//! on serde only: no server crates, no browser crates. (The server build also derives their
//! OpenAPI schemas, `utoipa::ToSchema` under feature `idp`, so the document at
//! `/api/openapi.json` is generated from these very types — all but `auth`'s, which
//! `server::http::openapi::schemas` mirrors.)
//!
//! - [`auth`]: the auth contract (tokens, user, error codes, auth paths) — all the auth client needs;
//! - [`resources`]: the demo's protected data;
//! - [`demo`]: the demo's fault controls;
//! - [`sessions`]: a user's sessions, listed and ended;
//! - [`login_form`]: the login form's failure codes and messages;
//! - [`redirect`]: `/login?next=…`, built by the server's guards and the client, read by the
//!   login page — kept to paths on this site.

#![warn(missing_docs)]

pub mod auth;
pub mod demo;
pub mod login_form;
pub mod redirect;
pub mod resources;
pub mod sessions;
