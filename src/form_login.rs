//! Signing in with a password, as the app words it: the login form's server function (posting
//! to `/rpc/login`, with or without JavaScript), and the one place the login messages live.

use leptos::prelude::*;

pub use crate::api::login_form::LoginFailure;

/// The login form's target. Always answers with a redirect: to `next` on success, back to the
/// form with an error otherwise. The demo signs in this way only: its pages are full page loads
/// (islands, no client router), so a token the login page got from the JSON API would be gone
/// at the next page anyway. Apps with a client router can use [`crate::auth::AuthContext::login`].
#[server(prefix = "/rpc", endpoint = "login")]
pub async fn form_login(
    // Optional, so a form missing a field is refused like a wrong password rather than failing
    // to decode.
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    use axum::http::{header, HeaderMap};

    use crate::{
        api::auth::LoginRequest,
        api::redirect::safe_next,
        server::{
            http::{
                error::ApiError,
                guard::{is_cross_site, login_form_path},
                handlers::auth::{refresh_cookie, sign_in},
            },
            IdpState,
        },
    };

    let next = safe_next(next.as_deref());
    let back_to_form =
        |failure: LoginFailure| leptos_axum::redirect(&login_form_path(failure, &next));
    let headers: HeaderMap = leptos_axum::extract().await?;
    if is_cross_site(&headers) {
        back_to_form(LoginFailure::CrossSite);
        return Ok(());
    }
    let (Some(username), Some(password)) = (username, password) else {
        back_to_form(LoginFailure::Invalid);
        return Ok(());
    };
    let state = expect_context::<IdpState>();
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    match sign_in(
        &state,
        &session,
        LoginRequest { username, password },
        &headers,
    )
    .await
    {
        Ok((_, grant)) => {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.append_header(header::SET_COOKIE, refresh_cookie(&grant));
            leptos_axum::redirect(&next);
        }
        Err(ApiError::TooManyAttempts { .. }) => back_to_form(LoginFailure::Throttled),
        Err(ApiError::Unavailable) => back_to_form(LoginFailure::Unavailable),
        Err(_) => back_to_form(LoginFailure::Invalid),
    }
    Ok(())
}
