//! The one error type of the HTTP API: each variant maps to a status and a JSON body
//! `{"error": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use appliance_da::DaError;
use appliance_storage::StorageError;

use super::range::RangeError;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The object id is well formed but no such object is stored (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed: an id that is not 64 hex characters, a bad query (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the configured maximum object or blob size (413).
    #[error("body larger than the maximum of {max} bytes")]
    TooLarge {
        /// The configured maximum size in bytes.
        max: u64,
    },
    /// The `Range` header is malformed or lies outside the object (416).
    #[error("{message}")]
    BadRange {
        /// What is wrong with the range.
        message: String,
        /// Size of the object, sent back as `Content-Range: bytes */size`.
        size: u64,
    },
    /// No drive has room for the object (507).
    #[error("{0}")]
    DriveFull(String),
    /// Too many drives have failed to serve the data, or a blob chunk is unrecoverable (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: an I/O or index failure, a lost worker task (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRange { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::DriveFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Wraps a failure of a blocking task (a panic or a cancelled task) as a 500.
    pub fn from_join(err: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("worker task failed: {err}"))
    }

    /// Maps a `Range` header error against an object of `size` bytes.
    pub fn from_range(err: RangeError, size: u64) -> Self {
        ApiError::BadRange {
            message: err.to_string(),
            size,
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        let message = err.to_string();
        match err {
            StorageError::NotFound(_) => ApiError::NotFound(message),
            StorageError::TooLarge { max } => ApiError::TooLarge { max },
            StorageError::RangeNotSatisfiable { size, .. } => ApiError::BadRange { message, size },
            StorageError::OutOfSpace { .. } => ApiError::DriveFull(message),
            StorageError::TooManyFailures { .. } | StorageError::NotEnoughDrives { .. } => {
                ApiError::Unavailable(message)
            }
            StorageError::NoSuchDrive(_) => ApiError::BadRequest(message),
            _ => ApiError::Internal(message),
        }
    }
}

impl From<DaError> for ApiError {
    fn from(err: DaError) -> Self {
        let message = err.to_string();
        match err {
            DaError::UnknownBlob(_)
            | DaError::PartialCustody { .. }
            | DaError::NotCustodied { .. } => ApiError::NotFound(message),
            DaError::ChunkOutOfRange { .. }
            | DaError::CellOutOfRange(_)
            | DaError::Empty
            | DaError::BadCustody(_) => ApiError::BadRequest(message),
            DaError::TooLarge { max, .. } => ApiError::TooLarge { max },
            DaError::Unrecoverable { .. } | DaError::LostCell { .. } => {
                ApiError::Unavailable(message)
            }
            DaError::Storage(storage) => ApiError::from(storage),
            DaError::Config(_) | DaError::Manifest(_) | DaError::Kzg(_) | DaError::Packing(_) => {
                ApiError::Internal(message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(%status, error = %self, "request failed");
        } else {
            tracing::debug!(%status, error = %self, "request refused");
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if let ApiError::BadRange { size, .. } = &self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_status() {
        let cases = [
            (ApiError::NotFound("x".into()), 404),
            (ApiError::BadRequest("x".into()), 400),
            (ApiError::TooLarge { max: 1 }, 413),
            (
                ApiError::BadRange {
                    message: "x".into(),
                    size: 3,
                },
                416,
            ),
            (ApiError::DriveFull("x".into()), 507),
            (ApiError::Unavailable("x".into()), 503),
            (ApiError::Internal("x".into()), 500),
        ];
        for (err, code) in cases {
            assert_eq!(err.into_response().status().as_u16(), code);
        }
    }

    #[test]
    fn storage_errors_map_to_their_statuses() {
        let id = appliance_storage::ObjectId([7; 32]);
        let cases = [
            (StorageError::NotFound(id), 404),
            (StorageError::TooLarge { max: 9 }, 413),
            (
                StorageError::RangeNotSatisfiable {
                    offset: 5,
                    len: 9,
                    size: 10,
                },
                416,
            ),
            (StorageError::OutOfSpace { drive: 2 }, 507),
            (
                StorageError::TooManyFailures {
                    id,
                    stripe: 0,
                    available: 3,
                    needed: 4,
                },
                503,
            ),
            (
                StorageError::NotEnoughDrives {
                    online: 3,
                    needed: 6,
                },
                503,
            ),
            (StorageError::NoSuchDrive(9), 400),
            (StorageError::Index("disk on fire".into()), 500),
            (StorageError::Config("bad".into()), 500),
        ];
        for (err, code) in cases {
            let text = err.to_string();
            let api = ApiError::from(err);
            assert_eq!(api.status().as_u16(), code, "{text}");
        }
        let api = ApiError::from(StorageError::RangeNotSatisfiable {
            offset: 5,
            len: 9,
            size: 10,
        });
        assert_eq!(
            api.into_response().headers()[header::CONTENT_RANGE],
            "bytes */10"
        );
    }

    #[test]
    fn da_errors_map_to_their_statuses() {
        let blob = appliance_protocol::BlobId([3; 32]);
        let cases = [
            (DaError::UnknownBlob(blob), 404),
            (DaError::Empty, 400),
            (DaError::BadCustody("forged".into()), 400),
            (DaError::PartialCustody { blob, columns: 51 }, 404),
            (DaError::NotCustodied { cell: 5 }, 404),
            (
                DaError::LostCell {
                    blob,
                    chunk: 0,
                    cell: 5,
                },
                503,
            ),
            (DaError::CellOutOfRange(200), 400),
            (
                DaError::ChunkOutOfRange {
                    chunk: 4,
                    chunks: 2,
                },
                400,
            ),
            (DaError::TooLarge { size: 9, max: 8 }, 413),
            (
                DaError::Unrecoverable {
                    blob,
                    chunk: 0,
                    intact: 10,
                },
                503,
            ),
            (DaError::Storage(StorageError::OutOfSpace { drive: 1 }), 507),
            (DaError::Manifest("broken".into()), 500),
        ];
        for (err, code) in cases {
            let text = err.to_string();
            assert_eq!(ApiError::from(err).status().as_u16(), code, "{text}");
        }
    }

    #[test]
    fn bad_range_carries_the_object_size() {
        let response = ApiError::from_range(RangeError::Unsatisfiable("bytes=9-".into(), 5), 5)
            .into_response();
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */5");
    }
}
