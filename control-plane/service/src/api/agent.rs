//! The agent listener's routes: heartbeats, from boxes that present their client certificate.
//! The listener ([`crate::agent_listener`]) has already checked the certificate against the CA;
//! here it is matched to a box, and the box's state decides.

use std::sync::Arc;

use appliance_protocol::fleet::{EnrollStatus, Heartbeat, HeartbeatAck, HEARTBEAT_PATH};
use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};

use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson};

/// The fingerprint of the client certificate the connection was made with, put in every
/// request's extensions by the agent listener.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    /// BLAKE3 of the certificate's DER, hex.
    pub fingerprint: String,
}

/// The agent routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route(HEARTBEAT_PATH, post(heartbeat))
}

/// Records a heartbeat and answers what the control plane wants of the box.
#[utoipa::path(post, path = "/v1/agent/heartbeat", tag = "agent", request_body = Heartbeat,
    description = "Served only on the agent listener, over mTLS with the box's client certificate.",
    responses((status = 200, body = HeartbeatAck), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<Arc<AppState>>,
    peer: Option<Extension<PeerCertificate>>,
    StrictJson(beat): StrictJson<Heartbeat>,
) -> Result<Json<HeartbeatAck>, ApiError> {
    let Some(Extension(peer)) = peer else {
        return Err(ApiError::Unauthenticated(
            "heartbeats need the box's client certificate".into(),
        ));
    };
    beat.validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let fingerprint = peer.fingerprint.clone();
    let record = state
        .store(move |store| store.box_by_certificate(&fingerprint))
        .await?
        .ok_or_else(|| {
            ApiError::Forbidden("this certificate was not issued to any enrolled box".into())
        })?;
    if record.status != EnrollStatus::Approved {
        return Err(ApiError::Forbidden(format!(
            "box {} is {:?}: heartbeats refused",
            record.node_id, record.status
        )));
    }
    state
        .heartbeats
        .record(record.node_id.clone(), now_ms(), beat);
    Ok(Json(HeartbeatAck {
        node_id: record.node_id,
        zone: record.zone,
        modules: record.modules,
        drain: record.draining,
        heartbeat_every_ms: state.config.heartbeat_every_ms,
    }))
}
