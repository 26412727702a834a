//! `AppState`: everything a handler may need, built once at start-up and cheap to clone.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use rand::RngCore;
use tower_sessions::MemoryStore;

use super::{
    client::ClientLimiter,
    clock::{Clock, SystemClock},
    config::Config,
    data::DemoData,
    families::{FamilyRegistry, Lifetimes},
    keys::KeyRing,
    throttle::LoginThrottle,
    tokens::TokenIssuer,
    users::UserStore,
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub tokens: Arc<TokenIssuer>,
    pub families: Arc<FamilyRegistry>,
    pub users: Arc<UserStore>,
    pub throttle: Arc<LoginThrottle>,
    pub client_limiter: Arc<ClientLimiter>,
    pub data: Arc<DemoData>,
    /// tower-sessions' store for the browser session (who is signed in, for the first paint).
    pub session_store: MemoryStore,
}

impl AppState {
    /// The production state: the real clock.
    pub fn new(leptos_options: LeptosOptions, config: Config) -> Self {
        Self::with_clock(leptos_options, config, Arc::new(SystemClock))
    }

    /// Like [`AppState::new`] with an injected clock, so tests can move time.
    pub fn with_clock(
        leptos_options: LeptosOptions,
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let master_key = config.jwt_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "JWT_SECRET is not set: using a random key, so tokens die with this process"
            );
            let mut key = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            key
        });
        let lifetimes = Lifetimes {
            grace: config.refresh_grace,
            idle: config.session_idle_timeout,
            absolute: config.session_absolute_timeout,
        };
        let keys = KeyRing::new(master_key, config.jwt_previous_secrets.clone());
        Self {
            tokens: Arc::new(TokenIssuer::new(
                keys.derive("access-token"),
                config.access_token_ttl,
                clock.clone(),
            )),
            families: Arc::new(FamilyRegistry::new(
                keys.derive("refresh-credential"),
                lifetimes,
                clock.clone(),
            )),
            users: Arc::new(UserStore::demo(config.login_hash_concurrency)),
            throttle: Arc::new(LoginThrottle::new(
                config.login_max_failures,
                config.login_lockout,
                clock.clone(),
            )),
            client_limiter: Arc::new(ClientLimiter::new(
                config.login_per_client_per_minute,
                clock,
            )),
            data: Arc::new(DemoData::default()),
            session_store: MemoryStore::default(),
            config: Arc::new(config),
            leptos_options,
        }
    }
}
