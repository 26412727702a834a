//! What operators and load balancers ask: `/healthz` (the process answers), `/readyz` (the
//! store answers too), and Prometheus `/metrics` on its own address (`METRICS_ADDR`), so
//! counters never face the public internet by accident.

use std::{net::SocketAddr, time::Duration};

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::server::http::{error::ApiError, openapi::schemas, state::IdpState};

/// The body of `/healthz` (`ok`) and `/readyz` (`ready`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// `GET /healthz`: 200 while the process serves requests, whatever the store does (restarting
/// a process cannot fix a store outage).
#[utoipa::path(
    get, path = "/healthz", tag = "ops", security(()),
    responses(
        (status = 200, description = "The process serves requests: `{\"status\":\"ok\"}`", body = Status),

    )
)]
pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// `GET /readyz`: 200 when the store answers within its timeout, 503 `temporarily_unavailable`
/// otherwise, so a load balancer sends traffic elsewhere.
#[utoipa::path(
    get, path = "/readyz", tag = "ops", security(()),
    responses(
        (status = 200, description = "The store answers: `{\"status\":\"ready\"}`", body = Status),
        (status = 503, description = "`temporarily_unavailable`: the session store did not answer; retry after `Retry-After`", body = schemas::ApiErrorBody),
    )
)]
pub async fn readyz(State(state): State<IdpState>) -> Result<Json<Status>, ApiError> {
    state.store.ping().await?;
    Ok(Json(Status { status: "ready" }))
}

/// Installs the process-wide metrics recorder and serves `GET /metrics` on `addr`. Returns
/// once listening; a taken address is a start-up error.
pub async fn serve_metrics(addr: SocketAddr) -> Result<(), String> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| format!("cannot install the metrics recorder: {error}"))?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        format!("cannot listen on {addr}: {error}. Set METRICS_ADDR to another address or off.")
    })?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        // Without the HTTP listener feature, histograms are drained by hand.
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new()
        .route("/metrics", get(render))
        .with_state(handle);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics server stopped");
        }
    });
    tracing::info!("metrics on http://{addr}/metrics");
    Ok(())
}

async fn render(State(handle): State<PrometheusHandle>) -> (StatusCode, String) {
    (StatusCode::OK, handle.render())
}
