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

/// Browser entry point: hydrates the server-rendered HTML. Asynchronously, because a lazy
/// route's view (a separate wasm chunk) may have to arrive before its part of the page hydrates.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console. The release bundle panics with `-Cpanic=immediate-abort`
    // (`build_frontend_release`), where no hook ever runs: there the hook is left out.
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    // wasm-bindgen's executor directly: Leptos' own is set up by `hydrate_from_async`.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // A marker for people and end-to-end tests: from now on, clicks run Rust.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
