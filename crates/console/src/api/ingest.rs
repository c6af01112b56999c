//! Sensor enrolment and ingest, the server side of the sensor's uplink (see `docs/SENSOR.md`):
//! a one-time token buys a sensor its own credential; batches are committed whole or not at
//! all and acknowledged only after the commit, and a resent batch is answered "duplicate".
//! Each answer also tells the sensor its site's learning state and baseline version, and
//! `GET /api/v1/sensor/baseline` gives it its own site's baseline entries to import.

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_model::batch::Batch;
use ironward_model::Timestamp;
use ironward_store::{IngestOutcome, Scope, StoreError};
use serde::{Deserialize, Serialize};

use crate::access::{Access, SensorPrincipal};
use crate::audit::{self, Outcome};
use crate::auth::client_address;
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Largest batch accepted; larger ones get 413 and the sensor splits them.
pub const MAX_BATCH_BYTES: usize = 16 << 20;

/// The enrolment and ingest routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        // Public: the one-time token in the body is the credential.
        RouteSpec::post("/api/v1/sensors/enroll", Access::Public, enroll).with_body_limit(4096),
        RouteSpec::post("/api/v1/ingest", Access::Sensor, ingest).with_body_limit(MAX_BATCH_BYTES),
        RouteSpec::get("/api/v1/sensor/baseline", Access::Sensor, sensor_baseline),
    ]
}

/// Most baseline entries one page of `GET /api/v1/sensor/baseline` carries (the sensor pages
/// with `offset`).
pub const SENSOR_BASELINE_PAGE: i64 = 1_000;

/// Body of `POST /api/v1/sensors/enroll`.
#[derive(Debug, Deserialize)]
pub struct EnrollRequest {
    /// The one-time enrolment token.
    pub token: String,
    /// The name the sensor gives itself (informational; the token fixed the sensor's name).
    #[serde(default)]
    pub name: String,
    /// The sensor's software version.
    #[serde(default)]
    pub version: String,
}

/// Answer of a successful enrolment.
#[derive(Debug, Serialize)]
pub struct EnrollResponse {
    /// The sensor's id.
    pub sensor_id: i64,
    /// The sensor's secret credential, shown only in this answer.
    pub credential: String,
    /// The site the sensor belongs to.
    pub site: String,
    /// The zone the sensor belongs to.
    pub zone: String,
}

/// `POST /api/v1/sensors/enroll`.
pub async fn enroll(State(state): State<AppState>, request: Request) -> Response {
    let address = client_address(&request);
    if let Err(wait) = state.throttle().check(address, std::time::Instant::now()) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed attempts; retry in {} s", wait.as_secs()),
        )
        .into_response();
    }
    let Json(body) = match Json::<EnrollRequest>::from_request_bytes(request, &state).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    match state.store().enroll(body.token.trim(), now()).await {
        Ok((sensor, credential)) => {
            let detail = format!(
                "site {}, zone {}, version {}",
                sensor.site, sensor.zone, body.version
            );
            audit::record_named(
                &state,
                None,
                address,
                "sensor.enroll",
                &format!("sensor:{}", sensor.id),
                &detail,
                Outcome::Ok,
            )
            .await;
            Json(EnrollResponse {
                sensor_id: sensor.id.0,
                credential,
                site: sensor.site,
                zone: sensor.zone,
            })
            .into_response()
        }
        Err(StoreError::Unauthorized) => {
            state.throttle().failure(address, std::time::Instant::now());
            audit::record_named(
                &state,
                None,
                address,
                "sensor.enroll",
                &format!("name:{}", body.name),
                "unknown, used or expired token",
                Outcome::Denied,
            )
            .await;
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unknown, used or expired enrolment token",
            )
            .into_response()
        }
        Err(other) => ApiError::from(other).into_response(),
    }
}

/// Answer of `POST /api/v1/ingest`.
#[derive(Debug, Serialize)]
pub struct IngestResponse {
    /// The batch id.
    pub batch: String,
    /// `committed` or `duplicate`.
    pub status: &'static str,
    /// The sensor's site learns until then (RFC 3339; absent: it never learned). Sensors that
    /// predate site learning ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_until: Option<String>,
    /// The version of the site's baseline entries: a sensor fetches them again when it grows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_version: Option<i64>,
    /// The sequence of the threat-intelligence package applied to the sensor's site: a sensor
    /// running another downloads it (`GET /api/v1/sensor/ti-package`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ti_package_sequence: Option<i64>,
}

