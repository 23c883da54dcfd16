//! The one error type of the API: each variant maps to a status, a stable `code` and a message,
//! answered as JSON `{"error": "...", "code": "..."}`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::store::{StoreError, TokenRefusal};

/// Body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// What went wrong, for programs: `bad_request`, `unauthenticated`, `forbidden`,
    /// `token_unknown`, `token_expired`, `token_replayed`, `token_reused`, `not_found`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `unprocessable`, `internal`.
    pub code: &'static str,
}

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials: missing or unknown bearer token, wrong password, bad signature
    /// (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed: a role too low, a revoked box (403).
    #[error("{0}")]
    Forbidden(String),
    /// An enrollment token was refused (403).
    #[error(transparent)]
    Token(TokenRefusal),
    /// No such box, user or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// A request axum refused before the handler ran: body too large (413), wrong content type
    /// (415), JSON of the wrong shape or with unknown fields (422), unparsable JSON (400).
    #[error("{message}")]
    Rejected {
        /// The status axum chose.
        status: StatusCode,
        /// Why.
        message: String,
    },
    /// A failure of the service itself (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Token(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Rejected { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Token(TokenRefusal::Unknown) => "token_unknown",
            ApiError::Token(TokenRefusal::Expired) => "token_expired",
            ApiError::Token(TokenRefusal::Replayed) => "token_replayed",
            ApiError::Token(TokenRefusal::Reused) => "token_reused",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Rejected { status, .. } => match *status {
                StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
                _ => "bad_request",
            },
            ApiError::Internal(_) => "internal",
        }
    }

    /// Wraps a failure of a blocking task (a panic or a cancelled task) as a 500.
    pub fn from_join(err: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("worker task failed: {err}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Token(refusal) => ApiError::Token(refusal),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            err @ (StoreError::AlreadyEnrolled(_)
            | StoreError::Exists(_)
            | StoreError::Conflict(_)) => ApiError::Conflict(err.to_string()),
            err @ StoreError::Backend(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Rejected {
            status: rejection.status(),
            message: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
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
        let body = ErrorBody {
            error: self.to_string(),
            code: self.code(),
        };
        (status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_statuses_and_codes() {
        let cases = [
            (
                StoreError::Token(TokenRefusal::Unknown),
                403,
                "token_unknown",
            ),
            (
                StoreError::Token(TokenRefusal::Expired),
                403,
                "token_expired",
            ),
            (
                StoreError::Token(TokenRefusal::Replayed),
                403,
                "token_replayed",
            ),
            (StoreError::Token(TokenRefusal::Reused), 403, "token_reused"),
            (StoreError::AlreadyEnrolled("n".into()), 409, "conflict"),
            (StoreError::NotFound("box n".into()), 404, "not_found"),
            (StoreError::Exists("user u".into()), 409, "conflict"),
            (StoreError::Conflict("c".into()), 409, "conflict"),
            (StoreError::Backend("disk".into()), 500, "internal"),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status().as_u16(), status, "{api}");
            assert_eq!(api.code(), code, "{api}");
        }
    }
}
