//! Users (administrators only): `GET/POST /api/v1/users`, `PATCH/DELETE /api/v1/users/{id}`,
//! `POST /api/v1/users/{id}/unlock`. Passwords are hashed with argon2id and never echoed;
//! answers carry no hash. An administrator restricted to some sites manages only users of
//! those sites and grants only those sites.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_model::Timestamp;
use ironward_store::{Scope, SiteId, User, UserId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, Role, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::password::hash_password;
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// The user routes.
pub fn routes() -> Vec<RouteSpec> {
    let manage = Access::User(Permission::ManageUsers);
    vec![
        RouteSpec::get("/api/v1/users", manage, list),
        RouteSpec::post("/api/v1/users", manage, create).with_body_limit(8192),
        RouteSpec::new(Method::PATCH, "/api/v1/users/{id}", manage, update).with_body_limit(8192),
        RouteSpec::new(Method::DELETE, "/api/v1/users/{id}", manage, delete),
        RouteSpec::post("/api/v1/users/{id}/unlock", manage, unlock),
    ]
}

/// A user as the API shows it: no password hash.
pub fn user_json(user: &User, at: Timestamp) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "sites": user.sites,
        "failed_logins": user.failed_logins,
        "locked": user.locked_until.is_some_and(|until| until > at),
        "locked_until": user.locked_until,
        "created_at": user.created_at,
        "last_login": user.last_login,
    })
}

/// Body of `POST /api/v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    pub name: String,
    /// `admin`, `analyst`, `operator` or `viewer`.
    pub role: String,
    /// Site ids the user is restricted to (empty or absent: every site).
    #[serde(default)]
    pub sites: Vec<i64>,
    /// The password (at least 10 characters).
    pub password: String,
}

/// Body of `PATCH /api/v1/users/{id}`: each field present is changed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// New role.
    #[serde(default)]
    pub role: Option<String>,
    /// New site restriction (empty: every site).
    #[serde(default)]
    pub sites: Option<Vec<i64>>,
    /// New password (clears a lockout).
    #[serde(default)]
    pub password: Option<String>,
}

// Never print the password, whatever logs a request body.
impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("sites", &self.sites)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateUser")
            .field("role", &self.role)
            .field("sites", &self.sites)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn role(name: &str) -> ApiResult<Role> {
    Role::parse(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "role must be one of admin, analyst, operator, viewer, not {name:?}"
        ))
    })
}

/// The sites to grant, checked: each exists and lies within the caller's own scope (an
/// administrator restricted to some sites cannot hand out others, nor all of them).
async fn sites(state: &AppState, caller: &UserPrincipal, ids: &[i64]) -> ApiResult<Vec<SiteId>> {
    let mut sites: Vec<SiteId> = ids.iter().copied().map(SiteId).collect();
    sites.sort_unstable();
    sites.dedup();
    if sites.is_empty() && caller.scope != Scope::All {
        return Err(ApiError::bad_request(
            "sites: name at least one of your sites (you cannot grant every site)",
        ));
    }
    for site in &sites {
        if state.store().get_site(&caller.scope, *site).await.is_err() {
            return Err(ApiError::bad_request(format!("sites: no site {site}")));
        }
    }
    Ok(sites)
}

/// Whether the caller may manage `target`: an administrator restricted to some sites manages
/// only users restricted to those sites; the others do not exist for them (404).
fn manages(caller: &UserPrincipal, target: &User) -> bool {
    match &caller.scope {
        Scope::All => true,
        Scope::Sites(_) => {
            !target.sites.is_empty() && target.sites.iter().all(|s| caller.scope.allows(*s))
        }
    }
}

async fn managed(state: &AppState, caller: &UserPrincipal, id: UserId) -> ApiResult<User> {
    let target = state.store().get_user(id).await?;
    if manages(caller, &target) {
        Ok(target)
    } else {
        Err(ApiError::not_found())
    }
}

