//! The OpenAPI 3 document of the API, built from the route table so that it lists exactly the
//! routes the router serves, each with its security requirement.

use axum::Json;
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::routes::table;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}

/// The document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for route in table().iter().filter(|r| r.path.starts_with("/api/")) {
        let security = match route.access {
            Access::Public => json!([]),
            Access::Sensor => json!([{ "sensorCredential": [] }]),
            Access::SignedIn | Access::User(_) => json!([{ "bearerToken": [] }, { "session": [] }]),
        };
        let mut operation = json!({
            "security": security,
            "responses": {
                "200": { "description": "OK" },
                "401": { "description": "Authentication required" },
                "403": { "description": "Not permitted for the caller's role" }
            }
        });
        if let Access::User(permission) = route.access {
            operation["x-ironward-permission"] = json!(permission);
        }
        let parameters: Vec<Value> = path_parameters(route.path)
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer" } }))
            .collect();
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Ironward console API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Inventory, connections, events, sites, sensors, users and audit of an Ironward console. Every route needs an API token (Authorization: Bearer) or a browser session; lists return {\"items\": [...], \"total\": N}."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerToken": { "type": "http", "scheme": "bearer", "description": "An API token (ironward token create)" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "sensorCredential": { "type": "http", "scheme": "bearer", "description": "A sensor's credential, received at enrolment" }
            }
        }
    })
}

/// The `{name}` segments of a path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}