/// `POST /api/v1/ingest`: one batch, committed in one transaction.
pub async fn ingest(
    State(state): State<AppState>,
    Extension(sensor): Extension<SensorPrincipal>,
    body: Bytes,
) -> ApiResult<Json<IngestResponse>> {
    let batch: Batch = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("batch is not valid JSON for the batch format: {e}"))
    })?;
    // The store validates (bounds, names, times) before writing and answers Invalid → 400.
    let outcome = state.store().ingest_batch(sensor.id, &batch, now()).await?;
    let status = match outcome {
        IngestOutcome::Committed(counts) => {
            tracing::debug!(sensor = %sensor.name, batch = %batch.id, ?counts, "batch committed");
            // Devices whose identity changed are matched again against the package in force.
            state.intel().devices_changed();
            // Scores and their history follow the inventory.
            state.posture().changed();
            "committed"
        }
        IngestOutcome::Duplicate => "duplicate",
    };
    // The batch is committed: a failure to read the site's state must not turn the
    // acknowledgement into an error (the sensor would send the batch again for nothing).
    let site = match state.store().sensor_site_learning(sensor.id).await {
        Ok(site) => Some(site),
        Err(error) => {
            tracing::warn!(sensor = %sensor.name, "reading the site's learning state: {error}");
            None
        }
    };
    let ti_package = match state.store().sensor_ti_package(sensor.id).await {
        Ok(package) => package,
        Err(error) => {
            tracing::warn!(sensor = %sensor.name, "reading the site's package: {error}");
            None
        }
    };
    Ok(Json(IngestResponse {
        batch: batch.id,
        status,
        learning_until: site.and_then(|s| s.until).map(Timestamp::to_rfc3339),
        baseline_version: site.map(|s| s.baseline_version),
        ti_package_sequence: ti_package.map(|(_, sequence)| sequence),
    }))
}

/// Query of `GET /api/v1/sensor/baseline`.
#[derive(Debug, Deserialize)]
pub struct BaselinePageQuery {
    /// Entries to skip.
    #[serde(default)]
    pub offset: i64,
}

/// One baseline entry as a sensor imports it: the key of the policy alerts it covers.
#[derive(Debug, Serialize)]
pub struct SensorBaselineEntry {
    /// Alert kind (`policy.new_connection`).
    pub kind: String,
    /// Source address (empty: none).
    pub src: String,
    /// Destination address (empty: none).
    pub dst: String,
    /// Protocol (empty: none).
    pub protocol: String,
}

/// Answer of `GET /api/v1/sensor/baseline`.
#[derive(Debug, Serialize)]
pub struct SensorBaseline {
    /// As in the ingest answer.
    pub learning_until: Option<String>,
    /// As in the ingest answer.
    pub baseline_version: i64,
    /// Entries of the site in all.
    pub total: i64,
    /// This page, oldest first.
    pub entries: Vec<SensorBaselineEntry>,
}

/// `GET /api/v1/sensor/baseline?offset=N`: a page of the baseline entries of the calling
/// sensor's own site (never another site's), with the site's learning state.
pub async fn sensor_baseline(
    State(state): State<AppState>,
    Extension(sensor): Extension<SensorPrincipal>,
    Query(query): Query<BaselinePageQuery>,
) -> ApiResult<Json<SensorBaseline>> {
    let store = state.store();
    let site = store.sensor_site_learning(sensor.id).await?;
    let scope = Scope::Sites(vec![site.site_id]);
    let page = store
        .list_baseline(
            &scope,
            Some(site.site_id),
            SENSOR_BASELINE_PAGE,
            query.offset.max(0),
        )
        .await?;
    Ok(Json(SensorBaseline {
        learning_until: site.until.map(Timestamp::to_rfc3339),
        baseline_version: site.baseline_version,
        total: page.total,
        entries: page
            .items
            .into_iter()
            .map(|e| SensorBaselineEntry {
                kind: e.kind,
                src: e.src,
                dst: e.dst,
                protocol: e.protocol,
            })
            .collect(),
    }))
}

/// Reads a JSON body, answering malformed ones with 400 and a reason.
trait JsonBody: Sized {
    async fn from_request_bytes(request: Request, state: &AppState) -> Result<Self, Response>;
}

impl<T: serde::de::DeserializeOwned> JsonBody for Json<T> {
    async fn from_request_bytes(request: Request, state: &AppState) -> Result<Self, Response> {
        use axum::extract::FromRequest;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::bad_request(format!("malformed request: {e}")).into_response())
    }
}
