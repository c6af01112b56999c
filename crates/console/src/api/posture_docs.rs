//! What the OpenAPI document says about the exposure-management routes of [`super::posture`]
//! (recommendations, initiatives, metrics, favourites) and the schemas they answer with.

use serde_json::{json, Value};

use super::openapi_docs::OperationDoc;

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn list_of(name: &str) -> Value {
    object(
        &["items", "total"],
        json!({
            "items": { "type": "array", "items": schema(name) },
            "total": { "type": "integer", "description": "Rows matching over all pages" },
            "has_data": { "type": "boolean", "description": "false: no sensor of the view has reported (more data is required)" }
        }),
    )
}

fn csv() -> Value {
    json!({ "type": "string", "format": "text/csv" })
}

const VIEW: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site (within the caller's)"),
    ("group", "integer", "Only devices of this device group"),
];

const DETAIL: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site (within the caller's)"),
    ("group", "integer", "Only devices of this device group"),
    (
        "domain",
        "string",
        "The entry of this domain (ot, enterprise_iot, it); default: the one of highest score impact",
    ),
];

/// The export's filters, then paging.
const RECOMMENDATION_FILTERS: &[(&str, &str, &str)] = &[
    RECOMMENDATION_EXPORT[0],
    RECOMMENDATION_EXPORT[1],
    RECOMMENDATION_EXPORT[2],
    RECOMMENDATION_EXPORT[3],
    RECOMMENDATION_EXPORT[4],
    ("limit", "integer", "Page size, 1 to 1000 (default 100)"),
    ("offset", "integer", "Rows to skip"),
];

const RECOMMENDATION_EXPORT: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site (within the caller's)"),
    ("group", "integer", "Only devices of this device group"),
    ("domain", "string", "ot, enterprise_iot or it"),
    ("severity", "string", "critical, high, medium or low"),
    (
        "state",
        "string",
        "active, resolved, risk_accepted or exception",
    ),
];

const HISTORY: &[(&str, &str, &str)] = &[
    (
        "site",
        "integer",
        "This site's history (absent: all sites, or the caller's only site)",
    ),
    ("limit", "integer", "Page size, 1 to 1000 (default 100)"),
    ("offset", "integer", "Rows to skip"),
];

