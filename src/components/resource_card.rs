//! A card around one protected resource: a skeleton while it loads, the data, or a clear error.
//!
//! The resources are server functions loaded during the server render, so a signed-in first
//! paint shows the data; the skeleton only appears when they load again in the browser.

use std::sync::Arc;

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use crate::api::auth::{codes, ApiErrorBody};

#[component]
pub fn ResourceCard<T, V, F>(
    title: &'static str,
    resource: Resource<Result<T, ApiErrorBody>>,
    render: F,
) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    // Only waiting for the data and drawing it depend on its type. The card around them
    // (`card`) is compiled once and shared by every kind of resource: each copy of a
    // `Transition` with its hydration code costs the browser bundle kilobytes.
    card(
        title,
        Arc::new(move || {
            let render = render.clone();
            Suspend::new(async move {
                match resource.await {
                    Ok(data) => render(data).into_any(),
                    Err(error) => view! { <ErrorMessage error/> }.into_any(),
                }
            })
        }),
    )
}

/// Produces the card's content each time its resource loads (again).
type LoadContent = Arc<dyn Fn() -> Suspend<AnyView> + Send + Sync>;

fn card(title: &'static str, load: LoadContent) -> impl IntoView {
    view! {
        <section class="card" aria-label=title>
            <h2>{title}</h2>
            // Busy is said by the skeleton itself, which exists only until the first data: the
            // card never reads the resource outside the Transition (a hydration hazard Leptos
            // warns about), and a reload keeps the old data on screen, not busy.
            <Transition fallback=|| {
                view! { <div class="skeleton" role="status" aria-busy="true" aria-label="Loading"></div> }
            }>{move || load()}</Transition>
        </section>
    }
}

/// What a failed protected request looks like to a person, by its stable error code.
#[component]
pub fn ErrorMessage(error: ApiErrorBody) -> impl IntoView {
    let (headline, detail) = match error.error.as_str() {
        codes::INSUFFICIENT_SCOPE => (
            "Forbidden",
            "Your account does not have access to this.".to_owned(),
        ),
        codes::UNAUTHENTICATED | codes::INVALID_TOKEN | codes::INVALID_GRANT => (
            "Signed out",
            "Your session has ended. Sign in again.".to_owned(),
        ),
        // True to its word: the auth context reloads every card when the browser is back
        // online, or when a refresh succeeds again after failing.
        codes::TEMPORARILY_UNAVAILABLE => (
            "Offline",
            "The server could not be reached; this loads again once the connection is back."
                .to_owned(),
        ),
        _ => ("Error", error.message),
    };
    view! {
        <div class="error" role="alert">
            <strong>{headline}</strong>
            " "
            <span>{detail}</span>
        </div>
    }
}
