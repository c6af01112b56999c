//! Sites and their zones: `GET/POST /api/v1/sites`, `GET/PATCH/DELETE /api/v1/sites/{id}`,
//! `GET/POST /api/v1/sites/{id}/zones`, `PATCH/DELETE /api/v1/zones/{id}`. Everyone reads the
//! sites of their scope; administrators change them. A site's learning mode:
//! `GET/POST /api/v1/sites/{id}/learning` (read with the alerts, changed by those who manage
//! security alerts and the baseline).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_model::Timestamp;
use ironward_store::{SiteId, SiteLearning, ZoneId};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// The site and zone routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    let manage = Access::User(Permission::ManageSites);
    vec![
        RouteSpec::get("/api/v1/sites", view, list_sites),
        RouteSpec::post("/api/v1/sites", manage, create_site),
        RouteSpec::get("/api/v1/sites/{id}", view, get_site),
        RouteSpec::new(Method::PATCH, "/api/v1/sites/{id}", manage, rename_site),
        RouteSpec::new(Method::DELETE, "/api/v1/sites/{id}", manage, delete_site),
        RouteSpec::get("/api/v1/sites/{id}/zones", view, list_zones),
        RouteSpec::post("/api/v1/sites/{id}/zones", manage, create_zone),
        RouteSpec::new(Method::PATCH, "/api/v1/zones/{id}", manage, rename_zone),
        RouteSpec::new(Method::DELETE, "/api/v1/zones/{id}", manage, delete_zone),
        RouteSpec::get(
            "/api/v1/sites/{id}/learning",
            Access::User(Permission::ViewAlerts),
            get_learning,
        ),
        RouteSpec::post(
            "/api/v1/sites/{id}/learning",
            Access::User(Permission::ManageAlerts),
            set_learning,
        ),
    ]
}

/// Longest learning period one request starts: a year.
pub const MAX_LEARNING_SECONDS: u64 = 366 * 86_400;

/// Body of `POST /api/v1/sites/{id}/learning`: exactly one of the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningBody {
    /// Learn for this many seconds from now (1 to [`MAX_LEARNING_SECONDS`]).
    #[serde(default)]
    pub duration_s: Option<u64>,
    /// `true`: end learning now.
    #[serde(default)]
    pub stop: Option<bool>,
}

/// A site's learning state as JSON: `until` (RFC 3339 or null: never learned), `learning`
/// (whether it learns now), `learned` (policy alerts turned into baseline entries) and
/// `baseline_version`.
pub fn learning_json(learning: &SiteLearning, now: Timestamp) -> Value {
    serde_json::json!({
        "site_id": learning.site_id.0,
        "until": learning.until.map(|t| t.to_rfc3339()),
        "learning": learning.is_learning(now),
        "learned": learning.learned,
        "baseline_version": learning.baseline_version,
    })
}

/// When a site created now stops learning under the console's settings (`None`: learning
/// for new sites is off).
pub fn default_learning_until(state: &AppState, now: Timestamp) -> Option<Timestamp> {
    let period = state.settings().site_learning_period;
    if period.is_zero() {
        return None;
    }
    let nanos = i64::try_from(period.as_nanos()).unwrap_or(i64::MAX);
    Some(Timestamp(now.0.saturating_add(nanos)))
}

/// `GET /api/v1/sites/{id}/learning`.
pub async fn get_learning(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let learning = state.store().site_learning(&user.scope, SiteId(id)).await?;
    Ok(Json(learning_json(&learning, now())))
}

/// `POST /api/v1/sites/{id}/learning` `{"duration_s": N}` starts (or restarts) learning for N
/// seconds; `{"stop": true}` ends it now. Audited.
pub async fn set_learning(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<LearningBody>,
) -> ApiResult<Json<Value>> {
    let at = now();
    let (until, detail) = match (body.duration_s, body.stop) {
        (Some(seconds), None) if (1..=MAX_LEARNING_SECONDS).contains(&seconds) => {
            let nanos = i64::try_from(seconds)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000_000);
            (
                Timestamp(at.0.saturating_add(nanos)),
                format!("start for {seconds} s"),
            )
        }
        (None, Some(true)) => (at, "stop".to_owned()),
        _ => {
            return Err(ApiError::bad_request(format!(
                "give either duration_s (1 to {MAX_LEARNING_SECONDS} seconds) or stop: true"
            )))
        }
    };
    let learning = state
        .store()
        .set_site_learning(&user.scope, SiteId(id), until)
        .await?;
    // Authorization (a posture metric) follows the learning window.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "site.learning",
        &format!("site:{id}"),
        &detail,
        Outcome::Ok,
    )
    .await;
    Ok(Json(learning_json(&learning, at)))
}

