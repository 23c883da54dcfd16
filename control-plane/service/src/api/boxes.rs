//! The fleet: list and filter boxes, box detail (viewer); approve, revoke, zone, module profile
//! and drain (operator). Every change is audited.

use std::sync::Arc;

use appliance_protocol::fleet::{validate_zone, EnrollStatus, ModuleProfile};
use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson, StrictPath, StrictQuery};
use crate::chain::{ChainBox, ChainHookError, ChainStatus};
use crate::health::{health, Health};
use crate::store::{BoxRecord, StoreError};

/// Routes for viewers and up.
pub fn viewer_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/boxes", get(list_boxes))
        .route("/api/boxes/{node_id}", get(box_detail))
}

/// Routes for operators and up.
pub fn operator_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/boxes/{node_id}/approve", post(approve))
        .route("/api/boxes/{node_id}/revoke", post(revoke))
        .route("/api/boxes/{node_id}/zone", put(set_zone))
        .route("/api/boxes/{node_id}/modules", put(set_modules))
        .route("/api/boxes/{node_id}/drain", put(set_drain))
}

/// Filters of `GET /api/boxes`; all given filters must match.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoxFilter {
    /// `pending`, `approved` or `revoked`.
    pub status: Option<EnrollStatus>,
    /// Exact zone.
    pub zone: Option<String>,
    /// `unknown`, `healthy` or `unhealthy`.
    pub health: Option<Health>,
    /// Draining or not.
    pub draining: Option<bool>,
    /// Substring of the hostname.
    pub hostname: Option<String>,
}

/// One line of the fleet list.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BoxSummary {
    /// Node id.
    pub node_id: String,
    /// Hostname.
    pub hostname: String,
    /// Zone.
    pub zone: Option<String>,
    /// Pending, approved or revoked.
    pub status: EnrollStatus,
    /// Whether it is draining.
    pub draining: bool,
    /// Health from heartbeats.
    pub health: Health,
    /// Modules it should run.
    pub modules: ModuleProfile,
    /// Last heartbeat (ms since the Unix epoch).
    pub last_heartbeat_ms: Option<u64>,
    /// Storage capacity from its last heartbeat.
    pub capacity_bytes: u64,
    /// GPUs from its last heartbeat.
    pub gpus: usize,
    /// Chain registration.
    pub chain: ChainStatus,
}

/// A box in full: its record, health and chain registration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoxDetail {
    /// The stored record (inventory included).
    #[serde(flatten)]
    pub record: BoxRecord,
    /// Health from heartbeats.
    pub health: Health,
    /// Chain registration.
    pub chain: ChainStatus,
}

fn capacity(record: &BoxRecord) -> u64 {
    record
        .inventory
        .as_ref()
        .and_then(|beat| beat.storage)
        .map_or(0, |storage| storage.capacity_bytes)
}

impl AppState {
    fn health_of(&self, record: &BoxRecord, now: u64) -> Health {
        health(
            record.last_heartbeat_ms,
            now,
            self.config.heartbeat_every_ms,
        )
    }

    fn chain_status(&self, node_id: &str) -> ChainStatus {
        self.chain
            .as_ref()
            .map_or(ChainStatus::NotConfigured, |chain| chain.status(node_id))
    }

    fn detail(&self, mut record: BoxRecord) -> BoxDetail {
        self.heartbeats.overlay(&mut record);
        BoxDetail {
            health: self.health_of(&record, now_ms()),
            chain: self.chain_status(&record.node_id),
            record,
        }
    }
}

/// Lists boxes, filtered.
#[utoipa::path(get, path = "/api/boxes", tag = "boxes", params(BoxFilter), security(("bearer" = [])),
    responses((status = 200, body = [BoxSummary]), (status = 401, body = ErrorBody)))]
pub async fn list_boxes(
    State(state): State<Arc<AppState>>,
    StrictQuery(filter): StrictQuery<BoxFilter>,
) -> Result<Json<Vec<BoxSummary>>, ApiError> {
    let boxes = state.store(|store| store.list_boxes()).await?;
    let now = now_ms();
    let list = boxes
        .into_iter()
        .map(|mut record| {
            state.heartbeats.overlay(&mut record);
            (state.health_of(&record, now), record)
        })
        .filter(|(health, record)| {
            filter.status.is_none_or(|s| s == record.status)
                && filter
                    .zone
                    .as_ref()
                    .is_none_or(|z| record.zone.as_ref() == Some(z))
                && filter.health.is_none_or(|h| h == *health)
                && filter.draining.is_none_or(|d| d == record.draining)
                && filter
                    .hostname
                    .as_ref()
                    .is_none_or(|h| record.hostname.contains(h.as_str()))
        })
        .map(|(health, record)| BoxSummary {
            chain: state.chain_status(&record.node_id),
            capacity_bytes: capacity(&record),
            gpus: record.inventory.as_ref().map_or(0, |beat| beat.gpus.len()),
            node_id: record.node_id,
            hostname: record.hostname,
            zone: record.zone,
            status: record.status,
            draining: record.draining,
            health,
            modules: record.modules,
            last_heartbeat_ms: record.last_heartbeat_ms,
        })
        .collect();
    Ok(Json(list))
}

