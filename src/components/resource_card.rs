//! A card around one protected resource: a skeleton while it loads, the data, or a clear error.

use leptos::prelude::*;

use crate::auth::AuthError;

#[component]
pub fn ResourceCard<T, V, F>(
    title: &'static str,
    resource: LocalResource<Result<T, AuthError>>,
    render: F,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <section class="card" aria-label=title aria-busy=move || resource.get().is_none().to_string()>
            <h2>{title}</h2>
            <Transition fallback=|| view! { <div class="skeleton" aria-hidden="true"></div> }>
                {
                    let render = render.clone();
                    move || {
                        let render = render.clone();
                        Suspend::new(async move {
                            match resource.await {
                                Ok(data) => render(data).into_any(),
                                Err(error) => view! { <ErrorMessage error/> }.into_any(),
                            }
                        })
                    }
                }
            </Transition>
        </section>
    }
}

/// What a failed protected request looks like to a person.
#[component]
pub fn ErrorMessage(error: AuthError) -> impl IntoView {
    let (headline, detail) = match &error {
        AuthError::Forbidden => (
            "Forbidden",
            "Your account does not have access to this.".to_owned(),
        ),
        AuthError::Unauthorized | AuthError::SessionExpired => (
            "Signed out",
            "Your session has ended. Sign in again.".to_owned(),
        ),
        AuthError::Transient(_) => (
            "Offline",
            "The server cannot be reached; retrying.".to_owned(),
        ),
        other => ("Error", other.to_string()),
    };
    view! {
        <div class="error" role="alert">
            <strong>{headline}</strong>
            " "
            <span>{detail}</span>
        </div>
    }
}
