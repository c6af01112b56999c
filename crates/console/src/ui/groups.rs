//! `/groups`: device groups. Everyone who sees the inventory sees the groups and their members
//! (only those in their sites); analysts and administrators create and delete groups and add
//! and remove devices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{DeviceRef, GroupId};
use maud::html;
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::audit::{self, Outcome};
use crate::state::{now, AppState};
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{device_name, failure, form_error, notice, see_other, when, ClientAddr};

/// `GET /groups`.
pub(crate) async fn groups(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render_list(&state, &user, StatusCode::OK, None).await
}

async fn render_list(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let groups = match state.store().list_groups().await {
        Ok(g) => g,
        Err(e) => return failure(e),
    };
    let manage = user.role.allows(Permission::ManageGroups);
    let content = html! {
        h1 { "Device groups" }
        (notice(error))
        @if manage {
            section.panel {
                h2 { "New group" }
                form.inline method="post" action="/groups" {
                    (csrf_field(user))
                    input type="text" name="name" required maxlength="200" placeholder="Name";
                    input.wide type="text" name="description" maxlength="1000" placeholder="Description";
                    button type="submit" { "Create group" }
                }
            }
        }
        table {
            thead { tr { th { "Group" } th { "Description" } th { "Created" } @if manage { th {} } } }
            tbody {
                @for g in &groups {
                    tr {
                        td { a href={"/groups/" (g.id)} { (g.name) } }
                        td { (g.description) }
                        td { (when(Some(g.created_at))) }
                        @if manage {
                            td {
                                form.inline method="post" action={"/groups/" (g.id) "/delete"} data-confirm={"Delete group " (g.name) "?"} {
                                    (csrf_field(user))
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
                @if groups.is_empty() { tr { td colspan="4" .muted { "No groups yet." } } }
            }
        }
    };
    (
        status,
        html_response(page(user, "Groups", "/groups", content)),
    )
        .into_response()
}

/// `GET /groups/{id}`.
pub(crate) async fn group(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<i64>,
) -> Response {
    render_group(&state, &user, GroupId(id), StatusCode::OK, None).await
}

async fn render_group(
    state: &AppState,
    user: &UserPrincipal,
    id: GroupId,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let store = state.store();
    let (groups, members) =
        match tokio::try_join!(store.list_groups(), store.group_members(&user.scope, id)) {
            Ok(all) => all,
            Err(e) => return failure(e),
        };
    let Some(group) = groups.into_iter().find(|g| g.id == id) else {
        return failure(ironward_store::StoreError::NotFound);
    };
    let manage = user.role.allows(Permission::ManageGroups);
    let content = html! {
        div.heading {
            h1 { "Group " (group.name) }
            a href={"/map?devices=" (group.id)} { "Show on the map" }
        }
        p.muted { (group.description) }
        (notice(error))
        @if manage {
            form.inline method="post" action={"/groups/" (group.id) "/members"} {
                (csrf_field(user))
                input.short type="number" name="device" required min="1" placeholder="Device id";
                button type="submit" { "Add device" }
                span.muted { " The device id is the number in its page's address; devices also have an “Add to group” form." }
            }
        }
        table {
            thead { tr { th { "Device" } th { "IP" } th { "Type" } th { "Vendor" } th { "Site" } @if manage { th {} } } }
            tbody {
                @for r in &members {
                    tr {
                        td { a href={"/devices/" (r.id)} { (device_name(&r.device)) } }
                        td { @for ip in r.device.ips.iter().take(2) { (ip) " " } }
                        td { (r.device.device_type.as_deref().unwrap_or("")) }
                        td { (r.device.vendor.as_deref().unwrap_or("")) }
                        td { (r.site) }
                        @if manage {
                            td {
                                form.inline method="post" action={"/groups/" (group.id) "/members/remove"} {
                                    (csrf_field(user))
                                    input type="hidden" name="device" value=(r.id);
                                    button.secondary type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
                @if members.is_empty() { tr { td colspan="6" .muted { "No member in your sites." } } }
            }
        }
    };
    (
        status,
        html_response(page(user, &group.name, "/groups", content)),
    )
        .into_response()
}

/// The new-group form.
#[derive(Debug, Deserialize)]
pub(crate) struct GroupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

/// A device to add or remove (and, from the device page, the group).
#[derive(Debug, Deserialize)]
pub(crate) struct MemberForm {
    #[serde(default)]
    device: String,
    #[serde(default)]
    group: Option<String>,
}

/// `POST /groups`.
pub(crate) async fn create_group(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<GroupForm>,
) -> Response {
    let name = form.name.trim();
    let description: String = form.description.trim().chars().take(1000).collect();
    match state.store().create_group(name, &description, now()).await {
        Ok(g) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "group.create",
                &format!("group:{}", g.id),
                &format!("name {name:?}"),
                Outcome::Ok,
            )
            .await;
            see_other(&format!("/groups/{}", g.id))
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render_list(&state, &user, status, Some(&message)).await
        }
    }
}

/// `POST /groups/{id}/delete`.
pub(crate) async fn delete_group(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match state.store().delete_group(GroupId(id)).await {
        Ok(()) => {
            // Views narrowed to the group, and devices' group names, change.
            state.posture().changed();
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "group.delete",
                &format!("group:{id}"),
                "",
                Outcome::Ok,
            )
            .await;
            see_other("/groups")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render_list(&state, &user, status, Some(&message)).await
        }
    }
}

fn device_of(form: &MemberForm) -> Option<DeviceRef> {
    form.device.trim().parse().ok().map(DeviceRef)
}

/// `POST /groups/{id}/members`.
pub(crate) async fn add_member(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<MemberForm>,
) -> Response {
    change_member(
        &state,
        &user,
        addr,
        GroupId(id),
        device_of(&form),
        true,
        None,
    )
    .await
}

/// `POST /groups/{id}/members/remove`.
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<MemberForm>,
) -> Response {
    change_member(
        &state,
        &user,
        addr,
        GroupId(id),
        device_of(&form),
        false,
        None,
    )
    .await
}

/// `POST /groups/add-device` (the device page's form): adds and returns to the device.
pub(crate) async fn add_from_device(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<MemberForm>,
) -> Response {
    let group = form
        .group
        .as_deref()
        .and_then(|g| g.trim().parse().ok())
        .map(GroupId);
    let device = device_of(&form);
    match group {
        Some(group) => {
            let back = device.map(|d| format!("/devices/{d}"));
            change_member(&state, &user, addr, group, device, true, back).await
        }
        None => failure(ironward_store::StoreError::Invalid(
            "no group chosen".to_owned(),
        )),
    }
}

async fn change_member(
    state: &AppState,
    user: &UserPrincipal,
    addr: ClientAddr,
    group: GroupId,
    device: Option<DeviceRef>,
    add: bool,
    back: Option<String>,
) -> Response {
    let Some(device) = device else {
        return render_group(
            state,
            user,
            group,
            StatusCode::BAD_REQUEST,
            Some("Give a device id (a number)."),
        )
        .await;
    };
    let store = state.store();
    let result = if add {
        store.add_group_member(&user.scope, group, device).await
    } else {
        store.remove_group_member(&user.scope, group, device).await
    };
    let action = if add {
        "group.member.add"
    } else {
        "group.member.remove"
    };
    match result {
        Ok(()) => {
            // Views narrowed to the group, and the device's group names, change.
            state.posture().changed();
            audit::record(
                state,
                Some(user),
                addr.0,
                action,
                &format!("group:{group}"),
                &format!("device:{device}"),
                Outcome::Ok,
            )
            .await;
            see_other(&back.unwrap_or_else(|| format!("/groups/{group}")))
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render_group(state, user, group, status, Some(&message)).await
        }
    }
}
