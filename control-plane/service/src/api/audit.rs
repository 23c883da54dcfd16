//! The audit log (admin): every change, in order, paged.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::{AppState, StrictQuery};
use crate::limits::{DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE};
use crate::store::AuditEntry;

/// The audit route.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/audit", get(list_audit))
}

/// Query of `GET /api/audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0: from the start).
    pub after: Option<u64>,
    /// Entries per page (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// The entries, in order.
    pub entries: Vec<AuditEntry>,
    /// `after` for the next page; absent on the last page.
    pub next: Option<u64>,
}

/// Lists the audit log.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<Arc<AppState>>,
    StrictQuery(query): StrictQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_AUDIT_PAGE}"
        )));
    }
    let after = query.after.unwrap_or(0);
    let entries = state
        .store(move |store| store.list_audit(after, limit))
        .await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten();
    Ok(Json(AuditPage { entries, next }))
}