/// One box in full.
#[utoipa::path(get, path = "/api/boxes/{node_id}", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")),
    responses((status = 200, body = BoxDetail), (status = 404, body = ErrorBody)))]
pub async fn box_detail(
    State(state): State<Arc<AppState>>,
    StrictPath(node_id): StrictPath<String>,
) -> Result<Json<BoxDetail>, ApiError> {
    let lookup = node_id.clone();
    let record = state
        .store(move |store| store.get_box(&lookup))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("box {node_id} not found")))?;
    Ok(Json(state.detail(record)))
}

/// Approves a pending box: issues its client certificate, hands it to chain registration, and
/// audits the change as `actor`. Shared by the operator route and automatic approval.
pub async fn approve_box(
    state: &Arc<AppState>,
    node_id: String,
    actor: String,
) -> Result<BoxRecord, ApiError> {
    let worker = Arc::clone(state);
    let target = node_id.clone();
    let mut record = state
        .store(move |store| {
            store.update_box(&target, &mut |record| {
                match record.status {
                    EnrollStatus::Pending => {}
                    EnrollStatus::Approved => {
                        return Err(StoreError::Conflict(format!(
                            "box {} is already approved",
                            record.node_id
                        )))
                    }
                    EnrollStatus::Revoked => {
                        return Err(StoreError::Conflict(format!(
                            "box {} was revoked; it must enroll again with a new key",
                            record.node_id
                        )))
                    }
                }
                let mut key = [0u8; 32];
                hex::decode_to_slice(&record.public_key, &mut key).map_err(|_| {
                    StoreError::Backend(format!("box {} has a malformed key", record.node_id))
                })?;
                let cert = worker
                    .ca
                    .issue_client(&record.node_id, &key)
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                record.status = EnrollStatus::Approved;
                record.approved_at_ms = Some(now_ms());
                record.client_cert_pem = Some(cert.pem);
                record.cert_fingerprint = Some(cert.fingerprint);
                Ok(())
            })
        })
        .await?;
    state
        .audit(
            actor,
            "box.approve",
            node_id,
            serde_json::json!({ "cert_fingerprint": record.cert_fingerprint }),
        )
        .await?;
    state.heartbeats.overlay(&mut record);
    if let Some(chain) = &state.chain {
        // The box is approved whatever the registrar says; its chain status shows the failure.
        if let Err(err) = chain_box(&record).and_then(|registration| chain.register(registration)) {
            tracing::error!(node_id = %record.node_id, %err, "chain registration refused the box");
        }
    }
    Ok(record)
}

/// What the chain registry is told about an approved box.
fn chain_box(record: &BoxRecord) -> Result<ChainBox, ChainHookError> {
    let mut public_key = [0u8; 32];
    hex::decode_to_slice(&record.public_key, &mut public_key)
        .map_err(|_| ChainHookError(format!("box {} has a malformed key", record.node_id)))?;
    Ok(ChainBox {
        node_id: record.node_id.clone(),
        public_key,
        endpoint: record.endpoint.clone(),
        capacity_bytes: capacity(record),
        zone: record.zone.clone(),
    })
}

/// Hands every approved box to chain registration and every revoked one to deregistration, so
/// work cut short by a crash (approved in the store, not yet journaled by the registrar) is
/// picked up at start. Both are idempotent: boxes already journaled cost one journal read.
pub async fn resume_chain_work(state: &Arc<AppState>) -> Result<(), ApiError> {
    let Some(chain) = &state.chain else {
        return Ok(());
    };
    let boxes = state.store(|store| store.list_boxes()).await?;
    for mut record in boxes {
        state.heartbeats.overlay(&mut record);
        let handed = match record.status {
            EnrollStatus::Pending => Ok(()),
            EnrollStatus::Approved => chain_box(&record).and_then(|b| chain.register(b)),
            EnrollStatus::Revoked => chain.deregister(&record.node_id),
        };
        if let Err(err) = handed {
            tracing::error!(node_id = %record.node_id, %err, "chain registration refused the box");
        }
    }
    Ok(())
}

