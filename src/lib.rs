//! Tokenflight: access-token refresh done right, as a Leptos auth client, a mock identity
//! provider to test it against, and a demo app that shows the flow.
//!
//! Three ways in, one feature each:
//! - `client`: [`auth`], the auth client — single-flight refresh, retry once, tabs in step —
//!   with the browser transport under `hydrate` and a native one under `native`;
//! - `idp`: `server`, the identity provider and the protected API, to nest in any axum app;
//! - `demo` (default): `app`, `pages`, `components`, `form_login`, `server_fns`: the
//!   demo app, built from islands.
//!
//! [`api`], the wire contract shared by server and browser, comes with each of them.

pub mod api;
#[cfg(feature = "demo")]
pub mod app;
#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "demo")]
pub mod components;
#[cfg(feature = "demo")]
pub mod form_login;
#[cfg(feature = "native")]
pub mod native;
#[cfg(feature = "demo")]
pub mod pages;
#[cfg(feature = "idp")]
pub mod server;
#[cfg(feature = "demo")]
pub mod server_fns;

/// Browser entry point. The islands script calls it once the wasm has loaded, then hydrates each
/// `<leptos-island>` on the page in document order.
#[cfg(all(feature = "hydrate", feature = "demo"))]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console. The release bundle panics with `-Cpanic=immediate-abort`
    // (`build_frontend_release`), where no hook ever runs: there the hook is left out.
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A marker for people and end-to-end tests: from now on, clicks run Rust. The islands script
    // hydrates the page's islands right after this function returns, in promise callbacks that
    // all run before a timer does (a lazy island, a chunk of its own, may come later still).
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}
