//! Custody routes (cluster mode): `POST /v1/internal/custody`, where a peer sends the columns
//! this box keeps of a blob it dispersed, and `GET /v1/blobs/{id}/custody`, the columns kept
//! here. See `docs/da.md`.

use std::sync::Arc;

use appliance_da::custody_wire::CustodyBatch;
use appliance_da::limits::CELLS_PER_CHUNK;
use appliance_da::packing::chunk_count;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::blobs::{blob_store, parse_id, read_body, run};
use super::error::ApiError;
use super::AppState;

/// The custody routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/internal/custody", post(accept))
        .route("/v1/blobs/{id}/custody", get(columns))
}

/// Answer of both routes.
#[derive(Debug, Serialize)]
pub struct CustodyInfo {
    /// The blob id.
    pub id: String,
    /// This box's custody node id (its node key's id unless `--node-id` overrides it).
    pub node: String,
    /// The columns this box keeps, ascending (all 128 where the blob was dispersed).
    pub columns: Vec<u16>,
}

fn node_id(state: &AppState) -> String {
    state
        .cluster
        .as_ref()
        .map_or_else(String::new, |c| c.node_id.clone())
}

async fn accept(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<CustodyInfo>, ApiError> {
    let store = blob_store(&state)?;
    let chunks = chunk_count(store.max_blob_size() as usize);
    let max = CustodyBatch::encoded_len(chunks, CELLS_PER_CHUNK) as u64;
    let bytes = read_body(&headers, body, max).await?;
    let batch = CustodyBatch::decode(&bytes)?;
    let (id, columns) = (batch.id, batch.columns.clone());
    let stored = run(store, move |store| store.accept_custody(&batch)).await?;
    tracing::info!(blob = %id, columns = columns.len(), stored, "custody batch accepted");
    Ok(Json(CustodyInfo {
        id: id.to_string(),
        node: node_id(&state),
        columns,
    }))
}

async fn columns(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<CustodyInfo>, ApiError> {
    let id = parse_id(&id)?;
    let columns = run(blob_store(&state)?, move |store| store.columns(&id)).await?;
    Ok(Json(CustodyInfo {
        id: id.to_string(),
        node: node_id(&state),
        columns,
    }))
}
