//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3, RFC 8414) and
//! `GET /.well-known/jwks.json` (RFC 7517): everything a client needs to find the endpoints and
//! check a token's signature, with no secret shared.

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::server::http::oidc::paths;
use crate::server::{
    core::{
        clients::{AuthMethod, CLIENT_CREDENTIALS, SCOPES},
        dpop,
        signing::ALGORITHM_NAME,
    },
    http::state::IdpState,
};

/// The claims this provider sets, and the standard ones a `USERS_FILE` may give a user.
const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "preferred_username",
    "name",
    "roles",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

/// How long a JWKS may be cached: short, so a *next* key published for a rotation reaches
/// every client long before it signs.
const JWKS_MAX_AGE_SECS: u64 = 300;

/// The provider metadata (Discovery §4).
pub async fn configuration(State(state): State<IdpState>) -> Json<serde_json::Value> {
    let issuer = &state.config.issuer;
    let at = |path: &str| format!("{issuer}{path}");
    // RFC 6749 §2.3.1: both secret methods, each client the one it is registered for.
    let methods: Vec<&str> = AuthMethod::ALL.iter().map(|method| method.name()).collect();
    let secret_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|method| **method != AuthMethod::None)
        .map(|method| method.name())
        .collect();
    let mut metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": at(paths::AUTHORIZE),
        "token_endpoint": at(paths::TOKEN),
        "jwks_uri": at(paths::JWKS),
        "userinfo_endpoint": at(paths::USERINFO),
        "revocation_endpoint": at(paths::REVOKE),
        "introspection_endpoint": at(paths::INTROSPECT),
        "end_session_endpoint": at(paths::END_SESSION),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", CLIENT_CREDENTIALS],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": secret_methods,
        "id_token_signing_alg_values_supported": [ALGORITHM_NAME],
        "subject_types_supported": ["public"],
        "scopes_supported": SCOPES,
        "claims_supported": CLAIMS,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    // RFC 9449 §5.1: the proof algorithms, when DPoP is on (`DPOP`).
    if state.dpop.is_some() {
        metadata["dpop_signing_alg_values_supported"] = json!(dpop::ALGORITHMS);
    }
    Json(metadata)
}

/// The public keys that verify our tokens, the next key among them before it signs.
pub async fn jwks(State(state): State<IdpState>) -> Response {
    let keys = state.oidc.published_keys(state.clock.now_secs());
    let mut response = Json(json!({ "keys": keys })).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE_SECS}"))
            .expect("a valid header value"),
    );
    response
}