/// Approves a pending box.
#[utoipa::path(post, path = "/api/boxes/{node_id}/approve", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")),
    responses((status = 200, body = BoxDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictPath(node_id): StrictPath<String>,
) -> Result<Json<BoxDetail>, ApiError> {
    let record = approve_box(&state, node_id, caller.actor()).await?;
    Ok(Json(state.detail(record)))
}

/// Applies `change` to a box and audits it as `action` with `detail`.
async fn change_box(
    state: &Arc<AppState>,
    caller: &Caller,
    node_id: String,
    action: &'static str,
    detail: serde_json::Value,
    mut change: impl FnMut(&mut BoxRecord) -> Result<(), StoreError> + Send + 'static,
) -> Result<Json<BoxDetail>, ApiError> {
    let target = node_id.clone();
    let record = state
        .store(move |store| store.update_box(&target, &mut change))
        .await?;
    state.audit(caller.actor(), action, node_id, detail).await?;
    Ok(Json(state.detail(record)))
}

/// Revokes a box: its agent traffic is refused from now on.
#[utoipa::path(post, path = "/api/boxes/{node_id}/revoke", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")),
    responses((status = 200, body = BoxDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictPath(node_id): StrictPath<String>,
) -> Result<Json<BoxDetail>, ApiError> {
    let target = node_id.clone();
    let detail = change_box(
        &state,
        &caller,
        node_id,
        "box.revoke",
        serde_json::json!({}),
        |record| {
            if record.status == EnrollStatus::Revoked {
                return Err(StoreError::Conflict(format!(
                    "box {} is already revoked",
                    record.node_id
                )));
            }
            record.status = EnrollStatus::Revoked;
            Ok(())
        },
    )
    .await?;
    let Some(chain) = &state.chain else {
        return Ok(detail);
    };
    // Revoked in the store whatever the registrar says; a failure shows in its chain status.
    if let Err(err) = chain.deregister(&target) {
        tracing::error!(node_id = %target, %err, "chain deregistration refused the box");
    }
    Ok(Json(BoxDetail {
        chain: state.chain_status(&target),
        ..detail.0
    }))
}

/// Body of `PUT /api/boxes/{node_id}/zone`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRequest {
    /// The zone; `null` takes the box out of any zone.
    pub zone: Option<String>,
}

/// Places a box in a zone.
#[utoipa::path(put, path = "/api/boxes/{node_id}/zone", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")), request_body = ZoneRequest,
    responses((status = 200, body = BoxDetail), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_zone(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictPath(node_id): StrictPath<String>,
    StrictJson(request): StrictJson<ZoneRequest>,
) -> Result<Json<BoxDetail>, ApiError> {
    if let Some(zone) = &request.zone {
        validate_zone(zone).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let detail = serde_json::json!({ "zone": request.zone });
    change_box(
        &state,
        &caller,
        node_id,
        "box.zone",
        detail,
        move |record| {
            record.zone.clone_from(&request.zone);
            Ok(())
        },
    )
    .await
}

/// Sets the modules a box runs.
#[utoipa::path(put, path = "/api/boxes/{node_id}/modules", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")), request_body = ModuleProfile,
    responses((status = 200, body = BoxDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_modules(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictPath(node_id): StrictPath<String>,
    StrictJson(modules): StrictJson<ModuleProfile>,
) -> Result<Json<BoxDetail>, ApiError> {
    let detail = serde_json::json!({ "modules": modules });
    change_box(
        &state,
        &caller,
        node_id,
        "box.modules",
        detail,
        move |record| {
            record.modules = modules;
            Ok(())
        },
    )
    .await
}

/// Body of `PUT /api/boxes/{node_id}/drain`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrainRequest {
    /// `true` to drain the box, `false` to put it back in service.
    pub draining: bool,
}

/// Drains a box (or puts it back in service).
#[utoipa::path(put, path = "/api/boxes/{node_id}/drain", tag = "boxes", security(("bearer" = [])),
    params(("node_id" = String, Path, description = "The box's node id")), request_body = DrainRequest,
    responses((status = 200, body = BoxDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn set_drain(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictPath(node_id): StrictPath<String>,
    StrictJson(request): StrictJson<DrainRequest>,
) -> Result<Json<BoxDetail>, ApiError> {
    let detail = serde_json::json!({ "draining": request.draining });
    change_box(
        &state,
        &caller,
        node_id,
        "box.drain",
        detail,
        move |record| {
            record.draining = request.draining;
            Ok(())
        },
    )
    .await
}
