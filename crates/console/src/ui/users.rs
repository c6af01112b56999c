//! `/users` (administrators): users with their roles and site scopes; create, change role and
//! sites, reset a password, delete. Passwords are hashed with argon2id before the store sees
//! them and never appear in the audit log. An administrator cannot delete or demote their own
//! account (the console would lose its last administrator by accident).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{SiteId, UserId};
use maud::{html, Markup};

use crate::access::{Role, UserPrincipal};
use crate::audit::{self, Outcome};
use crate::password::{hash_password, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::state::{now, AppState};
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{failure, form_error, notice, see_other, when, ClientAddr};

/// `GET /users`.
pub(crate) async fn users(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render(&state, &user, StatusCode::OK, None).await
}

async fn render(
    state: &AppState,
    me: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let store = state.store();
    let (users, sites) = match tokio::try_join!(
        store.list_users(),
        store.list_sites(&ironward_store::Scope::All)
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let site_name = |id: &SiteId| {
        sites
            .iter()
            .find(|s| s.id == *id)
            .map_or_else(|| format!("#{id}"), |s| s.name.clone())
    };
    let site_boxes = |chosen: &[SiteId]| -> Markup {
        html! {
            span.checks {
                @for s in &sites {
                    label.inline { input type="checkbox" name={"site_" (s.id)} value="on" checked[chosen.contains(&s.id)]; (s.name) }
                }
            }
        }
    };
    let role_select = |current: &str| -> Markup {
        html! {
            select name="role" {
                @for r in Role::ALL { option value=(r.as_str()) selected[r.as_str() == current] { (r.as_str()) } }
            }
        }
    };
    let now = now();
    let content = html! {
        h1 { "Users" }
        (notice(error))
        section.panel {
            h2 { "New user" }
            form.stack method="post" action="/users" {
                (csrf_field(me))
                label { "Name" input type="text" name="name" required maxlength="200" autocomplete="off"; }
                label { "Role" (role_select("viewer")) }
                div { "Sites (none ticked: all sites)" (site_boxes(&[])) }
                label { "Password (" (MIN_PASSWORD_LEN) " characters or more)"
                    input type="password" name="password" required minlength=(MIN_PASSWORD_LEN) autocomplete="new-password"; }
                button type="submit" { "Create user" }
            }
        }
        table.users {
            thead { tr { th { "User" } th { "Role" } th { "Sites" } th { "Last sign-in" } th { "Status" } th { "Change" } } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) }
                        td { (u.role) }
                        td { @if u.sites.is_empty() { "all" } @else { (u.sites.iter().map(site_name).collect::<Vec<_>>().join(", ")) } }
                        td { (when(u.last_login)) }
                        td {
                            @if u.locked_until.is_some_and(|t| t > now) { span.badge.offline { "locked" } }
                            @else { span.badge.online { "active" } }
                        }
                        td {
                            details {
                                summary { "Edit" }
                                form.stack method="post" action={"/users/" (u.id) "/access"} {
                                    (csrf_field(me))
                                    label { "Role" (role_select(&u.role)) }
                                    div { "Sites" (site_boxes(&u.sites)) }
                                    button.secondary type="submit" { "Save role and sites" }
                                }
                                form.stack method="post" action={"/users/" (u.id) "/password"} {
                                    (csrf_field(me))
                                    label { "New password" input type="password" name="password" required minlength=(MIN_PASSWORD_LEN) autocomplete="new-password"; }
                                    button.secondary type="submit" { "Reset password" }
                                }
                                @if u.id != me.id {
                                    form method="post" action={"/users/" (u.id) "/delete"} data-confirm={"Delete user " (u.name) "?"} {
                                        (csrf_field(me))
                                        button.danger type="submit" { "Delete user" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    (status, html_response(page(me, "Users", "/users", content))).into_response()
}

/// The ticked `site_<id>` boxes of a form.
fn chosen_sites(form: &HashMap<String, String>) -> Vec<SiteId> {
    let mut sites: Vec<SiteId> = form
        .iter()
        .filter(|(_, v)| v.as_str() == "on")
        .filter_map(|(k, _)| k.strip_prefix("site_")?.parse().ok().map(SiteId))
        .collect();
    sites.sort();
    sites
}

fn field<'f>(form: &'f HashMap<String, String>, name: &str) -> &'f str {
    form.get(name).map_or("", String::as_str)
}

/// Checks a new password's length; the message says what is wrong.
fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Some(format!(
            "The password needs {MIN_PASSWORD_LEN} characters or more."
        ))
    } else if password.len() > MAX_PASSWORD_LEN {
        Some(format!(
            "The password must be at most {MAX_PASSWORD_LEN} bytes."
        ))
    } else {
        None
    }
}

fn sites_text(sites: &[SiteId]) -> String {
    if sites.is_empty() {
        "all".to_owned()
    } else {
        sites
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `POST /users`.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    Extension(me): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let name = field(&form, "name").trim();
    let role = field(&form, "role");
    let sites = chosen_sites(&form);
    let password = field(&form, "password");
    if Role::parse(role).is_none() {
        return render(&state, &me, StatusCode::BAD_REQUEST, Some("Choose a role.")).await;
    }
    if let Some(problem) = password_problem(password) {
        return render(&state, &me, StatusCode::BAD_REQUEST, Some(&problem)).await;
    }
    let Ok(hash) = hash_password(password) else {
        return render(
            &state,
            &me,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("The password could not be hashed."),
        )
        .await;
    };
    match state
        .store()
        .create_user(name, role, &sites, &hash, now())
        .await
    {
        Ok(user) => {
            audit::record(
                &state,
                Some(&me),
                addr.0,
                "user.create",
                &format!("user:{}", user.name),
                &format!("role {role}, sites {}", sites_text(&sites)),
                Outcome::Ok,
            )
            .await;
            see_other("/users")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &me, status, Some(&message)).await
        }
    }
}

/// `POST /users/{id}/access`.
pub(crate) async fn update_access(
    State(state): State<AppState>,
    Extension(me): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let role = field(&form, "role");
    let sites = chosen_sites(&form);
    if Role::parse(role).is_none() {
        return render(&state, &me, StatusCode::BAD_REQUEST, Some("Choose a role.")).await;
    }
    if UserId(id) == me.id && (role != Role::Admin.as_str() || !sites.is_empty()) {
        return render(
            &state,
            &me,
            StatusCode::BAD_REQUEST,
            Some("You cannot lower your own access; ask another administrator."),
        )
        .await;
    }
    match state
        .store()
        .update_user_access(UserId(id), role, &sites)
        .await
    {
        Ok(user) => {
            audit::record(
                &state,
                Some(&me),
                addr.0,
                "user.access",
                &format!("user:{}", user.name),
                &format!("role {role}, sites {}", sites_text(&sites)),
                Outcome::Ok,
            )
            .await;
            see_other("/users")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &me, status, Some(&message)).await
        }
    }
}

/// `POST /users/{id}/password`.
pub(crate) async fn reset_password(
    State(state): State<AppState>,
    Extension(me): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let password = field(&form, "password");
    if let Some(problem) = password_problem(password) {
        return render(&state, &me, StatusCode::BAD_REQUEST, Some(&problem)).await;
    }
    let Ok(hash) = hash_password(password) else {
        return render(
            &state,
            &me,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("The password could not be hashed."),
        )
        .await;
    };
    match state.store().update_user_password(UserId(id), &hash).await {
        Ok(()) => {
            audit::record(
                &state,
                Some(&me),
                addr.0,
                "user.password.reset",
                &format!("user:{id}"),
                "",
                Outcome::Ok,
            )
            .await;
            see_other("/users")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &me, status, Some(&message)).await
        }
    }
}

/// `POST /users/{id}/delete`.
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    Extension(me): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    if UserId(id) == me.id {
        return render(
            &state,
            &me,
            StatusCode::BAD_REQUEST,
            Some("You cannot delete your own account."),
        )
        .await;
    }
    let name = state
        .store()
        .get_user(UserId(id))
        .await
        .map(|u| u.name)
        .unwrap_or_default();
    match state.store().delete_user(UserId(id)).await {
        Ok(()) => {
            audit::record(
                &state,
                Some(&me),
                addr.0,
                "user.delete",
                &format!("user:{name}"),
                &format!("id {id}"),
                Outcome::Ok,
            )
            .await;
            see_other("/users")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &me, status, Some(&message)).await
        }
    }
}
