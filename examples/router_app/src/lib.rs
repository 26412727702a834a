//! An ordinary Leptos app — SSR + hydration, a client-side `<Router>`, no islands — that uses
//! Tokenflight as its README tells people to: the auth client is a dependency (feature
//! `client`, with `hydrate` in the browser) and the identity provider is nested in this app's
//! server (feature `idp`).

pub mod api;
pub mod app;
#[cfg(feature = "baseline")]
pub mod baseline;

/// Browser entry point: hydrates the whole body, once the wasm has loaded.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for end-to-end tests: from now on, clicks run Rust.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
