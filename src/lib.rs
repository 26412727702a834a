//! Tokenflight: access-token refresh done right, as a Leptos app with its own mock identity provider.
//!
//! - [`api`]: the wire contract shared by server and browser (auth, resources, demo).
//! - [`auth`]: the client side of auth, liftable: the refresh coordinator and its Leptos context.
//! - [`app`], [`pages`], [`components`], [`form_login`], [`server_fns`]: the demo app.
//! - `server` (feature `ssr`): the axum backend — tokens, refresh families, handlers.

pub mod api;
pub mod app;
pub mod auth;
pub mod components;
pub mod form_login;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod server_fns;

/// Browser entry point: hydrates the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for people and end-to-end tests: from now on, clicks run Rust.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
