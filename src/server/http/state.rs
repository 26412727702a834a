//! `IdpState`: everything the identity provider's handlers need, built once at start-up and
//! cheap to clone. It knows nothing of Leptos: a host app keeps it inside its own state and
//! hands it over with axum's `FromRef` (the demo's `SiteState`, `examples/router_app`).

use std::{ops::Deref, sync::Arc};

use rand::RngCore;

use crate::server::{
    config::Config,
    core::{
        clients::ClientRegistry,
        clock::{Clock, SystemClock},
        data::DemoData,
        families::{FamilyRegistry, Lifetimes},
        faults::DemoFaultSwitches,
        keys::KeyRing,
        signing::SigningKeys,
        store::{timed::Timed, Store, StoreResult},
        throttle::LoginThrottle,
        tokens::{TokenIssuer, TokenKeys},
        users::UserStore,
    },
    http::{client::ClientLimiter, oidc::Provider, session_records::SessionRecords},
};

/// A handle on the [`Services`]: one reference count. axum clones the state for every
/// middleware layer and extractor of every request; cloned field by field (the Leptos options'
/// strings then, a dozen `Arc`s whose counts both cores fight over) that was a third of a refresh's
/// CPU under load (`perf`, `docs/store-measurements.md`).
#[derive(Clone)]
pub struct IdpState(Arc<Services>);

impl Deref for IdpState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the handlers share, built once by [`IdpState::new`].
pub struct Services {
    /// Every setting, validated at start-up.
    pub config: Arc<Config>,
    /// Mints and verifies access tokens (with the verified-token cache).
    pub tokens: Arc<TokenIssuer>,
    /// The refresh families: sign-in, rotation, grace, reuse, revocation.
    pub families: Arc<FamilyRegistry>,
    /// The demo's fault switches, which the refresh decision asks (`server::http::faults`).
    pub faults: Arc<DemoFaultSwitches>,
    /// The built-in users, or those of `USERS_FILE`, and their password checks.
    pub users: Arc<UserStore>,
    /// Sign-in failures per account and address, and each account's backoff, in the store.
    pub throttle: Arc<LoginThrottle>,
    /// Sign-in attempts per client address, in the store.
    pub client_limiter: Arc<ClientLimiter>,
    /// The protected API's made-up items and counters, per user.
    pub data: Arc<DemoData>,
    /// The store every call goes through (bounded by `STORE_TIMEOUT_MS`, measured).
    pub store: Arc<dyn Store>,
    /// tower-sessions' store for the browser session (who is signed in, for the first paint).
    pub session_store: SessionRecords,
    /// The OpenID Connect provider's clients and published keys.
    pub oidc: Arc<Provider>,
    /// The clock every expiry is read from (injected, so tests move time).
    pub clock: Arc<dyn Clock>,
}

impl IdpState {
    /// The production state: the configured store and the real clock.
    pub async fn new(config: Config) -> StoreResult<Self> {
        let store = config.store_url.open().await?;
        Self::with_store(config, store, Arc::new(SystemClock)).await
    }

    /// Like [`IdpState::new`] with an opened store and an injected clock, so tests can pick the
    /// backend and move time.
    pub async fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> StoreResult<Self> {
        let store: Arc<dyn Store> = Arc::new(Timed::new(store, config.store_timeout));
        let master_key = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => {
                // Generated once per store, so restarts and every instance sharing the store
                // agree on it; the first to start wins.
                let mut candidate = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut candidate);
                let key = store.signing_key(&candidate).await?;
                if key == candidate {
                    tracing::info!(
                        "JWT_SECRET is not set: generated a signing key, kept in the store"
                    );
                }
                key
            }
        };
        let lifetimes = Lifetimes {
            grace: config.refresh_grace,
            idle: config.session_idle_timeout,
            absolute: config.session_absolute_timeout,
            access: config.access_token_ttl,
        };
        let keys = KeyRing::new(master_key, config.jwt_previous_secrets.clone());
        let faults = Arc::new(DemoFaultSwitches::new(clock.clone()));
        let families = FamilyRegistry::new(
            store.clone(),
            keys.derive("refresh-credential"),
            lifetimes,
            config.max_sessions_per_user,
            clock.clone(),
        )
        .with_faults(faults.clone());
        // Revocations made before this process started still bind the tokens they name.
        families.sync_revocations().await?;
        let signing_keys = config
            .signing_keys
            .clone()
            .unwrap_or_else(|| Arc::new(SigningKeys::derived(&keys)));
        // Access tokens were HS256 before ES256: those issued by the previous version are
        // accepted until they have expired, and from then on no HS256 token is.
        let legacy_until = clock.now_secs() + config.access_token_ttl.as_secs() + 1;
        let token_keys = TokenKeys::es256(&signing_keys)
            .accepting_hs256_until(&keys.derive("access-token"), legacy_until);
        Ok(Self(Arc::new(Services {
            tokens: Arc::new(TokenIssuer::new(
                token_keys,
                config.access_token_ttl,
                clock.clone(),
            )),
            oidc: Arc::new(Provider {
                clients: ClientRegistry::new(&config.oauth_clients),
                jwks: signing_keys.published().cloned().collect(),
            }),
            families: Arc::new(families),
            faults,
            users: Arc::new(UserStore::new(&config.users, config.login_hash_concurrency)),
            throttle: Arc::new(LoginThrottle::new(
                store.clone(),
                config.login_max_failures,
                config.login_lockout,
                clock.clone(),
            )),
            client_limiter: Arc::new(ClientLimiter::new(
                store.clone(),
                config.login_per_client_per_minute,
                clock.clone(),
            )),
            clock,
            data: Arc::new(DemoData::default()),
            session_store: SessionRecords::new(store.clone()),
            store,
            config: Arc::new(config),
        })))
    }
}
