//! `POST /api/login` (password to bearer token) and `POST /api/logout`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson};
use crate::credentials::{hash_password, hash_secret, new_secret, verify_password};
use crate::limits::{MAX_USERNAME_LEN, SESSION_TTL_SECS};
use crate::roles::Role;
use crate::store::SessionRecord;

/// Routes open to anyone.
pub fn public_routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/login", post(login))
}

/// Routes for any logged-in admin.
pub fn viewer_routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/logout", post(logout))
}

/// Body of `POST /api/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// Answer of `POST /api/login`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token: send `Authorization: Bearer TOKEN` on every admin route.
    pub token: String,
    /// The account's role.
    pub role: Role,
    /// When the token stops working (ms since the Unix epoch).
    pub expires_at_ms: u64,
}

/// Logs in: checks the password and opens a session.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    StrictJson(request): StrictJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let username = request.username.clone();
    let user = state.store(move |store| store.get_user(&username)).await?;
    let password = request.password;
    let checked = user.clone();
    let ok = tokio::task::spawn_blocking(move || match &checked {
        Some(user) => verify_password(&password, &user.password_hash),
        None => {
            // Spend the same time as a real check, so timing does not tell which names exist.
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .map_err(ApiError::from_join)?;
    let user = match user {
        Some(user) if ok => user,
        _ => {
            // The name is the caller's: keep a bounded prefix of it in the log.
            let name: String = request.username.chars().take(MAX_USERNAME_LEN).collect();
            state
                .audit(
                    format!("user:{name}"),
                    "session.login_failed",
                    name,
                    serde_json::json!({}),
                )
                .await?;
            return Err(ApiError::Unauthenticated(
                "wrong username or password".into(),
            ));
        }
    };
    let token = new_secret();
    let session = SessionRecord {
        token_hash: hash_secret(&token),
        username: user.username.clone(),
        role: user.role,
        expires_at_ms: now_ms() + SESSION_TTL_SECS * 1000,
    };
    let expires_at_ms = session.expires_at_ms;
    state
        .store(move |store| store.put_session(&session))
        .await?;
    state
        .audit(
            format!("user:{}", user.username),
            "session.login",
            user.username.clone(),
            serde_json::json!({ "role": user.role }),
        )
        .await?;
    Ok(Json(LoginResponse {
        token,
        role: user.role,
        expires_at_ms,
    }))
}

/// Logs out: ends the caller's session.
#[utoipa::path(post, path = "/api/logout", tag = "session", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> Result<StatusCode, ApiError> {
    let hash = caller.token_hash.clone();
    state
        .store(move |store| store.delete_session(&hash))
        .await?;
    state
        .audit(
            caller.actor(),
            "session.logout",
            caller.username.clone(),
            serde_json::json!({}),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
