//! The security suite: one test per attack, grouped by area, each naming the attack it tries and
//! the RFC or OWASP text it checks against. The README's checklist maps attacks to these tests.

#[macro_use]
mod common;
// The real-process helpers, for `connections.rs`. They bring their own copy of the Redis
// helper that `common` also loads; this suite reaches Redis through `common` only.
#[allow(clippy::duplicate_mod)]
mod process;

#[path = "security/api_scopes.rs"]
mod api_scopes;
#[path = "security/brute_force.rs"]
mod brute_force;
#[path = "security/client_authentication.rs"]
mod client_authentication;
#[path = "security/connections.rs"]
mod connections;
#[path = "security/content_types.rs"]
mod content_types;
#[path = "security/cookies.rs"]
mod cookies;
#[path = "security/cross_site.rs"]
mod cross_site;
#[path = "security/disconnect_floods.rs"]
mod disconnect_floods;
#[path = "security/dpop.rs"]
mod dpop;
#[path = "security/forged_claims.rs"]
mod forged_claims;
#[path = "security/headers.rs"]
mod headers;
#[path = "security/machine_clients.rs"]
mod machine_clients;
#[path = "security/oidc.rs"]
mod oidc;
#[path = "security/oidc_review.rs"]
mod oidc_review;
#[path = "security/redirects_and_errors.rs"]
mod redirects_and_errors;
#[path = "security/refresh_replay.rs"]
mod refresh_replay;
#[path = "security/resource_indicators.rs"]
mod resource_indicators;
#[path = "security/session_fixation.rs"]
mod session_fixation;
#[path = "security/storage.rs"]
mod storage;
#[path = "security/tokens.rs"]
mod tokens;
