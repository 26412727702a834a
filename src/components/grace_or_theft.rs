//! Grace versus theft, in the inspector: how many of this session's refreshes the grace window
//! answered (a second tab or a lost answer presenting the just-rotated credential: harmless) and
//! how many of the user's sessions reuse detection ended (a rotated-away credential presented
//! again: someone held a copy; revoked). The same outcomes `/metrics` labels `grace_replay` and
//! `reuse_revoked`, counted per session by the server (`GET /api/sessions`,
//! `GET /api/sessions/reuse-detected`).
//!
//! Loaded when asked, not on every change: the inspector counts every request the auth client
//! makes, and its counters must keep meaning "what the demo's controls caused".

use leptos::prelude::*;
use serde::{de::IgnoredAny, Deserialize};

use crate::{api::sessions::paths, auth::use_auth};

/// The two fields of a `GET /api/sessions` entry this view reads (serde skips the others).
#[derive(Deserialize)]
struct GraceReplays {
    current: bool,
    grace_replays: u64,
}

/// What the view shows: this session's grace replays, the sessions reuse ended today.
#[derive(Clone, Copy)]
struct Counts {
    grace_replays: u64,
    ended_by_reuse: usize,
}

#[component]
pub fn GraceOrTheft() -> impl IntoView {
    let auth = use_auth();
    let counts = Action::new_local(move |_: &()| async move {
        let sessions: Vec<GraceReplays> = auth.get_json(paths::SESSIONS).await?;
        let ended: Vec<IgnoredAny> = auth.get_json(paths::REUSE_DETECTED).await?;
        Ok::<_, crate::auth::AuthError>(Counts {
            grace_replays: sessions
                .iter()
                .find(|session| session.current)
                .map_or(0, |session| session.grace_replays),
            ended_by_reuse: ended.len(),
        })
    });
    let shown = move || {
        counts.value().get().map(|result| match result {
            Ok(counts) => view! {
                <p data-testid="grace-or-theft">
                    "This session: " <strong data-testid="grace-replays">{counts.grace_replays}</strong>
                    " grace replays (harmless: a second tab or a lost answer got the current credential back). "
                    "Your sessions ended by reuse today: " <strong data-testid="ended-by-reuse">{counts.ended_by_reuse}</strong>
                    " (a rotated-away credential came back: someone held a copy, so the session was revoked)."
                </p>
            }
            .into_any(),
            Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <div class="grace-or-theft">
            <button type="button" disabled=move || counts.pending().get() on:click=move |_| { counts.dispatch(()); }>
                "Count grace replays and reuse"
            </button>
            {shown}
        </div>
    }
}
