//! An ordinary Leptos app — SSR + hydration, a client-side `<Router>`, no islands — that lifts
//! Tokenflight's auth client as its README tells people to: it compiles the very files of
//! `src/auth/` and `src/api/auth.rs` (no copies that could drift) and talks to Tokenflight's
//! identity provider, which its server mounts as a library.

pub mod api;
pub mod app;
#[path = "../../../src/auth/mod.rs"]
pub mod auth;

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
