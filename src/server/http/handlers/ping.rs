//! Two tiny twins for `scripts/bench.sh`: the same answer with and without the Bearer check, so
//! the throughput ratio of the pair is the cost of authentication and nothing else.

use axum::http::header;

use crate::{
    api::resources::paths,
    server::http::{
        extract::Authenticated,
        openapi::{schemas, PongBody},
    },
};

/// The body both twins send: small, so the ratio is not diluted by serialisation work.
const PONG: &str = r#"{"ok":true}"#;

type Pong = ([(header::HeaderName, &'static str); 1], &'static str);

fn pong() -> Pong {
    ([(header::CONTENT_TYPE, "application/json")], PONG)
}

/// `GET /api/ping`: no credentials needed.
#[utoipa::path(
    get, path = paths::PING, tag = "ops", security(()),
    responses(
        (status = 200, description = "Always `{\"ok\":true}`", body = PongBody),

    )
)]
pub async fn public() -> Pong {
    pong()
}

/// `GET /api/me/ping`: the same answer behind the Bearer check every protected endpoint runs.
#[utoipa::path(
    get, path = paths::PROTECTED_PING, tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, description = "Always `{\"ok\":true}`", body = PongBody),
        (status = 401, description = "`unauthenticated` (no Bearer token) or `invalid_token` (malformed, expired or revoked; the session ended)", body = schemas::ApiErrorBody),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn protected(_auth: Authenticated) -> Pong {
    pong()
}
