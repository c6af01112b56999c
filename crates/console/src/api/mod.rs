//! The REST API under `/api/v1`: JSON in and out, lists as `{"items": [...], "total": N}`,
//! errors as `{"error": "..."}`, described by the OpenAPI document at `/api/v1/openapi.json`.

pub mod ingest;
pub mod openapi;

use crate::routes::RouteSpec;

/// The API's routes (besides sensor enrolment and ingest, in [`ingest`]).
pub fn routes() -> Vec<RouteSpec> {
    Vec::new()
}
