//! Object routes: `PUT /v1/objects`, `GET`/`HEAD`/`DELETE /v1/objects/{id}`, `GET /v1/objects`.
//!
//! Bodies are streamed both ways: a PUT body flows chunk by chunk through a bounded channel into
//! an [`ObjectWriter`](appliance_storage::ObjectWriter) on a blocking task, and a GET range flows
//! from [`Engine::read_to`](appliance_storage::Engine::read_to) through a bounded channel into the response body.

use std::sync::Arc;

use appliance_storage::{ObjectId, ObjectMeta, StorageError};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::error::ApiError;
use super::range::{parse_range, ByteRange};
use super::{run_blocking, AppState};
use crate::limits::{
    DEFAULT_LIST_LIMIT, GET_CHANNEL_DEPTH, INLINE_READ_MAX, MAX_LIST_LIMIT, OBJECT_CACHE_CONTROL,
    PUT_CHANNEL_DEPTH,
};

/// The object routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/objects", put(put_object).get(list_objects))
        .route(
            "/v1/objects/{id}",
            get(get_object).head(head_object).delete(delete_object),
        )
}

/// An object as the API shows it: `{"id": "<64 hex>", "size": N}`.
#[derive(Debug, Serialize)]
pub struct ObjectInfo {
    /// The object's content hash, 64 lowercase hex characters.
    pub id: String,
    /// Size in bytes.
    pub size: u64,
}

impl From<&ObjectMeta> for ObjectInfo {
    fn from(meta: &ObjectMeta) -> Self {
        ObjectInfo {
            id: meta.id.to_string(),
            size: meta.size,
        }
    }
}

/// One page of `GET /v1/objects`.
#[derive(Debug, Serialize)]
pub struct ObjectPage {
    /// Objects in ascending id order.
    pub objects: Vec<ObjectInfo>,
    /// The `after` value of the next page; absent on the last page.
    pub next: Option<String>,
}

/// Query of `GET /v1/objects`, parsed by hand so bad values get the JSON error body.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// List ids strictly after this one.
    pub after: Option<String>,
    /// Page size, 1 to [`MAX_LIST_LIMIT`].
    pub limit: Option<String>,
}

/// What the HTTP task sends the blocking writer: body chunks, then an explicit end. A channel
/// closed without [`BodyMessage::End`] means the upload was cut short, so the writer is dropped
/// unfinished and nothing becomes visible.
enum BodyMessage {
    Chunk(Bytes),
    End,
}

fn parse_id(text: &str) -> Result<ObjectId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "malformed object id {text:?}: expected 64 lowercase hex characters"
        ))
    })
}

/// The entity tag of an object: its id, quoted. Ids are content hashes, so it is a strong tag.
fn etag(id: &ObjectId) -> String {
    format!("\"{id}\"")
}

/// Whether `If-None-Match` names this object's tag (or `*`): the client's copy is current.
fn client_has(headers: &HeaderMap, id: &ObjectId) -> bool {
    let tag = etag(id);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// 304 for a client that already holds the object.
fn not_modified(id: &ObjectId) -> Response {
    (
        StatusCode::NOT_MODIFIED,
        [
            (header::ETAG, etag(id)),
            (header::CACHE_CONTROL, OBJECT_CACHE_CONTROL.to_owned()),
        ],
    )
        .into_response()
}

/// The request's `Content-Length`, when present and numeric.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn put_object(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ObjectInfo>, ApiError> {
    let max = state.max_object_size;
    if let Some(len) = content_length(&headers).filter(|len| *len > max) {
        super::oversized::drain_announced(body, len, max).await;
        return Err(ApiError::TooLarge { max });
    }
    let (tx, mut rx) = mpsc::channel::<BodyMessage>(PUT_CHANNEL_DEPTH);
    let engine = state.engine.clone();
    let writer_task = tokio::task::spawn_blocking(move || {
        let mut writer = engine.writer()?;
        while let Some(message) = rx.blocking_recv() {
            match message {
                BodyMessage::Chunk(chunk) => writer.write(&chunk)?,
                BodyMessage::End => return writer.finish().map(Some),
            }
        }
        Ok::<_, StorageError>(None)
    });

    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let upload = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::BadRequest(format!("reading the request body failed: {e}"))
            })?;
            received += chunk.len() as u64;
            if received > max {
                super::oversized::drain(&mut stream).await;
                return Err(ApiError::TooLarge { max });
            }
            if tx.send(BodyMessage::Chunk(chunk)).await.is_err() {
                // The writer stopped on an error; its result below says which.
                return Ok(());
            }
        }
        // A failed send means the writer already stopped on an error, reported below.
        let _ = tx.send(BodyMessage::End).await;
        Ok(())
    }
    .await;
    drop(tx);

    let written = writer_task.await.map_err(ApiError::from_join)?;
    upload?;
    match written? {
        Some(meta) => {
            tracing::debug!(id = %meta.id, size = meta.size, "object stored");
            Ok(Json(ObjectInfo::from(&meta)))
        }
        None => Err(ApiError::Internal(
            "the object writer stopped before the end of the body".into(),
        )),
    }
}

