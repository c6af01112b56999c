//! The caller's own API tokens and profile: `GET/POST /api/v1/tokens`,
//! `DELETE /api/v1/tokens/{id}`, `GET /api/v1/me`. A token's secret is shown once, in the
//! answer that creates it; the store keeps only its SHA-256.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{Scope, TokenId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Credential, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// The token and profile routes.
pub fn routes() -> Vec<RouteSpec> {
    let own = Access::User(Permission::ManageOwnTokens);
    vec![
        RouteSpec::get("/api/v1/me", Access::SignedIn, me),
        RouteSpec::get("/api/v1/tokens", own, list),
        RouteSpec::post("/api/v1/tokens", own, create).with_body_limit(4096),
        RouteSpec::new(Method::DELETE, "/api/v1/tokens/{id}", own, revoke),
    ]
}

/// Every permission, for `GET /api/v1/me`.
const PERMISSIONS: [Permission; 11] = [
    Permission::ViewInventory,
    Permission::ViewAlerts,
    Permission::ManageAlerts,
    Permission::ManageOperationalAlerts,
    Permission::ManageGroups,
    Permission::ViewReports,
    Permission::ManageOwnTokens,
    Permission::ManageSites,
    Permission::ManageUsers,
    Permission::ViewAudit,
    Permission::ManageSettings,
];

/// `GET /api/v1/me`: who the caller is, their role, sites (`null`: all) and permissions.
pub async fn me(Extension(user): Extension<UserPrincipal>) -> ApiResult<Json<Value>> {
    let sites = match &user.scope {
        Scope::All => Value::Null,
        Scope::Sites(sites) => json::to_value(sites)?,
    };
    let permissions: Vec<Permission> = PERMISSIONS
        .into_iter()
        .filter(|p| user.role.allows(*p))
        .collect();
    Ok(Json(json!({
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "sites": sites,
        "permissions": permissions,
        "authenticated_by": match user.via {
            Credential::Session => "session",
            Credential::ApiToken => "api_token",
        },
    })))
}

/// `GET /api/v1/tokens`: the caller's tokens (never their secrets), newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> ApiResult<Json<Value>> {
    let tokens = state.store().list_api_tokens(user.id).await?;
    Ok(Json(json::all(&tokens)?))
}

/// Body of `POST /api/v1/tokens`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for (a script's name).
    pub name: String,
}

/// `POST /api/v1/tokens` → 201 with the token's `secret`, shown only here.
pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let secret = new_secret()?;
    let token = state
        .store()
        .create_api_token(user.id, &body.name, &hash_secret(&secret), now())
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "token.create",
        &format!("token:{}", token.id),
        &format!("name {:?}", token.name),
        Outcome::Ok,
    )
    .await;
    let mut value = json::to_value(&token)?;
    value["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(value)))
}

/// `DELETE /api/v1/tokens/{id}` → 204: revokes one of the caller's tokens (someone else's
/// is 404).
pub async fn revoke(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .store()
        .revoke_api_token(user.id, TokenId(id), now())
        .await
        .map_err(ApiError::from)?;
    audit::record(
        &state,
        Some(&user),
        address,
        "token.revoke",
        &format!("token:{id}"),
        "",
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
