//! `GET /api/v1/audit`: the audit log, newest first (administrators only).

use axum::extract::{Query, State};
use axum::Json;
use serde_json::Value;

use crate::access::{Access, Permission};
use crate::api::json;
use crate::api::params::Paging;
use crate::error::ApiResult;
use crate::routes::RouteSpec;
use crate::state::AppState;

/// The audit route.
pub fn routes() -> Vec<RouteSpec> {
    vec![RouteSpec::get(
        "/api/v1/audit",
        Access::User(Permission::ViewAudit),
        list,
    )]
}

/// `GET /api/v1/audit?limit=&offset=`.
pub async fn list(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging.bounds()?;
    let page = state.store().list_audit(limit, offset).await?;
    Ok(Json(json::page(&page)?))
}
