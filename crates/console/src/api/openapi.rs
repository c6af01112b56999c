//! The OpenAPI 3 document of the API, built from the route table so that it lists exactly the
//! routes the router serves, each with its security requirement, the permission it needs, and
//! the description kept in [`super::openapi_docs`] (summary, parameters, body, answers).

use axum::Json;
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::api::openapi_docs::{self, OperationDoc};
use crate::routes::{table, RouteSpec};

/// Path parameters that are catalog slugs (`ot-security`), not row ids: every other `{name}`
/// of a path is an integer.
const TEXT_PATH_PARAMETERS: &[&str] = &["recommendation", "initiative", "metric"];

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}

/// The document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for route in table().iter().filter(|r| r.path.starts_with("/api/")) {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.as_str().to_ascii_lowercase()] = operation(route);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Ironward console API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Inventory, connections, events, alerts, sites, sensors, groups, users, tokens and audit of an Ironward console. Every route needs an API token (Authorization: Bearer) or a browser session (state-changing session requests carry the x-csrf-token header); a user sees only the sites of their scope, and another site's rows answer 404. Lists return {\"items\": [...], \"total\": N}; errors {\"error\": \"...\"}."
        },
        "paths": paths,
        "components": {
            "schemas": openapi_docs::schemas(),
            "securitySchemes": {
                "bearerToken": { "type": "http", "scheme": "bearer", "description": "An API token (POST /api/v1/tokens or ironward token create)" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "sensorCredential": { "type": "http", "scheme": "bearer", "description": "A sensor's credential, received at enrolment" }
            }
        }
    })
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn operation(route: &RouteSpec) -> Value {
    let doc = openapi_docs::find(route.method.as_str(), route.path);
    let mut operation = json!({
        "operationId": operation_id(route),
        "summary": doc.as_ref().map_or("", |d| d.summary),
        "security": match route.access {
            Access::Public => json!([]),
            Access::Sensor => json!([{ "sensorCredential": [] }]),
            Access::SignedIn | Access::User(_) => json!([{ "bearerToken": [] }, { "session": [] }]),
        },
    });
    if let Access::User(permission) = route.access {
        operation["x-ironward-permission"] = json!(permission);
    }
    let path_params: Vec<&str> = path_parameters(route.path).collect();
    let mut parameters: Vec<Value> = path_params
        .iter()
        .map(|name| {
            let kind = if TEXT_PATH_PARAMETERS.contains(name) {
                "string"
            } else {
                "integer"
            };
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": kind } })
        })
        .collect();
    if let Some(doc) = &doc {
        parameters.extend(doc.query.iter().map(|(name, kind, description)| {
            json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": kind } })
        }));
        if let Some(body) = &doc.body {
            // A binary body (a file upload) is sent as it is, not as JSON.
            let media = if body["format"] == "binary" {
                "application/octet-stream"
            } else {
                "application/json"
            };
            operation["requestBody"] = json!({
                "required": true,
                "content": { media: { "schema": body } }
            });
        }
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    operation["responses"] = responses(route, doc.as_ref(), !path_params.is_empty());
    operation
}

fn responses(route: &RouteSpec, doc: Option<&OperationDoc>, has_path: bool) -> Value {
    let mut responses = Map::new();
    let (status, schema) = doc.map_or((200, None), |d| d.success.clone());
    let mut success = json!({ "description": if status == 204 { "Done" } else { "OK" } });
    if let Some(schema) = schema {
        let media = if route.path.ends_with(".csv") {
            "text/csv"
        } else {
            "application/json"
        };
        success["content"] = json!({ media: { "schema": schema } });
    }
    responses.insert(status.to_string(), success);
    let takes_input = has_path || doc.is_some_and(|d| !d.query.is_empty() || d.body.is_some());
    if takes_input {
        responses.insert(
            "400".into(),
            error("A malformed parameter or body (the message names it)"),
        );
    }
    if route.access != Access::Public {
        responses.insert("401".into(), error("Authentication required"));
    }
    if matches!(route.access, Access::User(_) | Access::SignedIn) {
        responses.insert(
            "403".into(),
            error(
                "Not permitted for the caller's role (or a session request without its CSRF token)",
            ),
        );
    }
    if has_path {
        responses.insert("404".into(), error("No such row within the caller's sites"));
    }
    if doc.is_some_and(|d| d.conflict) {
        responses.insert("409".into(), error("Conflicts with existing data"));
    }
    if doc.is_some_and(|d| d.body.is_some()) {
        responses.insert("413".into(), error("Body too large"));
    }
    Value::Object(responses)
}

/// A stable id: the method and the path's words (`get_sites_id_zones`).
fn operation_id(route: &RouteSpec) -> String {
    let words: Vec<String> = route
        .path
        .trim_start_matches("/api/v1/")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    format!(
        "{}_{}",
        route.method.as_str().to_ascii_lowercase(),
        words.join("_")
    )
}

/// The `{name}` segments of a path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}
