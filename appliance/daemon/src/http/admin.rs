//! Admin routes, used by `appliance status|scrub|rebuild` when a running daemon holds the index:
//! `GET /v1/admin/status`, `POST /v1/admin/scrub`, `POST /v1/admin/rebuild/{drive}`, and
//! `POST /v1/admin/compact`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::error::ApiError;
use super::{run_blocking, AppState};
use appliance_storage::{CompactReport, EngineStatus, RebuildReport, ScrubReport};

/// The admin routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/admin/status", get(status))
        .route("/v1/admin/scrub", post(scrub))
        .route("/v1/admin/compact", post(compact))
        .route("/v1/admin/rebuild/{drive}", post(rebuild))
}

async fn status(State(state): State<Arc<AppState>>) -> Result<Json<EngineStatus>, ApiError> {
    let status = run_blocking(&state, |engine| engine.status()).await?;
    Ok(Json(status))
}

async fn scrub(State(state): State<Arc<AppState>>) -> Result<Json<ScrubReport>, ApiError> {
    let report = run_blocking(&state, |engine| engine.scrub()).await?;
    Ok(Json(report))
}

async fn compact(State(state): State<Arc<AppState>>) -> Result<Json<CompactReport>, ApiError> {
    let report = run_blocking(&state, |engine| engine.compact()).await?;
    Ok(Json(report))
}

async fn rebuild(
    State(state): State<Arc<AppState>>,
    Path(drive): Path<String>,
) -> Result<Json<RebuildReport>, ApiError> {
    let drive: usize = drive.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "drive {drive:?} is not a drive number (0, 1, 2, ...)"
        ))
    })?;
    let report = run_blocking(&state, move |engine| engine.rebuild(drive)).await?;
    Ok(Json(report))
}
