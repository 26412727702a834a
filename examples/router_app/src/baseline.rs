//! The yardstick for the auth client's cost (feature `baseline`, `scripts/budget.sh`): the
//! same app with the naive stand-in every app starts from — a bearer token in a signal, fetch,
//! no refresh, no retry, no tabs. The difference between the two release bundles is what
//! Tokenflight's client adds. Never served: a page with this client loses its session when the
//! first access token expires.

use std::fmt;

use gloo_net::http::{Request, RequestBuilder};
use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use tokenflight::api::auth::{paths, LoginRequest, TokenResponse, User};

/// The stand-in's settings: none, as a naive client has.
#[derive(Clone, Copy, Default)]
pub struct AuthConfig {}

/// Why a call failed: the status or the transport's message.
#[derive(Clone, Debug)]
pub struct Failed(String);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The token and the user, in signals.
#[derive(Clone, Copy)]
pub struct AuthContext {
    token: RwSignal<Option<String>>,
    user: RwSignal<Option<User>>,
    listeners: StoredValue<usize>,
}

/// Provides the stand-in, as `tokenflight::auth::provide_auth` provides the client.
pub fn provide_auth(_config: AuthConfig, first_paint_user: Option<User>) -> AuthContext {
    let auth = AuthContext {
        token: RwSignal::new(None),
        user: RwSignal::new(first_paint_user),
        listeners: StoredValue::new(0),
    };
    provide_context(auth);
    auth
}

/// The stand-in in context.
pub fn use_auth() -> AuthContext {
    expect_context()
}

impl AuthContext {
    /// The signed-in user.
    pub fn user(self) -> Signal<Option<User>> {
        self.user.into()
    }

    /// Counts the listener; the stand-in has no events to send it.
    pub fn subscribe(self, _listener: impl Fn(&()) + 'static) {
        self.listeners.update_value(|n| *n += 1);
    }

    /// How many listeners subscribed.
    pub fn subscription_count(self) -> usize {
        self.listeners.get_value()
    }

    /// `GET path` as JSON, in a local resource.
    pub fn resource<T>(self, path: &'static str) -> LocalResource<Result<T, Failed>>
    where
        T: DeserializeOwned + 'static,
    {
        LocalResource::new(move || self.get_json(path))
    }

    /// `GET path` with the bearer token.
    pub async fn get_json<T: DeserializeOwned>(self, path: &str) -> Result<T, Failed> {
        let response = self
            .authorized(Request::get(path))
            .send()
            .await
            .map_err(failed)?;
        if !response.ok() {
            return Err(Failed(format!("HTTP {}", response.status())));
        }
        response.json().await.map_err(failed)
    }

    /// `POST path` with a JSON body and the bearer token.
    pub async fn post_json(self, path: &str, body: &impl Serialize) -> Result<(), Failed> {
        let request = self
            .authorized(Request::post(path))
            .json(body)
            .map_err(failed)?;
        let response = request.send().await.map_err(failed)?;
        match response.ok() {
            true => Ok(()),
            false => Err(Failed(format!("HTTP {}", response.status()))),
        }
    }

    /// Signs in and keeps the token.
    pub async fn login(self, username: String, password: String) -> Result<User, Failed> {
        let request = Request::post(paths::LOGIN)
            .json(&LoginRequest { username, password })
            .map_err(failed)?;
        let response = request.send().await.map_err(failed)?;
        if !response.ok() {
            return Err(Failed(format!("HTTP {}", response.status())));
        }
        let tokens: TokenResponse = response.json().await.map_err(failed)?;
        self.token.set(Some(tokens.access_token));
        self.user.set(Some(tokens.user.clone()));
        Ok(tokens.user)
    }

    /// Forgets the token and tells the server.
    pub async fn logout(self) {
        let _ = Request::post(paths::LOGOUT).send().await;
        self.token.set(None);
        self.user.set(None);
    }

    fn authorized(self, request: RequestBuilder) -> RequestBuilder {
        match self.token.get_untracked() {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }
}

fn failed(error: impl fmt::Display) -> Failed {
    Failed(error.to_string())
}
