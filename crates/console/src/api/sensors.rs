//! Sensors: `GET /api/v1/sensors` (each with `status` online/offline and its latest health),
//! `GET/DELETE /api/v1/sensors/{id}`, and `POST /api/v1/enrollment-tokens`, which answers the
//! one-time token together with the exact command that enrols a sensor with it.

use std::time::Duration;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_model::Timestamp;
use ironward_store::{SensorId, SensorRecord, ZoneId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Validity of an enrolment token when the request does not say.
pub const DEFAULT_TOKEN_HOURS: u32 = 24;
/// Longest validity of an enrolment token: a forgotten token should not stay usable forever.
pub const MAX_TOKEN_HOURS: u32 = 30 * 24;

/// The sensor routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    let manage = Access::User(Permission::ManageSites);
    vec![
        RouteSpec::get("/api/v1/sensors", view, list),
        RouteSpec::get("/api/v1/sensors/{id}", view, get),
        RouteSpec::new(Method::DELETE, "/api/v1/sensors/{id}", manage, delete),
        RouteSpec::post("/api/v1/enrollment-tokens", manage, create_token).with_body_limit(4096),
    ]
}

/// A sensor as the API shows it: the stored record plus `status` (`online` when heard from
/// within `sensor_offline_after`, else `offline`).
pub fn sensor_json(state: &AppState, sensor: &SensorRecord, at: Timestamp) -> ApiResult<Value> {
    let mut value = json::to_value(sensor)?;
    let status = if is_online(sensor.last_seen, at, state.settings().sensor_offline_after) {
        "online"
    } else {
        "offline"
    };
    value["status"] = json!(status);
    Ok(value)
}

/// Whether a sensor last heard from at `last_seen` counts as online at `now`.
pub fn is_online(last_seen: Option<Timestamp>, now: Timestamp, offline_after: Duration) -> bool {
    let window = i64::try_from(offline_after.as_nanos()).unwrap_or(i64::MAX);
    last_seen.is_some_and(|seen| now.as_nanos().saturating_sub(seen.as_nanos()) <= window)
}

/// `GET /api/v1/sensors`: the sensors of the caller's sites.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> ApiResult<Json<Value>> {
    let sensors = state.store().list_sensors(&user.scope).await?;
    let at = now();
    let mut items = sensors
        .iter()
        .map(|s| sensor_json(&state, s, at))
        .collect::<ApiResult<Vec<_>>>()?;
    let statuses = state.store().sensor_ti_statuses(&user.scope).await?;
    crate::api::ti_distribution::add_ti_status(&mut items, &statuses);
    Ok(Json(json::all(&items)?))
}

/// `GET /api/v1/sensors/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let sensor = state.store().get_sensor(&user.scope, SensorId(id)).await?;
    let mut item = [sensor_json(&state, &sensor, now())?];
    let scope = ironward_store::Scope::Sites(vec![sensor.site_id]);
    let statuses = state.store().sensor_ti_statuses(&scope).await?;
    crate::api::ti_distribution::add_ti_status(&mut item, &statuses);
    let [item] = item;
    Ok(Json(item))
}

/// `DELETE /api/v1/sensors/{id}` → 204: its credential stops working; its devices stay.
pub async fn delete(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    let sensor = store.get_sensor(&user.scope, SensorId(id)).await?;
    store.delete_sensor(&user.scope, SensorId(id)).await?;
    // Whether a view has data depends on its sensors.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "sensor.delete",
        &format!("sensor:{id}"),
        &format!(
            "name {:?}, site {}, zone {}",
            sensor.name, sensor.site_id, sensor.zone_id
        ),
        Outcome::Ok,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/enrollment-tokens`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The zone the sensor will report for (its site follows).
    pub zone: i64,
    /// The sensor's name, unique in the zone.
    pub name: String,
    /// Hours the token stays valid (1 to 720, default 24).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

/// `POST /api/v1/enrollment-tokens` → 201 `{"token", "expires_at", "command", ...}`. The token
/// is shown only in this answer; the store keeps its hash.
pub async fn create_token(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let hours = body.expires_in_hours.unwrap_or(DEFAULT_TOKEN_HOURS);
    if !(1..=MAX_TOKEN_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(format!(
            "expires_in_hours must be between 1 and {MAX_TOKEN_HOURS}"
        )));
    }
    let store = state.store();
    let zone = store.get_zone(&user.scope, ZoneId(body.zone)).await?;
    let at = now();
    let expires_at = Timestamp(
        at.as_nanos()
            .saturating_add(i64::from(hours).saturating_mul(3600 * 1_000_000_000)),
    );
    let token = store
        .create_enrollment_token(
            &user.scope,
            zone.id,
            &body.name,
            expires_at,
            Some(user.id),
            at,
        )
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "enrollment_token.create",
        &format!("zone:{}", zone.id),
        &format!(
            "sensor {:?}, site {}, expires {}",
            body.name,
            zone.site_id,
            expires_at.to_rfc3339()
        ),
        Outcome::Ok,
    )
    .await;
    let command = enroll_command(&state, &token);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "expires_at": expires_at,
            "command": command,
            "site_id": zone.site_id,
            "zone_id": zone.id,
            "name": body.name,
        })),
    ))
}

/// The command an operator runs on the sensor's host (`<IFACE>` is theirs to fill in).
pub fn enroll_command(state: &AppState, token: &str) -> String {
    format!(
        "ironward sensor --console {} --enroll-token {token} --console-fingerprint {} \
         --data /var/lib/ironward-sensor --interface <IFACE>",
        state.settings().public_url,
        state.fingerprint()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_within_the_window_only() {
        let minute = Duration::from_secs(60);
        let now = Timestamp(1_000 * 1_000_000_000);
        assert!(!is_online(None, now, minute));
        assert!(is_online(
            Some(Timestamp(now.0 - 59_000_000_000)),
            now,
            minute
        ));
        assert!(!is_online(
            Some(Timestamp(now.0 - 61_000_000_000)),
            now,
            minute
        ));
        assert!(is_online(
            Some(Timestamp(i64::MIN)),
            Timestamp(i64::MIN),
            minute
        ));
    }
}