async fn head_object(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let meta = run_blocking(&state, move |engine| engine.stat(&id)).await?;
    Ok((
        [
            (header::CONTENT_LENGTH, meta.size.to_string()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            (header::ETAG, etag(&meta.id)),
            (header::CACHE_CONTROL, OBJECT_CACHE_CONTROL.to_owned()),
        ],
        Body::empty(),
    )
        .into_response())
}

async fn get_object(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if client_has(&headers, &id) {
        run_blocking(&state, move |engine| engine.stat(&id)).await?;
        return Ok(not_modified(&id));
    }
    // A header that is not visible ASCII cannot be a byte range: it parses as malformed.
    let range_header = headers
        .get(header::RANGE)
        .map(|value| value.to_str().unwrap_or("\u{0}").to_owned());
    let (meta, range, inline) = run_blocking(&state, move |engine| {
        let meta = engine.stat(&id)?;
        let range = match range_header.as_deref() {
            None => Ok(None),
            Some(text) => parse_range(text, meta.size).map(Some),
        };
        let (offset, len) = match &range {
            Ok(Some(r)) => (r.offset, r.len),
            Ok(None) => (0, meta.size),
            Err(_) => return Ok((meta, range, None)),
        };
        let inline = if len <= INLINE_READ_MAX {
            Some(engine.read_range(&id, offset, len)?)
        } else {
            None
        };
        Ok((meta, range, inline))
    })
    .await?;
    let size = meta.size;
    let (status, range) = match range.map_err(|e| ApiError::from_range(e, size))? {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range),
        None => (
            StatusCode::OK,
            ByteRange {
                offset: 0,
                len: size,
            },
        ),
    };
    let body = match inline {
        Some(bytes) => Body::from(bytes),
        None => stream_range(&state, id, range).await?,
    };

    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, range.len)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, etag(&meta.id))
        .header(header::CACHE_CONTROL, OBJECT_CACHE_CONTROL);
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(header::CONTENT_RANGE, range.content_range(size));
    }
    response
        .body(body)
        .map_err(|e| ApiError::Internal(format!("building the response failed: {e}")))
}

/// Streams a large range: a blocking task feeds [`Engine::read_to`]'s pieces through a bounded
/// channel into the body. Waits for the first piece, so a failure before any byte still gets its
/// own status code; a client that goes away closes the channel, which cancels the read.
///
/// [`Engine::read_to`]: appliance_storage::Engine::read_to
async fn stream_range(state: &AppState, id: ObjectId, range: ByteRange) -> Result<Body, ApiError> {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, StorageError>>(GET_CHANNEL_DEPTH);
    let engine = state.engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = |piece: &[u8]| {
            tx.blocking_send(Ok(Bytes::copy_from_slice(piece)))
                .map_err(|_| StorageError::Cancelled)
        };
        if let Err(err) = engine.read_to(&id, range.offset, range.len, &mut sink) {
            if !matches!(err, StorageError::Cancelled) {
                // The client may be gone too; then nobody is left to tell.
                let _ = tx.blocking_send(Err(err));
            }
        }
    });
    let first = match rx.recv().await {
        Some(Ok(piece)) => piece,
        Some(Err(err)) => return Err(err.into()),
        None => {
            return Err(ApiError::Internal(
                "the read ended before the first byte".into(),
            ))
        }
    };
    let rest = ReceiverStream::new(rx).map(|piece| {
        piece.map_err(|err| {
            tracing::error!(error = %err, "read failed mid-response");
            std::io::Error::other(err.to_string())
        })
    });
    Ok(Body::from_stream(
        futures_util::stream::iter([Ok(first)]).chain(rest),
    ))
}

async fn delete_object(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    run_blocking(&state, move |engine| engine.delete(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_objects(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ObjectPage>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(format!("bad query: {e}")))?;
    let after = query.after.as_deref().map(parse_id).transpose()?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIST_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit {text:?} must be a number from 1 to {MAX_LIST_LIMIT}"
                )))
            }
        },
    };
    let page = run_blocking(&state, move |engine| engine.list(after.as_ref(), limit)).await?;
    let next = if page.len() == limit {
        page.last().map(|meta| meta.id.to_string())
    } else {
        None
    };
    Ok(Json(ObjectPage {
        objects: page.iter().map(ObjectInfo::from).collect(),
        next,
    }))
}
