//! `GET /api/v1/connections` (the map) and `GET /api/v1/events` (what conversations did),
//! each within the caller's sites (alerts: [`super::alerts`]).

use axum::extract::{Query, State};
use axum::{Extension, Json};
use ironward_store::{ConnectionQuery, DeviceRef, EventQuery, SiteId};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::json;
use crate::api::params::{integer, present, time, Paging};
use crate::error::ApiResult;
use crate::routes::RouteSpec;
use crate::state::AppState;

/// The connection and event routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    vec![
        RouteSpec::get("/api/v1/connections", view, connections),
        RouteSpec::get("/api/v1/events", view, events),
    ]
}

/// Query of `GET /api/v1/connections`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectionParams {
    /// Site id.
    #[serde(default)]
    pub site: Option<String>,
    /// Device id: only its connections.
    #[serde(default)]
    pub device: Option<String>,
    /// Application protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET /api/v1/connections`, most recent first.
pub async fn connections(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<ConnectionParams>,
) -> ApiResult<Json<Value>> {
    let mut query = ConnectionQuery::new(user.scope.clone());
    query.site = integer("site", &params.site)?.map(SiteId);
    query.device = integer("device", &params.device)?.map(DeviceRef);
    query.protocol = present(&params.protocol).map(str::to_owned);
    (query.limit, query.offset) = params.paging.bounds()?;
    let page = state.store().list_connections(&query).await?;
    Ok(Json(json::page(&page)?))
}

/// Query of `GET /api/v1/events`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventParams {
    /// Site id.
    #[serde(default)]
    pub site: Option<String>,
    /// Device id: only events it sent or received.
    #[serde(default)]
    pub device: Option<String>,
    /// Protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Category (`read`, `write`, `program`, `control`, ...).
    #[serde(default)]
    pub category: Option<String>,
    /// RFC 3339 time: only events seen since.
    #[serde(default)]
    pub since: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET /api/v1/events`, most recent first.
pub async fn events(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<EventParams>,
) -> ApiResult<Json<Value>> {
    let mut query = EventQuery::new(user.scope.clone());
    query.site = integer("site", &params.site)?.map(SiteId);
    query.device = integer("device", &params.device)?.map(DeviceRef);
    query.protocol = present(&params.protocol).map(str::to_owned);
    query.category = present(&params.category).map(str::to_owned);
    query.since = time("since", &params.since)?;
    (query.limit, query.offset) = params.paging.bounds()?;
    let page = state.store().list_events(&query).await?;
    Ok(Json(json::page(&page)?))
}
