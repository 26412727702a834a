//! Two tiny twins for `scripts/bench.sh`: the same answer with and without the Bearer check, so
//! the throughput ratio of the pair is the cost of authentication and nothing else.

use axum::http::header;

use crate::server::extract::Authenticated;

/// The body both twins send: small, so the ratio is not diluted by serialisation work.
const PONG: &str = r#"{"ok":true}"#;

type Pong = ([(header::HeaderName, &'static str); 1], &'static str);

fn pong() -> Pong {
    ([(header::CONTENT_TYPE, "application/json")], PONG)
}

/// `GET /api/ping`: no credentials needed.
pub async fn public() -> Pong {
    pong()
}

/// `GET /api/me/ping`: the same answer behind the Bearer check every protected endpoint runs.
pub async fn protected(_auth: Authenticated) -> Pong {
    pong()
}