/// The exposure-management operations.
#[allow(clippy::too_many_lines)] // one table, read top to bottom
pub(crate) fn operations() -> Vec<OperationDoc> {
    let op = |method, path, summary| OperationDoc {
        method,
        path,
        summary,
        query: &[],
        body: None,
        success: (200, None),
        conflict: false,
    };
    vec![
        OperationDoc {
            query: RECOMMENDATION_FILTERS,
            success: (200, Some(list_of("Recommendation"))),
            ..op(
                "GET",
                "/api/v1/recommendations",
                "Recommendations for the caller's devices, most score impact first (each lists its first 100 devices; device_count says how many)",
            )
        },
        OperationDoc {
            query: RECOMMENDATION_EXPORT,
            success: (200, Some(csv())),
            ..op(
                "GET",
                "/api/v1/recommendations.csv",
                "Export the filtered recommendations as CSV",
            )
        },
        OperationDoc {
            query: DETAIL,
            success: (200, Some(schema("Recommendation"))),
            ..op(
                "GET",
                "/api/v1/recommendations/{recommendation}",
                "One recommendation with every device of the view it applies to",
            )
        },
        OperationDoc {
            query: DETAIL,
            success: (200, Some(csv())),
            ..op(
                "GET",
                "/api/v1/recommendations/{recommendation}/devices.csv",
                "Export a recommendation's devices as CSV",
            )
        },
        OperationDoc {
            body: Some(object(
                &["state"],
                json!({
                    "state": { "type": "string", "enum": ["risk_accepted", "exception", "active"], "description": "active clears a state set before" },
                    "reason": { "type": "string", "maxLength": 1000, "description": "Why (required for risk_accepted and exception; at most 1,000 bytes)" },
                    "expires_at": { "type": "string", "format": "date-time", "nullable": true, "description": "When the state lapses (absent: never)" },
                    "site": { "type": "integer", "nullable": true, "description": "The site it applies to (absent: all sites for callers who see every site, else the caller's only site)" }
                }),
            )),
            success: (200, Some(schema("Recommendation"))),
            ..op(
                "PUT",
                "/api/v1/recommendations/{recommendation}/state",
                "Accept the risk of a recommendation, record an exception, or make it active again (analysts and administrators; audited recommendation.state)",
            )
        },
        OperationDoc {
            query: VIEW,
            success: (200, Some(list_of("Initiative"))),
            ..op(
                "GET",
                "/api/v1/initiatives",
                "Security initiatives of the caller's view with score, target, metrics, 14-day trend and drift; favourites first",
            )
        },
        OperationDoc {
            query: VIEW,
            success: (200, Some(csv())),
            ..op(
                "GET",
                "/api/v1/initiatives.csv",
                "Export every initiative's metrics as CSV",
            )
        },
        OperationDoc {
            query: VIEW,
            success: (200, Some(schema("Initiative"))),
            ..op(
                "GET",
                "/api/v1/initiatives/{initiative}",
                "One initiative with its metrics, trend, drift and the recommendations of its domain",
            )
        },
        OperationDoc {
            query: VIEW,
            success: (200, Some(csv())),
            ..op(
                "GET",
                "/api/v1/initiatives/{initiative}/metrics.csv",
                "Export an initiative's metrics as CSV",
            )
        },
        OperationDoc {
            query: HISTORY,
            success: (
                200,
                Some(object(
                    &["items", "total", "trend"],
                    json!({
                        "items": { "type": "array", "items": schema("ScoreChange") },
                        "total": { "type": "integer" },
                        "trend": { "type": "array", "items": schema("TrendPoint") },
                        "drift": { "type": "number", "nullable": true },
                        "history_site": { "type": "integer", "nullable": true, "description": "Whose history: a site, or null for all sites" },
                        "history_available": { "type": "boolean", "description": "false: the caller sees several sites but not all; name one with site" }
                    }),
                )),
            ),
            ..op(
                "GET",
                "/api/v1/initiatives/{initiative}/history",
                "An initiative's stored score changes, newest first, with reasons and the assets behind each",
            )
        },
        OperationDoc {
            query: &[(
                "site",
                "integer",
                "This site's history (absent: all sites, or the caller's only site)",
            )],
            success: (200, Some(csv())),
            ..op(
                "GET",
                "/api/v1/initiatives/{initiative}/history.csv",
                "Export an initiative's score changes as CSV (up to 10,000)",
            )
        },
        OperationDoc {
            body: Some(object(
                &["target"],
                json!({ "target": { "type": "number", "minimum": 0, "maximum": 100 } }),
            )),
            success: (204, None),
            ..op(
                "PUT",
                "/api/v1/initiatives/{initiative}/target",
                "Set an initiative's target score (administrators; audited initiative.target)",
            )
        },
        OperationDoc {
            success: (204, None),
            ..op(
                "PUT",
                "/api/v1/initiatives/{initiative}/favourite",
                "Make an initiative one of the caller's favourites",
            )
        },
        OperationDoc {
            success: (204, None),
            ..op(
                "DELETE",
                "/api/v1/initiatives/{initiative}/favourite",
                "Remove an initiative from the caller's favourites",
            )
        },
        OperationDoc {
            body: Some(object(
                &["weight"],
                json!({ "weight": { "type": "string", "enum": ["high", "medium", "low", "risk_accepted"] } }),
            )),
            success: (204, None),
            ..op(
                "PUT",
                "/api/v1/metrics/{metric}/weight",
                "Set a metric's weight (administrators; audited metric.weight)",
            )
        },
    ]
}

