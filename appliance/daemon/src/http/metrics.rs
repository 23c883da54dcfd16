//! `GET /metrics`: the Prometheus text of everything recorded through the `metrics` facade
//! (the engine's `storage_*` counters and histograms).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::AppState;

/// The metrics route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let handle = state.metrics.as_ref().ok_or_else(|| {
        ApiError::Internal("no metrics exporter is installed in this process".into())
    })?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    ))
}
