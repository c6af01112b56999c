//! The OpenAPI document is valid JSON, lists every `/api` route of the table and nothing
//! else, describes each one (summary, parameters, answers), and every schema it refers to
//! exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::TestConsole;
use ironward_console::access::Access;
use ironward_console::api::openapi_docs;
use ironward_console::table;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    out.push(inner.as_str().unwrap().to_owned());
                } else {
                    refs(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_lists_exactly_the_api_routes_of_the_table() {
    let console = TestConsole::new().await;
    let (_, viewer) = console.user("viewer", "viewer", &[]).await;
    let answer = console
        .call(Method::GET, "/api/v1/openapi.json", &viewer, None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc: Value = serde_json::from_slice(&answer.body).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.0.3");

    let served: BTreeSet<(String, String)> = table()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.to_owned()))
        .collect();
    let mut listed = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            listed.insert((method.clone(), path.clone()));
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            assert!(operation["operationId"].is_string());
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} has no success answer"
            );
            // Every `{name}` of the path is a declared path parameter.
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let declared =
                        operation["parameters"].as_array().unwrap().iter().any(|p| {
                            p["name"] == name && p["in"] == "path" && p["required"] == true
                        });
                    assert!(declared, "{method} {path}: {name} not declared");
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
            }
            if matches!(method.as_str(), "post" | "patch") && !path.ends_with("/unlock") {
                let content = &operation["requestBody"]["content"];
                assert!(
                    content["application/json"]["schema"].is_object()
                        || content["application/octet-stream"]["schema"]["format"] == "binary",
                    "{method} {path} has no request body"
                );
            }
        }
    }
    assert_eq!(listed, served, "document and route table differ");

    // Each route's security matches its access, and user routes name their permission.
    for route in table().iter().filter(|r| r.path.starts_with("/api/")) {
        let operation = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        let security = operation["security"].as_array().unwrap();
        match route.access {
            Access::Public => assert!(security.is_empty(), "{}", route.path),
            Access::Sensor => assert_eq!(security[0]["sensorCredential"], serde_json::json!([])),
            Access::SignedIn => assert_eq!(security.len(), 2),
            Access::User(permission) => {
                assert_eq!(
                    operation["x-ironward-permission"],
                    serde_json::to_value(permission).unwrap()
                );
                assert!(operation["responses"]["403"].is_object(), "{}", route.path);
            }
        }
        if route.access != Access::Public {
            assert!(operation["responses"]["401"].is_object(), "{}", route.path);
        }
    }

    // Every schema referred to exists.
    let mut found = Vec::new();
    refs(&doc["paths"], &mut found);
    refs(&doc["components"]["schemas"], &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("foreign reference {reference}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{reference} does not exist"
        );
    }
}

#[test]
fn every_route_is_described_and_no_description_outlives_its_route() {
    assert_eq!(openapi_docs::undocumented(), Vec::<(String, &str)>::new());
    assert_eq!(openapi_docs::orphans(), Vec::<(&str, &str)>::new());
}

#[tokio::test]
async fn the_document_needs_a_signed_in_user() {
    let console = TestConsole::new().await;
    let answer = console
        .call(
            Method::GET,
            "/api/v1/openapi.json",
            &common::As::Nobody,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}
