//! The HTTP API: object routes, blob routes, health, metrics and admin, and their shared error
//! type.

pub mod admin;
pub mod blobs;
pub mod custody;
pub mod error;
pub mod health;
pub mod metrics;
pub mod objects;
mod oversized;
pub mod range;
pub mod request_metrics;

use std::sync::Arc;

use appliance_da::BlobStore;
use appliance_quic::NodeId;
use appliance_storage::{Engine, StorageError};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::trace::TraceLayer;

use crate::cluster::Cluster;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    /// The storage engine (cheap to clone; its methods block).
    pub engine: Engine,
    /// Largest object a PUT accepts; the engine enforces the same limit.
    pub max_object_size: u64,
    /// The data-availability blob store over the same engine; `None` answers the blob routes
    /// with 404.
    pub blobs: Option<BlobStore>,
    /// This box's node id and peers; `None` (or no peers) disperses without pushing custody.
    pub cluster: Option<Cluster>,
    /// The node id light clients pin for this box's QUIC sample server; `None` when none runs.
    pub node_id: Option<NodeId>,
    /// Renders the Prometheus text of `GET /metrics`; `None` when no exporter is installed.
    pub metrics: Option<PrometheusHandle>,
}

/// The whole API: every route of every area, with request tracing.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(objects::routes())
        .merge(blobs::routes())
        .merge(custody::routes())
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(admin::routes())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        // PUT bodies are streamed and bounded by `max_object_size`, not by axum's 2 MB default.
        .layer(DefaultBodyLimit::disable())
        .route_layer(axum::middleware::from_fn(request_metrics::record))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Runs a blocking engine call off the async executor and maps its error for HTTP.
pub async fn run_blocking<T, F>(state: &AppState, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, StorageError> + Send + 'static,
{
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || call(&engine))
        .await
        .map_err(ApiError::from_join)?
        .map_err(ApiError::from)
}
