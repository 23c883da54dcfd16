//! Admin accounts (admin): create one, list them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, AppState, StrictJson};
use crate::credentials::hash_password;
use crate::limits::MAX_USERNAME_LEN;
use crate::roles::Role;
use crate::store::UserRecord;

/// The account routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/users", get(list_users).post(create_user))
}

/// Body of `POST /api/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: letters, digits, `-`, `_`, `.`.
    pub username: String,
    /// Password (12 to 1024 bytes).
    pub password: String,
    /// What the account may do.
    pub role: Role,
}

/// An account as the API shows it (no password hash).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// When it was created (ms since the Unix epoch).
    pub created_at_ms: u64,
}

/// Checks a username: 1 to [`MAX_USERNAME_LEN`] letters, digits, `-`, `_` or `.`.
pub fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "usernames have 1 to {MAX_USERNAME_LEN} letters, digits, '-', '_' or '.'"
        )))
    }
}

/// Creates an account.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUser,
    security(("bearer" = [])),
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    StrictJson(request): StrictJson<CreateUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    validate_username(&request.username)?;
    let password = request.password;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::from_join)?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let user = UserRecord {
        username: request.username,
        password_hash,
        role: request.role,
        created_at_ms: now_ms(),
    };
    let view = UserView {
        username: user.username.clone(),
        role: user.role,
        created_at_ms: user.created_at_ms,
    };
    state.store(move |store| store.create_user(&user)).await?;
    state
        .audit(
            caller.actor(),
            "user.create",
            view.username.clone(),
            serde_json::json!({ "role": view.role }),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Every account.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<Arc<AppState>>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let users = state.store(|store| store.list_users()).await?;
    Ok(Json(
        users
            .into_iter()
            .map(|user| UserView {
                username: user.username,
                role: user.role,
                created_at_ms: user.created_at_ms,
            })
            .collect(),
    ))
}