/// Hashes off the async threads: argon2id is deliberately slow.
async fn hash(password: String) -> ApiResult<String> {
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| {
            tracing::error!(%error, "password hashing task");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?;
    hashed.map_err(|e| ApiError::bad_request(format!("password: {e}")))
}

fn describe(role: &str, sites: &[SiteId]) -> String {
    if sites.is_empty() {
        format!("role {role}, all sites")
    } else {
        let ids: Vec<String> = sites.iter().map(ToString::to_string).collect();
        format!("role {role}, sites {}", ids.join(","))
    }
}

/// `GET /api/v1/users`: the users the caller manages.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> ApiResult<Json<Value>> {
    let users = state.store().list_users().await?;
    let at = now();
    let items: Vec<Value> = users
        .iter()
        .filter(|u| manages(&user, u))
        .map(|u| user_json(u, at))
        .collect();
    Ok(Json(json::all(&items)?))
}

/// `POST /api/v1/users` → 201; a taken name is 409.
pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let role = role(&body.role)?;
    let sites = sites(&state, &user, &body.sites).await?;
    let hashed = hash(body.password).await?;
    let created = state
        .store()
        .create_user(&body.name, role.as_str(), &sites, &hashed, now())
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "user.create",
        &format!("user:{}", created.id),
        &format!(
            "name {:?}, {}",
            created.name,
            describe(role.as_str(), &sites)
        ),
        Outcome::Ok,
    )
    .await;
    Ok((StatusCode::CREATED, Json(user_json(&created, now()))))
}

/// `PATCH /api/v1/users/{id}` `{"role"?, "sites"?, "password"?}`. Administrators cannot take
/// their own administration away (409): someone must remain able to manage users.
pub async fn update(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let id = UserId(id);
    let current = managed(&state, &user, id).await?;
    // Hashed first, so that a refused password changes nothing else either.
    let hashed = match body.password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    let mut changes = Vec::new();
    if body.role.is_some() || body.sites.is_some() {
        let role = match &body.role {
            Some(name) => role(name)?.as_str(),
            None => current.role.as_str(),
        };
        let sites = match &body.sites {
            Some(ids) => sites(&state, &user, ids).await?,
            None => current.sites.clone(),
        };
        let narrowed =
            role != Role::Admin.as_str() || (!sites.is_empty() && sites != current.sites);
        if id == user.id && narrowed {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "you cannot narrow your own role or sites; ask another administrator",
            ));
        }
        store.update_user_access(id, role, &sites).await?;
        changes.push(describe(role, &sites));
    }
    if let Some(hashed) = hashed {
        store.update_user_password(id, &hashed).await?;
        changes.push("password changed".to_owned());
    }
    if changes.is_empty() {
        return Err(ApiError::bad_request(
            "nothing to change: give role, sites or password",
        ));
    }
    audit::record(
        &state,
        Some(&user),
        address,
        "user.update",
        &format!("user:{id}"),
        &format!("name {:?}, {}", current.name, changes.join(", ")),
        Outcome::Ok,
    )
    .await;
    let updated = store.get_user(id).await?;
    Ok(Json(user_json(&updated, now())))
}

/// `DELETE /api/v1/users/{id}` → 204 with their tokens and sessions; deleting oneself is 409.
pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let id = UserId(id);
    let store = state.store();
    let target = managed(&state, &user, id).await?;
    if id == user.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "you cannot delete yourself; ask another administrator",
        ));
    }
    store.delete_user(id).await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "user.delete",
        &format!("user:{id}"),
        &format!("name {:?}", target.name),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{id}/unlock`: clears a lockout from failed logins.
pub async fn unlock(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    managed(&state, &user, UserId(id)).await?;
    let unlocked = state.store().unlock_user(UserId(id)).await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "user.unlock",
        &format!("user:{id}"),
        &format!("name {:?}", unlocked.name),
        Outcome::Ok,
    )
    .await;
    Ok(Json(user_json(&unlocked, now())))
}
