//! Bearer-token authentication and role checks, applied as a layer to every admin route.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::{now_ms, AppState};
use crate::credentials::hash_secret;
use crate::roles::Role;

/// The admin behind a request, put in the request's extensions by [`require_role`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account name.
    pub username: String,
    /// The session's role.
    pub role: Role,
    /// Hash of the bearer token (to end the session on logout).
    pub token_hash: String,
}

impl Caller {
    /// How the audit log names this admin.
    pub fn actor(&self) -> String {
        format!("user:{}", self.username)
    }
}

/// Refuses requests without a live session (401) or whose session's role is below `needed`
/// (403); otherwise passes the request on with its [`Caller`].
pub async fn require_role(
    State((state, needed)): State<(Arc<AppState>, Role)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("missing `Authorization: Bearer TOKEN`".into()))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated("the Authorization header must be `Bearer TOKEN`".into())
        })?;
    let token_hash = hash_secret(token);
    let lookup = token_hash.clone();
    let session = state
        .store(move |store| store.get_session(&lookup))
        .await?
        .filter(|session| session.expires_at_ms > now_ms())
        .ok_or_else(|| {
            ApiError::Unauthenticated("unknown or expired session: log in again".into())
        })?;
    if !session.role.allows(needed) {
        return Err(ApiError::Forbidden(format!(
            "this route needs the {} role; {} has {}",
            needed.as_str(),
            session.username,
            session.role.as_str()
        )));
    }
    request.extensions_mut().insert(Caller {
        username: session.username,
        role: session.role,
        token_hash,
    });
    Ok(next.run(request).await)
}
