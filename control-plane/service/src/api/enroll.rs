//! Enrollment on the public listener: `POST /v1/enroll` (token and key) and
//! `POST /v1/enroll/status` (a signed poll while pending).

use std::sync::Arc;

use appliance_protocol::fleet::{
    node_id, EnrollRequest, EnrollResponse, EnrollStatus, EnrollStatusRequest, IssuedCertificate,
    ENROLL_PATH, ENROLL_STATUS_PATH,
};
use appliance_protocol::fleet_limits::STATUS_POLL_SKEW_SECS;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use ring::signature::{UnparsedPublicKey, ED25519};

use super::boxes::approve_box;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson};
use crate::credentials::hash_secret;
use crate::store::BoxRecord;

/// The enrollment routes (no admin session: the token or the box key authenticates).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(ENROLL_PATH, post(enroll))
        .route(ENROLL_STATUS_PATH, post(enroll_status))
}

fn check_signature(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), ApiError> {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .map_err(|_| ApiError::Unauthenticated("the signature does not match the box key".into()))
}

impl AppState {
    fn enroll_response(&self, record: &BoxRecord) -> EnrollResponse {
        let certificate = match (record.status, &record.client_cert_pem) {
            (EnrollStatus::Approved, Some(pem)) => Some(IssuedCertificate {
                client_cert_pem: pem.clone(),
                ca_cert_pem: self.ca.cert_pem().to_owned(),
                agent_url: self.config.agent_url.clone(),
            }),
            _ => None,
        };
        EnrollResponse {
            node_id: record.node_id.clone(),
            status: record.status,
            certificate,
            heartbeat_every_ms: self.config.heartbeat_every_ms,
        }
    }
}

/// Enrolls a box with a one-time token. Unknown, expired, replayed and reused tokens are refused
/// (403 with codes `token_unknown`, `token_expired`, `token_replayed`, `token_reused`).
#[utoipa::path(post, path = "/v1/enroll", tag = "enrollment", request_body = EnrollRequest,
    responses((status = 200, body = EnrollResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn enroll(
    State(state): State<Arc<AppState>>,
    StrictJson(request): StrictJson<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let (public_key, signature) = request
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_signature(&public_key, &request.signing_message(), &signature)?;
    let now = now_ms();
    let new_box = BoxRecord {
        node_id: node_id(&public_key),
        public_key: request.public_key.clone(),
        hostname: request.hostname.clone(),
        endpoint: request.endpoint.clone(),
        zone: None,
        modules: Default::default(),
        status: EnrollStatus::Pending,
        draining: false,
        token_id: String::new(),
        enrolled_at_ms: now,
        approved_at_ms: None,
        client_cert_pem: None,
        cert_fingerprint: None,
        last_heartbeat_ms: None,
        inventory: None,
    };
    let token_hash = hash_secret(&request.token);
    let mut record = state
        .store(move |store| store.enroll(&token_hash, now, new_box))
        .await?;
    state
        .audit(
            format!("box:{}", record.node_id),
            "box.enroll",
            record.node_id.clone(),
            serde_json::json!({
                "token_id": record.token_id,
                "hostname": record.hostname,
                "endpoint": record.endpoint,
            }),
        )
        .await?;
    tracing::info!(node_id = %record.node_id, hostname = %record.hostname, "box enrolled");
    if state.config.auto_approve {
        record = approve_box(&state, record.node_id.clone(), "system:auto-approve".into()).await?;
    }
    Ok(Json(state.enroll_response(&record)))
}

/// Where an enrolled box stands, asked with a fresh signature by its key.
#[utoipa::path(post, path = "/v1/enroll/status", tag = "enrollment", request_body = EnrollStatusRequest,
    responses((status = 200, body = EnrollResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn enroll_status(
    State(state): State<Arc<AppState>>,
    StrictJson(request): StrictJson<EnrollStatusRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let signature = request
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let now_secs = now_ms() / 1000;
    if now_secs.abs_diff(request.timestamp_secs) > STATUS_POLL_SKEW_SECS {
        return Err(ApiError::Unauthenticated(format!(
            "the poll's timestamp is more than {STATUS_POLL_SKEW_SECS} s from the control \
             plane's clock: check the box's clock"
        )));
    }
    let node = request.node_id.clone();
    let record = state
        .store(move |store| store.get_box(&node))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("box {} is not enrolled", request.node_id)))?;
    let mut public_key = [0u8; 32];
    hex::decode_to_slice(&record.public_key, &mut public_key)
        .map_err(|_| ApiError::Internal("stored key is not hex".into()))?;
    check_signature(&public_key, &request.signing_message(), &signature)?;
    Ok(Json(state.enroll_response(&record)))
}
