//! Enrollment tokens (admin): create one, list them (without their secrets).

use std::sync::Arc;

use appliance_protocol::fleet::{validate_zone, ModuleProfile};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson};
use crate::credentials::{hash_secret, new_secret};
use crate::limits::{DEFAULT_TOKEN_TTL_SECS, MAX_TOKEN_TTL_SECS};
use crate::store::TokenRecord;

/// Hex characters of a token's public id.
const TOKEN_ID_LEN: usize = 16;

/// The token routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/tokens", get(list_tokens).post(create_token))
}

/// Body of `POST /api/tokens`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Seconds the token stays valid (default a day, at most 30 days).
    pub expires_in_secs: Option<u64>,
    /// Zone given to the box that enrolls with it.
    pub zone: Option<String>,
    /// Module profile given to the box that enrolls with it.
    pub modules: Option<ModuleProfile>,
}

/// Answer of `POST /api/tokens`: the only time the secret is shown.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The secret token, for `appliance up --enroll-token`.
    pub token: String,
    /// Its public id, as lists and the audit log show it.
    pub id: String,
    /// When it stops being accepted (ms since the Unix epoch).
    pub expires_at_ms: u64,
}

/// Creates a one-time enrollment token.
#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = CreateToken,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictJson(request): StrictJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let ttl = request.expires_in_secs.unwrap_or(DEFAULT_TOKEN_TTL_SECS);
    if !(1..=MAX_TOKEN_TTL_SECS).contains(&ttl) {
        return Err(ApiError::BadRequest(format!(
            "expires_in_secs must be 1 to {MAX_TOKEN_TTL_SECS}"
        )));
    }
    if let Some(zone) = &request.zone {
        validate_zone(zone).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let secret = new_secret();
    let hash = hash_secret(&secret);
    let now = now_ms();
    let record = TokenRecord {
        id: hash[..TOKEN_ID_LEN].to_owned(),
        created_by: caller.actor(),
        created_at_ms: now,
        expires_at_ms: now + ttl * 1000,
        zone: request.zone,
        modules: request.modules,
        used_by: None,
        used_at_ms: None,
    };
    let created = CreatedToken {
        token: secret,
        id: record.id.clone(),
        expires_at_ms: record.expires_at_ms,
    };
    let detail = serde_json::json!({
        "expires_at_ms": record.expires_at_ms,
        "zone": record.zone,
        "modules": record.modules,
    });
    state
        .store(move |store| store.put_token(&hash, &record))
        .await?;
    state
        .audit(caller.actor(), "token.create", created.id.clone(), detail)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every enrollment token, oldest first, without secrets.
#[utoipa::path(get, path = "/api/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = [TokenRecord]), (status = 403, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(state.store(|store| store.list_tokens()).await?))
}
