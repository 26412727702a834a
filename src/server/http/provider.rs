//! [`IdentityProvider`]: the identity provider as a library, for an axum app to nest — built
//! from a [`Config`], its routes in the host's router with the host's own state, its layers
//! around the whole app, and served with the connection limits of [`listener`].

use std::future::Future;

use axum::{extract::FromRef, Router};

use crate::server::{
    config::Config,
    core::store::StoreResult,
    http::{api_routes, listener, spawn_housekeeping, state::IdpState, with_server_layers},
};

/// The identity provider and the protected API, started.
///
/// ```no_run
/// use axum::{extract::{FromRef, State}, routing::get, Router};
/// use tokenflight::server::{config::Config, IdentityProvider, IdpState};
///
/// // The host's state holds the identity provider's and hands it over with `FromRef`.
/// #[derive(Clone, FromRef)]
/// struct HostState {
///     idp: IdpState,
///     greeting: &'static str,
/// }
///
/// async fn hello(State(greeting): State<&'static str>) -> &'static str {
///     greeting
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let idp = IdentityProvider::start(Config::from_env()?).await?;
/// let state = HostState { idp: idp.state(), greeting: "hello" };
/// let app = Router::new()
///     .route("/hello", get(hello))
///     .merge(idp.routes())
///     .with_state(state);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// idp.serve(listener, idp.layer(app), std::future::pending()).await;
/// # Ok(())
/// # }
/// ```
pub struct IdentityProvider {
    state: IdpState,
}

impl IdentityProvider {
    /// Opens the configured store, loads the keys and the revocations made before this
    /// process started, and starts the housekeeping (expired sessions swept every minute,
    /// other instances' revocations read four times a second).
    pub async fn start(config: Config) -> StoreResult<Self> {
        let state = IdpState::new(config).await?;
        spawn_housekeeping(state.clone());
        Ok(Self { state })
    }

    /// The state its handlers read: keep it in the host's state, behind `FromRef`.
    pub fn state(&self) -> IdpState {
        self.state.clone()
    }

    /// The endpoints — sign-in, refresh, logout, OpenID Connect, the protected API, OpenAPI,
    /// health — for a router whose state `S` can give an [`IdpState`].
    pub fn routes<S>(&self) -> Router<S>
    where
        IdpState: FromRef<S>,
        S: Clone + Send + Sync + 'static,
    {
        api_routes(&self.state)
    }

    /// `app` — the routes merged with the host's own, its state given — inside what the
    /// identity provider needs around every request: browser sessions, the first-paint user,
    /// the sign-in and form guards, transport security, compression, request logs.
    pub fn layer(&self, app: Router) -> Router {
        with_server_layers(app, self.state.clone())
    }

    /// Serves `app` on `listener` until `shutdown` resolves, within the configured connection
    /// limits (`MAX_CONNECTIONS`, `HEADER_READ_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`) — which
    /// `axum::serve` has no settings for — and finishes the answers in progress.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()>,
    ) {
        listener::serve(listener, app, self.state.config.connections, shutdown).await;
    }
}
