//! `GET /v1/health`: ok while every drive is healthy, degraded while no more than the parity
//! count has failed (data still readable), failed (503) beyond that. The body also names the
//! box's node id when it serves samples over QUIC.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::error::ApiError;
use super::{run_blocking, AppState};

/// The health route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/health", get(health))
}

/// Body of `GET /v1/health`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` or `failed`.
    pub status: &'static str,
    /// Number of drives in the set.
    pub drives: usize,
    /// Drives currently failed.
    pub failed_drives: usize,
    /// How many failed drives the stripes tolerate.
    pub tolerated_failures: usize,
    /// The node id light clients pin for this box's QUIC sample server (absent when none runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

async fn health(
    State(state): State<Arc<AppState>>,
) -> Result<(StatusCode, Json<Health>), ApiError> {
    let status = run_blocking(&state, |engine| engine.status()).await?;
    let failed_drives = status.drives.iter().filter(|d| !d.online).count();
    let tolerated_failures = status.parity_shards;
    let (code, word) = if failed_drives == 0 {
        (StatusCode::OK, "ok")
    } else if failed_drives <= tolerated_failures {
        (StatusCode::OK, "degraded")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "failed")
    };
    Ok((
        code,
        Json(Health {
            status: word,
            drives: status.drives.len(),
            failed_drives,
            tolerated_failures,
            node_id: state.node_id.map(|id| id.to_string()),
        }),
    ))
}