/// The schemas of the exposure-management operations.
pub(crate) fn schemas() -> Value {
    let number_or_null = json!({ "type": "number", "nullable": true });
    let time = json!({ "type": "string", "format": "date-time" });
    json!({
        "Recommendation": object(
            &["id", "title", "severity", "domain", "state", "score_impact", "devices"],
            json!({
                "id": { "type": "string", "description": "Stable slug" },
                "title": { "type": "string" },
                "description": { "type": "string" },
                "remediation": { "type": "array", "items": { "type": "string" } },
                "domain": { "type": "string", "enum": ["ot", "enterprise_iot", "it"] },
                "workload": { "type": "string", "enum": ["low", "medium", "high"] },
                "severity": { "type": "string", "enum": ["low", "medium", "high", "critical"] },
                "source": { "type": "string", "description": "The evidence or engine behind it" },
                "state": { "type": "string", "enum": ["active", "resolved", "risk_accepted", "exception"] },
                "state_detail": {
                    "type": "object",
                    "nullable": true,
                    "properties": {
                        "recommendation": { "type": "string" },
                        "kind": { "type": "string" },
                        "reason": { "type": "string" },
                        "author": { "type": "string" },
                        "set_at": time,
                        "expires_at": { "type": "string", "format": "date-time", "nullable": true }
                    }
                },
                "devices": { "type": "array", "items": object(&["id"], json!({
                    "id": { "type": "string", "description": "Device key (mac:… or ip:…)" },
                    "ip": { "type": "string", "nullable": true },
                    "name": { "type": "string", "nullable": true }
                })) },
                "key": { "type": "string", "description": "id/domain: a recommendation whose devices fall into several domains has one entry per domain" },
                "domains": { "type": "array", "items": { "type": "string" }, "description": "Detail: the domains it has entries for in the view" },
                "device_count": { "type": "integer" },
                "devices_truncated": { "type": "boolean" },
                "score_impact": { "type": "number", "description": "Points its initiative gains when every device is fixed" }
            }),
        ),
        "Metric": object(
            &["id", "name", "weight", "affected", "total", "progress"],
            json!({
                "id": { "type": "string" },
                "name": { "type": "string" },
                "description": { "type": "string" },
                "initiative": { "type": "string" },
                "weight": { "type": "string", "enum": ["high", "medium", "low", "risk_accepted"] },
                "affected": { "type": "integer" },
                "total": { "type": "integer", "description": "Devices it applies to" },
                "progress": { "type": "number", "nullable": true, "description": "0 to 100; null: not applicable" },
                "score_impact": { "type": "number", "description": "Points the initiative gains when the metric is fully fixed" },
                "drift": number_or_null,
                "recommendations": { "type": "array", "items": { "type": "string" } },
                "affected_devices": { "type": "array", "items": { "type": "string" }, "description": "The first 100 (affected_devices_count says how many)" },
                "affected_devices_count": { "type": "integer" },
                "accepted_devices": { "type": "array", "items": { "type": "string" }, "description": "Devices not counted only because of a risk acceptance or exception (first 100)" },
                "accepted_devices_count": { "type": "integer" }
            }),
        ),
        "TrendPoint": object(
            &["day_start"],
            json!({ "day_start": time, "score": number_or_null }),
        ),
        "Initiative": object(
            &["id", "name", "score", "target", "metrics"],
            json!({
                "id": { "type": "string" },
                "name": { "type": "string" },
                "description": { "type": "string" },
                "score": { "type": "number", "nullable": true, "description": "Σ wᵢ·progressᵢ / Σ wᵢ over applicable metrics not risk-accepted (High 3, Medium 2, Low 1); null: no applicable metric" },
                "target": { "type": "number" },
                "metrics": { "type": "array", "items": schema("Metric") },
                "trend": { "type": "array", "items": schema("TrendPoint"), "description": "One point per day, 14 days" },
                "drift": { "type": "number", "nullable": true, "description": "Score now minus 14 days ago" },
                "history_site": { "type": "integer", "nullable": true },
                "history_available": { "type": "boolean" },
                "favourite": { "type": "boolean" },
                "has_data": { "type": "boolean" },
                "recommendations": { "type": "array", "items": schema("Recommendation") }
            }),
        ),
        "ScoreChange": object(
            &["time", "from", "to", "reasons", "top_assets"],
            json!({
                "time": time,
                "initiative": { "type": "string" },
                "from": number_or_null,
                "to": number_or_null,
                "reasons": { "type": "array", "items": object(&["kind", "text"], json!({
                    "kind": { "type": "string", "enum": ["devices_added", "devices_removed", "devices_fixed", "devices_newly_affected", "recommendation_state_changed", "weight_changed", "vulnerability_data_changed"] },
                    "text": { "type": "string", "description": "The reason in words" }
                })) },
                "top_assets": { "type": "array", "items": object(&["device", "metric", "change"], json!({
                    "device": { "type": "string" },
                    "metric": { "type": "string" },
                    "change": { "type": "string" }
                })), "description": "At most 100, most impactful first" },
                "score_drop": { "type": "boolean", "description": "The score fell by 2 points or more within a day" }
            }),
        )
    })
}
