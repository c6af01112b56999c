//! Device groups: `GET/POST /api/v1/groups`, `DELETE /api/v1/groups/{id}`,
//! `GET/POST /api/v1/groups/{id}/members`, `DELETE /api/v1/groups/{id}/members/{device}`.
//! Groups are shared by every site; their members are shown only within the caller's sites.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_store::{DeviceGroup, DeviceRef, GroupId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Longest group description.
pub const MAX_DESCRIPTION: usize = 2000;

/// The group routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    let manage = Access::User(Permission::ManageGroups);
    vec![
        RouteSpec::get("/api/v1/groups", view, list),
        RouteSpec::post("/api/v1/groups", manage, create),
        RouteSpec::new(Method::DELETE, "/api/v1/groups/{id}", manage, delete),
        RouteSpec::get("/api/v1/groups/{id}/members", view, members),
        RouteSpec::post("/api/v1/groups/{id}/members", manage, add_member),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/groups/{id}/members/{device}",
            manage,
            remove_member,
        ),
    ]
}

/// Body of `POST /api/v1/groups`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// Unique name.
    pub name: String,
    /// What the group is for.
    #[serde(default)]
    pub description: String,
}

/// Body of `POST /api/v1/groups/{id}/members`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// The device's id.
    pub device: i64,
}

async fn find(state: &AppState, id: GroupId) -> ApiResult<DeviceGroup> {
    state
        .store()
        .list_groups()
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/groups`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let groups = state.store().list_groups().await?;
    Ok(Json(json::all(&groups)?))
}

/// `POST /api/v1/groups` → 201; a taken name is 409.
pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<GroupRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if body.description.len() > MAX_DESCRIPTION {
        return Err(ApiError::bad_request(format!(
            "description must be at most {MAX_DESCRIPTION} bytes"
        )));
    }
    let group = state
        .store()
        .create_group(&body.name, &body.description, now())
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "group.create",
        &format!("group:{}", group.id),
        &format!("name {:?}", group.name),
        Outcome::Ok,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&group)?)))
}

/// `DELETE /api/v1/groups/{id}` → 204 (its devices stay).
pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let group = find(&state, GroupId(id)).await?;
    state.store().delete_group(group.id).await?;
    // Views narrowed to the group, and devices' group names, change.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "group.delete",
        &format!("group:{id}"),
        &format!("name {:?}", group.name),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/groups/{id}/members`: the members within the caller's sites.
pub async fn members(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let group = find(&state, GroupId(id)).await?;
    let rows = state.store().group_members(&user.scope, group.id).await?;
    let items = rows
        .iter()
        .map(json::device)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

/// `POST /api/v1/groups/{id}/members` `{"device"}` → 204; a device outside the caller's
/// sites is 404.
pub async fn add_member(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MemberRequest>,
) -> ApiResult<StatusCode> {
    let group = find(&state, GroupId(id)).await?;
    state
        .store()
        .add_group_member(&user.scope, group.id, DeviceRef(body.device))
        .await?;
    // Views narrowed to the group, and the device's group names, change.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "group.member.add",
        &format!("group:{id}"),
        &format!("device {}", body.device),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/groups/{id}/members/{device}` → 204 (also when it was not a member); a
/// device outside the caller's sites is 404.
pub async fn remove_member(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath((id, device)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let group = find(&state, GroupId(id)).await?;
    state
        .store()
        .remove_group_member(&user.scope, group.id, DeviceRef(device))
        .await?;
    // Views narrowed to the group, and the device's group names, change.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "group.member.remove",
        &format!("group:{id}"),
        &format!("device {device}"),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
