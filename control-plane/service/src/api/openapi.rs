//! The OpenAPI document of both listeners, generated from the handlers, served at
//! `GET /api/openapi.json`.

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "control-plane", description = "Fleet service: enrollment, inventory, admin API."),
    paths(
        super::session::login,
        super::session::logout,
        super::enroll::enroll,
        super::enroll::enroll_status,
        super::agent::heartbeat,
        super::boxes::list_boxes,
        super::boxes::box_detail,
        super::boxes::approve,
        super::boxes::revoke,
        super::boxes::set_zone,
        super::boxes::set_modules,
        super::boxes::set_drain,
        super::tokens::create_token,
        super::tokens::list_tokens,
        super::users::create_user,
        super::users::list_users,
        super::audit::list_audit,
        openapi_json,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the admin routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document route (public: it holds no data).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
