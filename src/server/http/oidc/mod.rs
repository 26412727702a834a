//! The standard face of the identity provider: OpenID Connect discovery, the JWKS, the
//! authorization code flow with PKCE, the token endpoint (whose refresh tokens are the same
//! refresh families as the first-party cookie's), userinfo, revocation, introspection and
//! RP-initiated logout — so clients nobody here wrote can be pointed at Tokenflight.
//!
//! One file per endpoint or concern; this one the paths, the issuer and the routes.

pub mod authorize;
pub mod discovery;
pub mod error;
pub mod id_token;
pub mod logout;
pub mod revocation;
pub mod token;
pub mod userinfo;

use axum::{
    extract::FromRef,
    http::{header, Method, StatusCode},
    routing::{get, post},
    Router,
};
use tower_http::cors::{Any, CorsLayer};

use crate::server::core::clients::ClientRegistry;
use crate::server::{core::signing::PublicJwk, http::state::IdpState};

/// Where each endpoint lives (discovery names them all).
pub mod paths {
    /// The provider metadata (OpenID Connect Discovery 1.0 §4), where clients start.
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    /// The public keys that verify our tokens (RFC 7517): the metadata's `jwks_uri`.
    pub const JWKS: &str = "/.well-known/jwks.json";
    /// Where a client sends the browser to sign in (RFC 6749 §3.1, code flow with PKCE only).
    pub const AUTHORIZE: &str = "/oauth/authorize";
    /// Where a client trades a code or a refresh token for tokens (RFC 6749 §3.2).
    pub const TOKEN: &str = "/oauth/token";
    /// The claims of an access token's user (OIDC Core §5.3), by `GET` or `POST`.
    pub const USERINFO: &str = "/oauth/userinfo";
    /// Token revocation (RFC 7009): either token of a family ends the whole family.
    pub const REVOKE: &str = "/oauth/revoke";
    /// Token introspection (RFC 7662), for confidential clients only.
    pub const INTROSPECT: &str = "/oauth/introspect";
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `end_session_endpoint`.
    pub const END_SESSION: &str = "/oauth/logout";
}

/// Largest body an OAuth endpoint reads: a token request is a few hundred bytes.
pub const OAUTH_BODY_LIMIT: usize = 8 * 1024;

/// What the OIDC endpoints share: the registered clients and the published keys.
#[derive(Debug)]
pub struct Provider {
    /// The built-in public client and those of `OAUTH_CLIENTS_FILE`.
    pub clients: ClientRegistry,
    /// Every published key, the signing key first, then the next and previous ones.
    pub jwks: Vec<PublicJwk>,
    /// The previous format's keys, published until `retiring_until` only (the upgrade window,
    /// `server::core::upgrade`): a resource server must not trust what they sign after it.
    pub retiring: Vec<PublicJwk>,
    /// When the retiring keys leave the JWKS, in seconds since the epoch.
    pub retiring_until: u64,
}

impl Provider {
    /// The JWKS at `now_secs`.
    pub fn published_keys(&self, now_secs: u64) -> Vec<&PublicJwk> {
        let retiring = self
            .retiring
            .iter()
            .filter(|_| now_secs < self.retiring_until);
        self.jwks.iter().chain(retiring).collect()
    }
}

/// The OIDC routes. Those a browser client calls from its own origin (discovery, JWKS, token,
/// userinfo, revocation) answer CORS for any origin, never with credentials: they take no
/// cookies, so another origin gains nothing a server-side client could not do.
pub fn routes<S>() -> Router<S>
where
    IdpState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    // `OPTIONS` is routed so the preflight reaches the CORS layer (which answers it) instead of
    // the API's 405 fallback.
    let preflight = || async { StatusCode::NO_CONTENT };
    let cross_origin = Router::new()
        .route(
            paths::DISCOVERY,
            get(discovery::configuration).options(preflight),
        )
        .route(paths::JWKS, get(discovery::jwks).options(preflight))
        .route(paths::TOKEN, post(token::token).options(preflight))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .options(preflight),
        )
        .route(paths::REVOKE, post(revocation::revoke).options(preflight))
        .layer(cors);
    Router::new()
        .route(
            paths::AUTHORIZE,
            get(authorize::authorize).post(authorize::authorize_form),
        )
        .route(paths::INTROSPECT, post(revocation::introspect))
        .route(paths::END_SESSION, get(logout::end_session))
        .merge(cross_origin)
        .layer(axum::extract::DefaultBodyLimit::max(OAUTH_BODY_LIMIT))
}
