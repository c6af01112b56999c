//! `GET /api/v1/devices`, `GET /api/v1/devices/{id}`: the inventory, filtered by
//! [`DeviceFilter`] within the caller's sites, and one device with everything known about it.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use ironward_store::{AlertQuery, ConnectionQuery, DeviceRef, EventQuery, VulnerabilityQuery};
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::ApiPath;
use crate::api::json;
use crate::error::ApiResult;
use crate::filters::DeviceFilter;
use crate::routes::RouteSpec;
use crate::state::AppState;

/// Connections and events shown with a device (the most recent; the totals say how many
/// more `/connections?device=` and `/events?device=` hold).
pub const DETAIL_RECENT: i64 = 100;

/// The device routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    vec![
        RouteSpec::get("/api/v1/devices", view, list),
        RouteSpec::get("/api/v1/devices.csv", view, crate::api::devices_csv::export),
        RouteSpec::get("/api/v1/devices/{id}", view, detail),
    ]
}

/// `GET /api/v1/devices`.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<DeviceFilter>,
) -> ApiResult<Json<Value>> {
    let query = filter.to_query(user.scope.clone())?;
    let page = state.store().list_devices(&query).await?;
    let mut answer = json::devices(&page)?;
    let ids: Vec<DeviceRef> = page.items.iter().map(|r| r.id).collect();
    let counts = state
        .store()
        .vulnerability_counts(&user.scope, &ids)
        .await?;
    if let Some(items) = answer["items"].as_array_mut() {
        for (item, row) in items.iter_mut().zip(&page.items) {
            let (count, highest) = counts.get(&row.id).copied().unwrap_or((0, None));
            item["vulnerabilities"] = json!(count);
            item["highest_cvss"] = json!(highest);
        }
    }
    Ok(Json(answer))
}

/// `GET /api/v1/devices/{id}`: the device, its facts with sources, its history, its recent
/// connections and events.
pub async fn detail(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let id = DeviceRef(id);
    let detail = store.get_device(&user.scope, id).await?;
    let mut connections = ConnectionQuery::new(user.scope.clone());
    connections.device = Some(id);
    connections.limit = DETAIL_RECENT;
    let connections = store.list_connections(&connections).await?;
    let mut events = EventQuery::new(user.scope.clone());
    events.device = Some(id);
    events.limit = DETAIL_RECENT;
    let events = store.list_events(&events).await?;
    let mut alerts = AlertQuery::new(user.scope.clone());
    alerts.site = Some(detail.row.site_id);
    alerts.device = Some(detail.row.device.id.0.clone());
    alerts.limit = DETAIL_RECENT;
    let alerts = store.query_alerts(&alerts).await?;
    let mut vulnerabilities = VulnerabilityQuery::new(user.scope.clone());
    vulnerabilities.device = Some(id);
    vulnerabilities.limit = ironward_store::MAX_PAGE;
    let vulnerabilities = store.list_vulnerabilities(&vulnerabilities).await?;
    let vulnerability_items = vulnerabilities
        .items
        .iter()
        .map(crate::api::vulnerabilities::row_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(json!({
        "device": json::device(&detail.row)?,
        "facts": json::to_value(&detail.facts)?,
        "history": json::to_value(&detail.history)?,
        "connections": json::page(&connections)?,
        "events": json::page(&events)?,
        "alerts": json::page(&alerts)?,
        "vulnerabilities": { "items": vulnerability_items, "total": vulnerabilities.total },
    })))
}
