//! The HTTP APIs. The public listener serves the admin API (`/api/...`, bearer tokens and roles)
//! and enrollment (`/v1/enroll...`, the token and the box key); the agent listener serves
//! heartbeats over mTLS only.
//!
//! Every request body is JSON with unknown fields refused and at most
//! [`MAX_BODY_BYTES`](crate::limits::MAX_BODY_BYTES); every error is a JSON [`error::ErrorBody`].

pub mod agent;
pub mod audit;
pub mod auth;
pub mod boxes;
pub mod enroll;
pub mod error;
pub mod openapi;
pub mod session;
pub mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::ca::CertificateAuthority;
use crate::chain::ChainRegistration;
use crate::heartbeat_buffer::HeartbeatBuffer;
use crate::limits::MAX_BODY_BYTES;
use crate::roles::Role;
use crate::store::{AuditEntry, Store, StoreError};
use error::ApiError;

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Approve every enrolled box at once instead of waiting for an operator.
    pub auto_approve: bool,
    /// Milliseconds between heartbeats the agents are asked for.
    pub heartbeat_every_ms: u64,
    /// Base URL of the agent listener, given to approved boxes.
    pub agent_url: String,
}

/// What every handler shares.
pub struct AppState {
    /// Boxes, tokens, accounts, sessions and the audit log.
    pub store: Arc<dyn Store>,
    /// Signs boxes' client certificates.
    pub ca: CertificateAuthority,
    /// Registers approved boxes on chain; `None` when no chain is configured.
    pub chain: Option<Arc<dyn ChainRegistration>>,
    /// Heartbeats not yet written to the store.
    pub heartbeats: HeartbeatBuffer,
    /// Settings.
    pub config: ServiceConfig,
}

impl AppState {
    /// Runs a blocking store call off the async executor and maps its error for HTTP.
    pub async fn store<T, F>(&self, call: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .map_err(ApiError::from_join)?
            .map_err(ApiError::from)
    }

    /// Writes an audit entry for a change that was made.
    pub async fn audit(
        &self,
        actor: String,
        action: &'static str,
        target: String,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, ApiError> {
        self.store(move |store| store.append_audit(now_ms(), &actor, action, &target, detail))
            .await
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A JSON body with every rejection (syntax, unknown field, size, content type) answered as an
/// [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct StrictJson<T>(pub T);

/// A query string with its rejection answered as an [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct StrictQuery<T>(pub T);

/// A path parameter with its rejection answered as an [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct StrictPath<T>(pub T);

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::Rejected {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        message: "method not allowed on this route".into(),
    }
}

/// The public listener's API: admin routes, each behind the least role it needs, and the
/// unauthenticated login, enrollment and OpenAPI routes.
pub fn public_router(state: Arc<AppState>) -> Router {
    let guarded = |routes: Router<Arc<AppState>>, role: Role| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            (Arc::clone(&state), role),
            auth::require_role,
        ))
    };
    Router::new()
        .merge(session::public_routes())
        .merge(enroll::routes())
        .merge(openapi::routes())
        .merge(guarded(
            boxes::viewer_routes().merge(session::viewer_routes()),
            Role::Viewer,
        ))
        .merge(guarded(boxes::operator_routes(), Role::Operator))
        .merge(guarded(
            tokens::routes()
                .merge(users::routes())
                .merge(audit::routes()),
            Role::Admin,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The agent listener's API (served behind mTLS by [`crate::agent_listener`]).
pub fn agent_router(state: Arc<AppState>) -> Router {
    agent::routes()
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
