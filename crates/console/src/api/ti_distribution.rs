//! Threat-intelligence package distribution to sensors.
//!
//! `POST /api/v1/ti/packages/{id}/apply` (administrators; audited `ti.apply`) makes a stored
//! package the one every sensor of the chosen sites is to run; `GET /api/v1/ti/assignments`
//! lists each site's package. Sensors learn the sequence of their site's package from their
//! ingest answers, fetch its signed bytes from `GET /api/v1/sensor/ti-package` (their own
//! site's only), verify them with their own configured key and report what they run with
//! `POST /api/v1/sensor/ti-status`; `GET /api/v1/sensors` shows it per sensor.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_store::{PackageId, SiteId, TiStatusReport};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, SensorPrincipal, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// The distribution routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec::post(
            "/api/v1/ti/packages/{id}/apply",
            Access::User(Permission::ManageSettings),
            apply,
        )
        .with_body_limit(64 << 10),
        RouteSpec::get(
            "/api/v1/ti/assignments",
            Access::User(Permission::ViewInventory),
            assignments,
        ),
        RouteSpec::get("/api/v1/sensor/ti-package", Access::Sensor, sensor_package),
        RouteSpec::post("/api/v1/sensor/ti-status", Access::Sensor, sensor_status)
            .with_body_limit(8 << 10),
    ]
}

/// Body of `POST /api/v1/ti/packages/{id}/apply`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The sites whose sensors are to run the package.
    pub sites: Vec<i64>,
}

/// Applies a package to sites of the caller's scope, audited; shared by the API and the page.
pub async fn apply_package(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    package: PackageId,
    sites: &[SiteId],
) -> ironward_store::Result<Vec<ironward_store::SitePackage>> {
    let site_list = sites
        .iter()
        .map(|s| s.0.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let result = state
        .store()
        .apply_package(&user.scope, package, sites, &user.name, now())
        .await;
    let (detail, outcome) = match &result {
        Ok(applied) => (
            format!(
                "sites {site_list}: {}",
                applied.first().map_or("-", |a| a.file_name.as_str())
            ),
            Outcome::Ok,
        ),
        Err(error) => (format!("sites {site_list}: {error}"), Outcome::Denied),
    };
    audit::record(
        state,
        Some(user),
        address,
        "ti.apply",
        &format!("ti_package:{package}"),
        &detail,
        outcome,
    )
    .await;
    result
}

/// `POST /api/v1/ti/packages/{id}/apply` `{"sites": [..]}` → the sites' assignments.
pub async fn apply(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ApplyRequest>,
) -> ApiResult<Json<Value>> {
    let sites: Vec<SiteId> = body.sites.iter().copied().map(SiteId).collect();
    let applied = apply_package(&state, &user, address, PackageId(id), &sites).await?;
    Ok(Json(json::all(&applied)?))
}

/// `GET /api/v1/ti/assignments`: the package of each site of the caller's that has one.
pub async fn assignments(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> ApiResult<Json<Value>> {
    let applied = state.store().site_packages(&user.scope).await?;
    Ok(Json(json::all(&applied)?))
}

/// `GET /api/v1/sensor/ti-package`: the signed bytes of the package assigned to the calling
/// sensor's site (404 when none is).
pub async fn sensor_package(
    State(state): State<AppState>,
    Extension(sensor): Extension<SensorPrincipal>,
) -> ApiResult<Response> {
    let store = state.store();
    let Some((package, _)) = store.sensor_ti_package(sensor.id).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no threat-intelligence package is applied to this sensor's site",
        ));
    };
    let bytes = store.package_bytes(package).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// Body of `POST /api/v1/sensor/ti-status`: what the sensor runs.
#[derive(Debug, Clone, Deserialize)]
pub struct TiStatusBody {
    /// The sequence of the package in force.
    #[serde(default)]
    pub sequence: Option<u64>,
    /// Its file name.
    #[serde(default)]
    pub name: Option<String>,
    /// `none`, `ok` or `failed`.
    pub state: String,
    /// Why the last package offered was refused.
    #[serde(default)]
    pub error: Option<String>,
    /// The id of the key the sensor verifies packages with.
    #[serde(default)]
    pub key_id: Option<String>,
}

/// `POST /api/v1/sensor/ti-status` → 204.
pub async fn sensor_status(
    State(state): State<AppState>,
    Extension(sensor): Extension<SensorPrincipal>,
    ApiJson(body): ApiJson<TiStatusBody>,
) -> ApiResult<StatusCode> {
    let sequence = body
        .sequence
        .map(i64::try_from)
        .transpose()
        .map_err(|_| ApiError::bad_request("sequence: out of range"))?;
    state
        .store()
        .record_ti_status(
            sensor.id,
            &TiStatusReport {
                sequence,
                package_name: body.name.as_deref(),
                state: &body.state,
                error: body.error.as_deref(),
                key_id: body.key_id.as_deref(),
            },
            now(),
        )
        .await?;
    if body.state == "failed" {
        tracing::warn!(
            sensor = %sensor.name,
            error = body.error.as_deref().unwrap_or("-"),
            "a sensor refused its threat-intelligence package"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The `threat_intel` member of each sensor in `items` (sensor JSON with `id`), from the
/// statuses of the caller's sensors.
pub fn add_ti_status(items: &mut [Value], statuses: &[ironward_store::SensorTiStatus]) {
    let by_sensor: std::collections::HashMap<i64, &ironward_store::SensorTiStatus> =
        statuses.iter().map(|s| (s.sensor_id.0, s)).collect();
    for item in items {
        let status = item
            .get("id")
            .and_then(Value::as_i64)
            .and_then(|id| by_sensor.get(&id));
        item["threat_intel"] = match status {
            Some(s) => json::to_value(s).unwrap_or(Value::Null),
            None => json!({ "state": "none" }),
        };
    }
}
