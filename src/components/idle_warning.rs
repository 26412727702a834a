//! The idle warning: shown when the session is about to end because nobody used any tab, with
//! the one button that keeps it ("Stay signed in"), as banking and admin consoles do. Rendered
//! by the session guard, so every protected page has it. A lazy island in a split build: it is
//! seldom shown, so its code is a chunk of its own, fetched after the page is interactive, not
//! part of the wasm every page waits for.

use leptos::prelude::*;

use crate::auth::use_auth;

/// Nothing until the coordinator warns (never on the server, so hydration agrees); then a
/// dialog with the seconds left, counting down on the coordinator's clock.
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "split"), island)]
pub fn IdleWarning() -> impl IntoView {
    let auth = use_auth();
    let ends_at = move || auth.snapshot().get().and_then(|s| s.idle_ends_at_ms);
    let seconds_left =
        move |ends_at: f64, now_ms: f64| ((ends_at - now_ms) / 1000.0).max(0.0).ceil() as u64;
    move || {
        ends_at().map(|ends_at| {
            // Ticks while the warning shows; the interval ends with it.
            let now_ms = RwSignal::new(auth.now_ms());
            #[cfg(feature = "hydrate")]
            leptos_use_interval_fn::use_interval_fn(move || now_ms.set(auth.now_ms()), 1_000);
            view! {
                <div class="idle-warning card" role="alertdialog" aria-labelledby="idle-warning-title">
                    <p id="idle-warning-title">
                        <strong>"Are you still there?"</strong>
                        " You will be signed out in "
                        <span data-testid="idle-seconds-left">{move || seconds_left(ends_at, now_ms.get())}</span>
                        " s because nothing happened for a while."
                    </p>
                    <button on:click=move |_| auth.stay_signed_in()>"Stay signed in"</button>
                </div>
            }
        })
    }
}
