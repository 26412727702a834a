//! `IdpState`: everything the identity provider's handlers need, built once at start-up and
//! cheap to clone. It knows nothing of Leptos: a host app keeps it inside its own state and
//! hands it over with axum's `FromRef` (the demo's `SiteState`, `examples/router_app`).

use std::{ops::Deref, sync::Arc};

use crate::server::{
    config::Config,
    core::{
        clients::ClientRegistry,
        clock::{Clock, SystemClock},
        data::DemoData,
        families::{FamilyRegistry, Lifetimes},
        faults::DemoFaultSwitches,
        keys::KeyRing,
        store::{timed::Timed, Store, StoreResult},
        throttle::LoginThrottle,
        tokens::{TokenIssuer, TokenKeys},
        upgrade,
        users::UserStore,
    },
    http::{
        client::ClientLimiter, dpop::DpopChecks, oidc::Provider, session_records::SessionRecords,
    },
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
    /// DPoP's nonces and the proofs seen; `None` with `DPOP=off`.
    pub dpop: Option<DpopChecks>,
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
        let master_key = upgrade::master_secret(&*store, config.jwt_secret.as_deref()).await?;
        // Before the families are used: whether this start upgrades a store with sessions.
        let ttl_secs = config.access_token_ttl.as_secs();
        let upgrade_window =
            upgrade::previous_format_until(&*store, clock.now_secs(), ttl_secs).await?;
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
        let (signing_keys, retiring_keys) = match &config.signing_keys {
            Some(files) => (files.clone(), None),
            None => {
                let (generated, retiring) =
                    upgrade::generated_signing_keys(&*store, &keys, upgrade_window).await?;
                (Arc::new(generated), retiring)
            }
        };
        let mut token_keys = TokenKeys::es256(&signing_keys);
        if let Some(until) = upgrade_window {
            // The previous format's keys: HS256 (before ES256) and the ES256 keys derived from
            // the master secret, for the tokens issued before the upgrade and no others.
            token_keys = token_keys.accepting_hs256_until(&keys.derive("access-token"), until);
            if let Some(retiring) = &retiring_keys {
                token_keys = token_keys.accepting_es256_until(retiring, until);
            }
        }
        Ok(Self(Arc::new(Services {
            tokens: Arc::new(
                TokenIssuer::new(
                    token_keys,
                    config.issuer.clone(),
                    config.access_token_ttl,
                    clock.clone(),
                )
                .accepting_previous_format_until(upgrade_window),
            ),
            oidc: Arc::new(Provider {
                clients: ClientRegistry::new(&config.oauth_clients),
                jwks: signing_keys.published().cloned().collect(),
                retiring: retiring_keys
                    .iter()
                    .flat_map(|keys| keys.published().cloned())
                    .collect(),
                retiring_until: upgrade_window.unwrap_or(0),
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
            dpop: config
                .dpop
                .then(|| DpopChecks::new(&keys.derive("dpop-nonce"))),
            store,
            config: Arc::new(config),
        })))
    }
}
