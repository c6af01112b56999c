//! The REST API under `/api/v1`: JSON in and out, lists as `{"items": [...], "total": N}`,
//! errors as `{"error": "..."}`, described by the OpenAPI document at `/api/v1/openapi.json`.
//!
//! One module per resource, each with its `routes()`; every handler passes the caller's scope
//! to the store (a row of another site is 404, exactly like a missing one) and records every
//! change in the audit log.

pub mod alerts;
pub mod audit_log;
pub mod baseline_io;
pub mod devices;
pub mod devices_csv;
pub mod extract;
pub mod forwarding;
pub mod groups;
pub mod ingest;
pub mod json;
pub mod openapi;
pub mod openapi_docs;
pub mod params;
pub mod posture;
pub mod posture_docs;
pub mod sensors;
pub mod sites;
pub mod ti_distribution;
pub mod ti_packages;
pub mod tokens;
pub mod traffic;
pub mod users;
pub mod vulnerabilities;

use crate::routes::RouteSpec;

/// The API's routes (besides sensor enrolment and ingest, in [`ingest`], and the OpenAPI
/// document, which the route table serves itself).
pub fn routes() -> Vec<RouteSpec> {
    let mut routes = Vec::new();
    routes.extend(devices::routes());
    routes.extend(traffic::routes());
    routes.extend(alerts::routes());
    routes.extend(baseline_io::routes());
    routes.extend(forwarding::routes());
    routes.extend(sites::routes());
    routes.extend(sensors::routes());
    routes.extend(groups::routes());
    routes.extend(users::routes());
    routes.extend(tokens::routes());
    routes.extend(audit_log::routes());
    routes.extend(ti_distribution::routes());
    routes.extend(vulnerabilities::routes());
    routes.extend(ti_packages::routes());
    routes.extend(posture::routes());
    routes
}