/// Body of the create and rename requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    /// The name (printable, no surrounding spaces, at most 200 bytes).
    pub name: String,
}

/// `GET /api/v1/sites`: the caller's sites, by name.
pub async fn list_sites(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> ApiResult<Json<Value>> {
    let sites = state.store().list_sites(&user.scope).await?;
    Ok(Json(json::all(&sites)?))
}

/// `POST /api/v1/sites` → 201 with the site; a taken name is 409.
pub async fn create_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let at = now();
    let site = state
        .store()
        .create_site_learning(&body.name, at, default_learning_until(&state, at))
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "site.create",
        &format!("site:{}", site.id),
        &format!("name {:?}", site.name),
        Outcome::Ok,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&site)?)))
}

/// `GET /api/v1/sites/{id}`.
pub async fn get_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let site = state.store().get_site(&user.scope, SiteId(id)).await?;
    Ok(Json(json::to_value(&site)?))
}

/// `PATCH /api/v1/sites/{id}` `{"name"}`.
pub async fn rename_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let before = store.get_site(&user.scope, SiteId(id)).await?;
    let site = store
        .rename_site(&user.scope, SiteId(id), &body.name)
        .await?;
    // Posture names each device's site.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "site.rename",
        &format!("site:{id}"),
        &format!("name {:?} -> {:?}", before.name, site.name),
        Outcome::Ok,
    )
    .await;
    Ok(Json(json::to_value(&site)?))
}

/// `DELETE /api/v1/sites/{id}` → 204; 409 while sensors or users are bound to it.
pub async fn delete_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    let site = store.get_site(&user.scope, SiteId(id)).await?;
    store.delete_site(&user.scope, SiteId(id)).await?;
    // The site's devices leave every view.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "site.delete",
        &format!("site:{id}"),
        &format!("name {:?}", site.name),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/sites/{id}/zones`.
pub async fn list_zones(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    // An unknown or foreign site is 404, not an empty list.
    store.get_site(&user.scope, SiteId(id)).await?;
    let zones = store.list_zones(&user.scope, Some(SiteId(id))).await?;
    Ok(Json(json::all(&zones)?))
}

/// `POST /api/v1/sites/{id}/zones` → 201 with the zone; a name taken in the site is 409.
pub async fn create_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let zone = state
        .store()
        .create_zone(&user.scope, SiteId(id), &body.name, now())
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "zone.create",
        &format!("zone:{}", zone.id),
        &format!("site {id}, name {:?}", zone.name),
        Outcome::Ok,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&zone)?)))
}

/// `PATCH /api/v1/zones/{id}` `{"name"}`.
pub async fn rename_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<Json<Value>> {
    let store = state.store();
    let before = store.get_zone(&user.scope, ZoneId(id)).await?;
    let zone = store
        .rename_zone(&user.scope, ZoneId(id), &body.name)
        .await?;
    // Posture names each device's zone.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "zone.rename",
        &format!("zone:{id}"),
        &format!("name {:?} -> {:?}", before.name, zone.name),
        Outcome::Ok,
    )
    .await;
    Ok(Json(json::to_value(&zone)?))
}

/// `DELETE /api/v1/zones/{id}` → 204 (with its devices, connections and events); 409 while
/// sensors are enrolled in it.
pub async fn delete_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    let zone = store.get_zone(&user.scope, ZoneId(id)).await?;
    store.delete_zone(&user.scope, ZoneId(id)).await?;
    // The zone's devices leave every view.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "zone.delete",
        &format!("zone:{id}"),
        &format!("site {}, name {:?}", zone.site_id, zone.name),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
