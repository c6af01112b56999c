//! Sensor enrolment and ingest, the server side of the sensor's uplink (see `docs/SENSOR.md`):
//! a one-time token buys a sensor its own credential; batches are committed whole or not at
//! all and acknowledged only after the commit, and a resent batch is answered "duplicate".

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_model::batch::Batch;
use ironward_store::{IngestOutcome, StoreError};
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
    ]
}

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
            "committed"
        }
        IngestOutcome::Duplicate => "duplicate",
    };
    Ok(Json(IngestResponse {
        batch: batch.id,
        status,
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
