//! `/sessions`: the signed-in user's sessions, one per browser that signed in, and a button to
//! end each ("sign out other devices"). Ending this browser's own session signs it out here and
//! in its other tabs; a browser whose session was ended elsewhere is sent to sign in at its next
//! refresh.
//!
//! The list is server-rendered (a server function loaded during the render) in a lazy island, a
//! wasm chunk of its own fetched only on this page, so it can end sessions and load again; the
//! sessions reuse detection ended are plain server-rendered HTML.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::sessions::{ReuseEndedSession, SessionInfo},
    auth::use_auth,
    components::{require_auth::RequireAuth, resource_card::ResourceCard},
    server_fns::{end_other_sessions, end_session, load_reuse_ended_sessions, load_sessions},
};

#[component]
pub fn SessionsPage() -> impl IntoView {
    view! {
        <Title text="Sessions"/>
        <RequireAuth>
            <h1>"Sessions"</h1>
            <p class="lead">
                "Every browser you signed in with holds a session: a family of refresh "
                "credentials, rotated on every refresh. A grace replay is the previous credential "
                "presented again within the grace window — a second tab or a lost response — and "
                "is harmless. A rotated-away credential presented later is reuse: someone holds a "
                "stolen copy, and the session is ended on the spot."
            </p>
            <SessionList/>
            <ReuseEnded/>
        </RequireAuth>
    }
}

/// The list and its buttons. After a session ends the list loads again; when it was this
/// browser's, the browser signs out (every tab) and the page guard sends it to sign in.
#[cfg_attr(feature = "split", island(lazy))]
#[cfg_attr(not(feature = "split"), island)]
fn SessionList() -> impl IntoView {
    let auth = use_auth();
    let ended = RwSignal::new(0u64);
    let status = RwSignal::new(String::new());
    let sessions = Resource::new(move || (auth.reloads(), ended.get()), |_| load_sessions());
    let end = Action::new_local(move |(id, current): &(String, bool)| {
        let (id, current) = (id.clone(), *current);
        async move {
            match end_session(id).await {
                Ok(()) if current => auth.logout().await,
                Ok(()) => {
                    status.set("Session ended: that browser is signed out.".to_owned());
                    ended.update(|n| *n += 1);
                }
                Err(error) => status.set(format!("Failed: {}", error.message)),
            }
        }
    });
    let end_others = Action::new_local(move |_: &()| async move {
        match end_other_sessions().await {
            Ok(()) => {
                status.set("Every other session ended.".to_owned());
                ended.update(|n| *n += 1);
            }
            Err(error) => status.set(format!("Failed: {}", error.message)),
        }
    });
    // Disabled in the server's HTML, enabled once this island runs: a click before then would
    // be lost.
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let busy = move || !interactive.get() || end.pending().get() || end_others.pending().get();
    let render = move |sessions: Vec<SessionInfo>| {
        view! {
            <ul class="sessions">
                {sessions
                    .into_iter()
                    .map(|session| session_item(session, busy, end))
                    .collect_view()}
            </ul>
        }
    };
    view! {
        <ResourceCard title="Your sessions" resource=sessions render/>
        <button type="button" disabled=busy on:click=move |_| { end_others.dispatch(()); }>
            "End all other sessions"
        </button>
        <p role="status">{move || status.get()}</p>
    }
}

/// Server-rendered only (no island, no wasm): a reuse happens elsewhere, and this page shows
/// what the store holds when it loads.
#[component]
fn ReuseEnded() -> impl IntoView {
    let reuse_ended = Resource::new(|| (), |_| load_reuse_ended_sessions());
    view! { <ResourceCard title="Ended by reuse detection" resource=reuse_ended render=reuse_ended_list/> }
}

/// Sessions a stolen refresh credential ended, with what they had counted until then.
fn reuse_ended_list(sessions: Vec<ReuseEndedSession>) -> impl IntoView {
    if sessions.is_empty() {
        return view! { <p>"None in the last day."</p> }.into_any();
    }
    view! {
        <ul class="sessions">
            {sessions
                .into_iter()
                .map(|session| {
                    let browser = session.user_agent.unwrap_or_else(|| "Unknown client".to_owned());
                    let short_id: String = session.id.chars().take(6).collect();
                    let label = format!("{browser} · {short_id}");
                    let shown = label.clone();
                    view! {
                        <li aria-label=label>
                            <strong>{shown}</strong>
                            <dl class="stats">
                                <div><dt>"Reuse detected"</dt><dd>{utc_time(session.ended_at)}</dd></div>
                                <div><dt>"Signed in"</dt><dd>{utc_time(session.created_at)}</dd></div>
                                <div><dt>"Rotations"</dt><dd>{session.generation}</dd></div>
                                <div><dt>"Grace replays"</dt><dd>{session.grace_replays}</dd></div>
                            </dl>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}

fn session_item(
    session: SessionInfo,
    busy: impl Fn() -> bool + Send + Sync + 'static,
    end: Action<(String, bool), ()>,
) -> impl IntoView {
    let browser = session
        .user_agent
        .clone()
        .unwrap_or_else(|| "Unknown client".to_owned());
    // The id's first characters tell two sessions of one kind of browser apart, and match a
    // session seen on one device with its entry on another.
    let short_id: String = session.id.chars().take(6).collect();
    let label = if session.current {
        format!("{browser} · {short_id} (this browser)")
    } else {
        format!("{browser} · {short_id}")
    };
    let (id, current) = (session.id.clone(), session.current);
    let shown = label.clone();
    view! {
        <li aria-label=label>
            <strong>{shown}</strong>
            <dl class="stats">
                <div><dt>"Client"</dt><dd>{session.client}</dd></div>
                <div><dt>"Signed in"</dt><dd>{utc_time(session.created_at)}</dd></div>
                <div><dt>"Last refresh"</dt><dd>{utc_time(session.last_refresh_at)}</dd></div>
                <div><dt>"Rotations"</dt><dd>{session.generation}</dd></div>
                <div><dt>"Grace replays"</dt><dd>{session.grace_replays}</dd></div>
            </dl>
            <button
                type="button"
                disabled=busy
                on:click=move |_| {
                    end.dispatch((id.clone(), current));
                }
            >
                {if current { "End this session" } else { "End session" }}
            </button>
        </li>
    }
}

/// `HH:MM:SS UTC` of a Unix time: the same text on the server and in the browser.
fn utc_time(unix_secs: u64) -> String {
    let of_day = unix_secs % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}
