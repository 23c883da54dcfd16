//! Blob routes (data availability): `POST /v1/blobs`, `GET /v1/blobs/{id}`,
//! `GET /v1/blobs/{id}/meta`.
//!
//! A POST body is read up to the configured maximum, then dispersed on a blocking task (the KZG
//! work runs on the blob store's own thread pool, never on the async executor). See
//! `docs/da.md`.

use std::sync::Arc;

use appliance_da::{BlobMeta, BlobStore};
use appliance_protocol::BlobId;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Serialize;

use super::error::ApiError;
use super::objects::content_length;
use super::AppState;
use crate::limits::OBJECT_CACHE_CONTROL;

/// The blob routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/blobs", post(post_blob))
        .route("/v1/blobs/{id}", get(get_blob))
        .route("/v1/blobs/{id}/meta", get(get_meta))
}

/// A blob as the API shows it.
#[derive(Debug, Serialize)]
pub struct BlobInfo {
    /// The blob id: 64 hex characters binding the size and every commitment.
    pub id: String,
    /// Bytes of the blob.
    pub size: u64,
    /// Chunks (126,976 blob bytes each).
    pub chunks: usize,
    /// Each chunk's KZG commitment, 96 hex characters, in chunk order.
    pub commitments: Vec<String>,
}

impl From<&BlobMeta> for BlobInfo {
    fn from(meta: &BlobMeta) -> Self {
        BlobInfo {
            id: meta.id.to_string(),
            size: meta.size,
            chunks: meta.chunks(),
            commitments: meta.commitments.iter().map(hex::encode).collect(),
        }
    }
}

/// The blob store, or 404 when this box runs without one.
pub(super) fn blob_store(state: &AppState) -> Result<BlobStore, ApiError> {
    state
        .blobs
        .clone()
        .ok_or_else(|| ApiError::NotFound("data availability is not enabled on this box".into()))
}

/// A blob id from a path, or 400.
pub(super) fn parse_id(text: &str) -> Result<BlobId, ApiError> {
    if text.len() != 64 {
        return Err(ApiError::BadRequest(format!(
            "malformed blob id {:?}: expected 64 hex characters",
            text.chars().take(80).collect::<String>()
        )));
    }
    text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "malformed blob id {text:?}: expected 64 hex characters"
        ))
    })
}

/// Runs a blocking blob-store call off the async executor.
pub(super) async fn run<T, F>(store: BlobStore, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&BlobStore) -> Result<T, appliance_da::DaError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || call(&store))
        .await
        .map_err(ApiError::from_join)?
        .map_err(ApiError::from)
}

/// Reads a whole request body of at most `max` bytes (413 beyond).
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: u64,
) -> Result<Vec<u8>, ApiError> {
    let announced = content_length(headers);
    if let Some(len) = announced.filter(|len| *len > max) {
        super::oversized::drain_announced(body, len, max).await;
        return Err(ApiError::TooLarge { max });
    }
    let mut data = Vec::with_capacity(announced.unwrap_or(0).min(max) as usize);
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece
            .map_err(|e| ApiError::BadRequest(format!("reading the request body failed: {e}")))?;
        if (data.len() + piece.len()) as u64 > max {
            super::oversized::drain(&mut stream).await;
            return Err(ApiError::TooLarge { max });
        }
        data.extend_from_slice(&piece);
    }
    Ok(data)
}

async fn post_blob(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BlobInfo>, ApiError> {
    let store = blob_store(&state)?;
    let data = read_body(&headers, body, store.max_blob_size()).await?;
    if data.is_empty() {
        return Err(ApiError::BadRequest(
            "empty body: a blob must hold at least one byte".into(),
        ));
    }
    let meta = run(store.clone(), move |store| store.disperse(&data)).await?;
    tracing::debug!(id = %meta.id, size = meta.size, chunks = meta.chunks(), "blob dispersed");
    if let Some(cluster) = state.cluster.as_ref().filter(|c| !c.peers.is_empty()) {
        // Custodians get their columns before the client hears back; a peer that cannot be
        // reached is logged and counted, and the blob stays whole here.
        for push in cluster.distribute(&store, meta.id).await {
            match push.result {
                Ok(()) => {
                    tracing::debug!(blob = %meta.id, peer = %push.peer, columns = push.columns, "custody pushed")
                }
                Err(error) => {
                    tracing::warn!(blob = %meta.id, peer = %push.peer, %error, "custody push failed")
                }
            }
        }
    }
    Ok(Json(BlobInfo::from(&meta)))
}

async fn get_blob(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let bytes = run(blob_store(&state)?, move |store| store.retrieve(&id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            // The id binds the bytes: what is served under it never changes.
            (header::CACHE_CONTROL, OBJECT_CACHE_CONTROL),
        ],
        bytes,
    )
        .into_response())
}

async fn get_meta(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<BlobInfo>, ApiError> {
    let id = parse_id(&id)?;
    let meta = run(blob_store(&state)?, move |store| store.meta(&id)).await?;
    Ok(Json(BlobInfo::from(&meta)))
}
