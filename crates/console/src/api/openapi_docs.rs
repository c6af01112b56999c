//! What the OpenAPI document says about each API route: summary, parameters, request body and
//! answers. [`super::openapi`] walks the route table and looks each route up here, so the
//! document lists exactly the routes the router serves; [`undocumented`] and [`orphans`] let a
//! test prove that every route is described and no description outlives its route.

use serde_json::{json, Value};

/// Threat-intelligence package distribution to sensors (issue 8).
fn ti_distribution_operations() -> Vec<OperationDoc> {
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
            body: Some(object(
                &["sites"],
                json!({ "sites": { "type": "array", "items": { "type": "integer" }, "description": "Sites whose sensors are to run the package (1 to 1,000)" } }),
            )),
            success: (200, Some(list_of("SitePackage"))),
            ..op(
                "POST",
                "/api/v1/ti/packages/{id}/apply",
                "Apply a package to every sensor of the chosen sites (administrators; audited ti.apply)",
            )
        },
        OperationDoc {
            success: (200, Some(list_of("SitePackage"))),
            ..op("GET", "/api/v1/ti/assignments", "The package applied to each site")
        },
        OperationDoc {
            success: (
                200,
                Some(json!({ "type": "string", "format": "binary", "description": "The signed package; the sensor verifies it with its own key" })),
            ),
            ..op(
                "GET",
                "/api/v1/sensor/ti-package",
                "The package applied to the calling sensor's site (sensors only; 404: none)",
            )
        },
        OperationDoc {
            body: Some(object(
                &["state"],
                json!({
                    "sequence": { "type": ["integer", "null"] },
                    "name": { "type": ["string", "null"] },
                    "state": { "type": "string", "enum": ["none", "ok", "failed"] },
                    "error": { "type": ["string", "null"] },
                    "key_id": { "type": ["string", "null"] }
                }),
            )),
            success: (204, None),
            ..op(
                "POST",
                "/api/v1/sensor/ti-status",
                "The calling sensor's package in force and the fate of the last one offered (sensors only)",
            )
        },
    ]
}

/// The description of one operation.
#[derive(Debug, Clone)]
pub struct OperationDoc {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path as in the route table.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Query parameters: (name, type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    /// Schema of the JSON request body, if the operation takes one.
    pub body: Option<Value>,
    /// Success status and the schema of its body (`None`: no body).
    pub success: (u16, Option<Value>),
    /// Whether the operation can answer 409 (name taken, still in use).
    pub conflict: bool,
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn list_of(name: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            "items": { "type": "array", "items": schema(name) },
            "total": { "type": "integer", "description": "Rows matching over all pages" }
        }
    })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

const PAGING: [(&str, &str, &str); 2] = [
    ("limit", "integer", "Page size, 1 to 1000 (default 100)"),
    ("offset", "integer", "Rows to skip"),
];

const DEVICE_FILTERS: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site"),
    ("zone", "integer", "Only this zone"),
    ("type", "string", "Device type (exact)"),
    ("vendor", "string", "Vendor (exact)"),
    ("protocol", "string", "Protocol spoken as client or server"),
    (
        "seen_since",
        "string",
        "RFC 3339 time: only devices seen since",
    ),
    (
        "q",
        "string",
        "Free-text search (names, addresses, MAC, vendor, model, ...)",
    ),
    (
        "sort",
        "string",
        "name, ip, vendor, type, model, firmware, last_seen (default), first_seen, site",
    ),
    ("order", "string", "asc or desc"),
    PAGING[0],
    PAGING[1],
];

const CSV_FILTERS: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site"),
    ("zone", "integer", "Only this zone"),
    ("type", "string", "Device type (exact)"),
    ("vendor", "string", "Vendor (exact)"),
    ("protocol", "string", "Protocol spoken as client or server"),
    (
        "seen_since",
        "string",
        "RFC 3339 time: only devices seen since",
    ),
    ("q", "string", "Free-text search"),
    ("sort", "string", "As for /devices"),
    ("order", "string", "asc or desc"),
];

const CONNECTION_FILTERS: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site"),
    ("device", "integer", "Only connections of this device"),
    ("protocol", "string", "Application protocol"),
    PAGING[0],
    PAGING[1],
];

const EVENT_FILTERS: &[(&str, &str, &str)] = &[
    ("site", "integer", "Only this site"),
    (
        "device",
        "integer",
        "Only events this device sent or received",
    ),
    ("protocol", "string", "Protocol"),
    (
        "category",
        "string",
        "read, write, program, control, diagnostic, ...",
    ),
    ("since", "string", "RFC 3339 time: only events seen since"),
    PAGING[0],
    PAGING[1],
];

fn name_body() -> Value {
    object(
        &["name"],
        json!({ "name": { "type": "string", "maxLength": 200 } }),
    )
}

#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn all() -> Vec<OperationDoc> {
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
            success: (200, Some(json!({ "type": "object" }))),
            ..op("GET", "/api/v1/openapi.json", "This document")
        },
        OperationDoc {
            body: Some(object(
                &["token"],
                json!({
                    "token": { "type": "string", "description": "One-time enrolment token" },
                    "name": { "type": "string" },
                    "version": { "type": "string" }
                }),
            )),
            success: (
                200,
                Some(object(
                    &["sensor_id", "credential", "site", "zone"],
                    json!({
                        "sensor_id": { "type": "integer" },
                        "credential": { "type": "string", "description": "Shown only here" },
                        "site": { "type": "string" },
                        "zone": { "type": "string" }
                    }),
                )),
            ),
            ..op(
                "POST",
                "/api/v1/sensors/enroll",
                "Enrol a sensor with a one-time token; answers its credential",
            )
        },
        OperationDoc {
            body: Some(json!({ "type": "object", "description": "A sensor batch (see docs/SENSOR.md)" })),
            success: (
                200,
                Some(object(
                    &["batch", "status"],
                    json!({
                        "batch": { "type": "string" },
                        "status": { "type": "string", "enum": ["committed", "duplicate"] },
                        "learning_until": { "type": "string", "format": "date-time", "description": "The sensor's site learns until then (absent: it never learned)" },
                        "baseline_version": { "type": "integer", "description": "Grows with every change to the site's baseline entries" },
                        "ti_package_sequence": { "type": "integer", "description": "Sequence of the threat-intelligence package applied to the sensor's site (absent: none)" }
                    }),
                )),
            ),
            ..op("POST", "/api/v1/ingest", "Deliver one batch of observations (sensors only)")
        },
        OperationDoc {
            query: &[("offset", "integer", "Entries to skip (pages of 1,000)")],
            success: (
                200,
                Some(object(
                    &["baseline_version", "total", "entries"],
                    json!({
                        "learning_until": { "type": ["string", "null"], "format": "date-time" },
                        "baseline_version": { "type": "integer" },
                        "total": { "type": "integer" },
                        "entries": { "type": "array", "items": object(
                            &["kind", "src", "dst", "protocol"],
                            json!({
                                "kind": { "type": "string" },
                                "src": { "type": "string" },
                                "dst": { "type": "string" },
                                "protocol": { "type": "string" }
                            }),
                        ) }
                    }),
                )),
            ),
            ..op(
                "GET",
                "/api/v1/sensor/baseline",
                "The calling sensor's own site's baseline entries and learning state (sensors only)",
            )
        },
        OperationDoc {
            query: DEVICE_FILTERS,
            success: (200, Some(list_of("Device"))),
            ..op("GET", "/api/v1/devices", "List devices (filter, search, sort, page)")
        },
        OperationDoc {
            query: CSV_FILTERS,
            success: (200, Some(json!({ "type": "string", "format": "text/csv" }))),
            ..op(
                "GET",
                "/api/v1/devices.csv",
                "Export the filtered devices as CSV (up to 100,000 rows)",
            )
        },
        OperationDoc {
            success: (200, Some(schema("DeviceDetail"))),
            ..op(
                "GET",
                "/api/v1/devices/{id}",
                "A device with its facts, history, connections, events and alerts",
            )
        },
        OperationDoc {
            query: CONNECTION_FILTERS,
            success: (200, Some(list_of("Connection"))),
            ..op("GET", "/api/v1/connections", "List connections (the map)")
        },
        OperationDoc {
            query: EVENT_FILTERS,
            success: (200, Some(list_of("Event"))),
            ..op("GET", "/api/v1/events", "List events")
        },
        OperationDoc {
            success: (200, Some(list_of("Site"))),
            ..op("GET", "/api/v1/sites", "List the caller's sites")
        },
        OperationDoc {
            body: Some(name_body()),
            success: (201, Some(schema("Site"))),
            conflict: true,
            ..op("POST", "/api/v1/sites", "Create a site")
        },
        OperationDoc {
            success: (200, Some(schema("Site"))),
            ..op("GET", "/api/v1/sites/{id}", "A site")
        },
        OperationDoc {
            body: Some(name_body()),
            success: (200, Some(schema("Site"))),
            conflict: true,
            ..op("PATCH", "/api/v1/sites/{id}", "Rename a site")
        },
        OperationDoc {
            success: (204, None),
            conflict: true,
            ..op(
                "DELETE",
                "/api/v1/sites/{id}",
                "Delete a site with its zones and inventory (409 while sensors or users are bound to it)",
            )
        },
        OperationDoc {
            success: (200, Some(schema("SiteLearning"))),
            ..op("GET", "/api/v1/sites/{id}/learning", "A site's learning state")
        },
        OperationDoc {
            body: Some(json!({
                "type": "object",
                "description": "Exactly one of duration_s and stop",
                "properties": {
                    "duration_s": { "type": "integer", "minimum": 1, "maximum": 31_622_400, "description": "Learn for this many seconds from now" },
                    "stop": { "type": "boolean", "enum": [true], "description": "End learning now" }
                }
            })),
            success: (200, Some(schema("SiteLearning"))),
            ..op(
                "POST",
                "/api/v1/sites/{id}/learning",
                "Start learning for a duration or end it (while a site learns, its policy alerts become baseline entries)",
            )
        },
        OperationDoc {
            success: (200, Some(list_of("Zone"))),
            ..op("GET", "/api/v1/sites/{id}/zones", "List a site's zones")
        },
        OperationDoc {
            body: Some(name_body()),
            success: (201, Some(schema("Zone"))),
            conflict: true,
            ..op("POST", "/api/v1/sites/{id}/zones", "Create a zone in a site")
        },
        OperationDoc {
            body: Some(name_body()),
            success: (200, Some(schema("Zone"))),
            conflict: true,
            ..op("PATCH", "/api/v1/zones/{id}", "Rename a zone")
        },
        OperationDoc {
            success: (204, None),
            conflict: true,
            ..op(
                "DELETE",
                "/api/v1/zones/{id}",
                "Delete a zone with its inventory (409 while sensors are enrolled in it)",
            )
        },
        OperationDoc {
            success: (200, Some(list_of("Sensor"))),
            ..op("GET", "/api/v1/sensors", "List sensors with status and health")
        },
        OperationDoc {
            success: (200, Some(schema("Sensor"))),
            ..op("GET", "/api/v1/sensors/{id}", "A sensor")
        },
        OperationDoc {
            success: (204, None),
            ..op(
                "DELETE",
                "/api/v1/sensors/{id}",
                "Remove a sensor (its credential stops working)",
            )
        },
        OperationDoc {
            body: Some(object(
                &["zone", "name"],
                json!({
                    "zone": { "type": "integer" },
                    "name": { "type": "string", "description": "The sensor's name" },
                    "expires_in_hours": { "type": "integer", "minimum": 1, "maximum": 720, "default": 24 }
                }),
            )),
            success: (201, Some(schema("EnrollmentToken"))),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/enrollment-tokens",
                "Create a one-time sensor enrolment token and the command that uses it",
            )
        },
        OperationDoc {
            success: (200, Some(list_of("Group"))),
            ..op("GET", "/api/v1/groups", "List device groups")
        },
        OperationDoc {
            body: Some(object(
                &["name"],
                json!({
                    "name": { "type": "string", "maxLength": 200 },
                    "description": { "type": "string", "maxLength": 2000 }
                }),
            )),
            success: (201, Some(schema("Group"))),
            conflict: true,
            ..op("POST", "/api/v1/groups", "Create a device group")
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/groups/{id}", "Delete a device group")
        },
        OperationDoc {
            success: (200, Some(list_of("Device"))),
            ..op(
                "GET",
                "/api/v1/groups/{id}/members",
                "List a group's devices within the caller's sites",
            )
        },
        OperationDoc {
            body: Some(object(&["device"], json!({ "device": { "type": "integer" } }))),
            success: (204, None),
            ..op("POST", "/api/v1/groups/{id}/members", "Add a device to a group")
        },
        OperationDoc {
            success: (204, None),
            ..op(
                "DELETE",
                "/api/v1/groups/{id}/members/{device}",
                "Remove a device from a group",
            )
        },
        OperationDoc {
            success: (200, Some(list_of("User"))),
            ..op("GET", "/api/v1/users", "List users")
        },
        OperationDoc {
            body: Some(object(
                &["name", "role", "password"],
                json!({
                    "name": { "type": "string", "maxLength": 200 },
                    "role": { "$ref": "#/components/schemas/Role" },
                    "sites": { "type": "array", "items": { "type": "integer" }, "description": "Empty: every site" },
                    "password": { "type": "string", "minLength": 10, "writeOnly": true }
                }),
            )),
            success: (201, Some(schema("User"))),
            conflict: true,
            ..op("POST", "/api/v1/users", "Create a user")
        },
        OperationDoc {
            body: Some(json!({
                "type": "object",
                "properties": {
                    "role": { "$ref": "#/components/schemas/Role" },
                    "sites": { "type": "array", "items": { "type": "integer" } },
                    "password": { "type": "string", "minLength": 10, "writeOnly": true }
                }
            })),
            success: (200, Some(schema("User"))),
            conflict: true,
            ..op(
                "PATCH",
                "/api/v1/users/{id}",
                "Change a user's role, sites or password",
            )
        },
        OperationDoc {
            success: (204, None),
            conflict: true,
            ..op("DELETE", "/api/v1/users/{id}", "Delete a user with their tokens and sessions")
        },
        OperationDoc {
            success: (200, Some(schema("User"))),
            ..op(
                "POST",
                "/api/v1/users/{id}/unlock",
                "Clear a user's lockout after failed logins",
            )
        },
        OperationDoc {
            success: (200, Some(schema("Me"))),
            ..op("GET", "/api/v1/me", "The caller: name, role, sites, permissions")
        },
        OperationDoc {
            success: (200, Some(list_of("Token"))),
            ..op("GET", "/api/v1/tokens", "List the caller's API tokens")
        },
        OperationDoc {
            body: Some(name_body()),
            success: (201, Some(schema("NewToken"))),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/tokens",
                "Create an API token for the caller (the secret is shown only in this answer)",
            )
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/tokens/{id}", "Revoke one of the caller's API tokens")
        },
        OperationDoc {
            query: &PAGING,
            success: (200, Some(list_of("AuditEntry"))),
            ..op("GET", "/api/v1/audit", "The audit log, newest first")
        },
    ]
    .into_iter()
    .chain(alert_operations())
    .chain(forwarding_operations())
    .chain(ti_distribution_operations())
    .chain(vulnerability_operations())
    .chain(super::posture_docs::operations())
    .collect()
}

const VULNERABILITY_FILTERS: &[(&str, &str, &str)] = &[
    (
        "view",
        "string",
        "device (default: one row per device and CVE), cve or severity",
    ),
    ("site", "integer", "Only this site (within the caller's)"),
    ("device", "integer", "Only this device"),
    (
        "severity",
        "string",
        "critical, high, medium, low or none (CVSS v3 bands)",
    ),
    (
        "kev",
        "boolean",
        "true: only known exploited (CISA KEV); false: only not",
    ),
    ("cve", "string", "Only this CVE"),
    ("vendor", "string", "Only devices of this vendor (exact)"),
    (
        "excluded",
        "boolean",
        "true: only excluded; false: only not; absent: both, flagged",
    ),
    PAGING[0],
    PAGING[1],
];

/// Threat-intelligence packages and device vulnerabilities (issue 8).
fn vulnerability_operations() -> Vec<OperationDoc> {
    let op = |method, path, summary| OperationDoc {
        method,
        path,
        summary,
        query: &[],
        body: None,
        success: (200, None),
        conflict: false,
    };
    let vulnerability = object(
        &[
            "device_id",
            "cve",
            "kev",
            "confidence",
            "reason",
            "excluded",
        ],
        json!({
            "device_id": { "type": "integer" },
            "device": { "type": "string" },
            "ips": { "type": "string" },
            "vendor": { "type": "string", "nullable": true },
            "model": { "type": "string", "nullable": true },
            "firmware": { "type": "string", "nullable": true },
            "site_id": { "type": "integer" },
            "site": { "type": "string" },
            "cve": { "type": "string" },
            "cvss": { "type": "number", "nullable": true },
            "severity": { "type": "string", "enum": ["critical", "high", "medium", "low", "none"] },
            "kev": { "type": "boolean", "description": "Known exploited (CISA KEV)" },
            "advisories": { "type": "array", "items": { "type": "string" } },
            "product": { "type": "string", "description": "The affected product that matched" },
            "versions": { "type": "string", "description": "Its affected versions as the advisory writes them" },
            "fixed_in": { "type": "array", "items": { "type": "string" } },
            "confidence": { "type": "string", "enum": ["high", "medium", "low"] },
            "reason": { "type": "string", "description": "Which facts, which range, which advisory" },
            "first_matched": { "type": "string", "format": "date-time" },
            "last_matched": { "type": "string", "format": "date-time" },
            "excluded": { "type": "boolean" },
            "exclusion_reason": { "type": "string", "nullable": true }
        }),
    );
    let exclusion = object(
        &["id", "cve", "reason", "created_by", "created_at"],
        json!({
            "id": { "type": "integer" },
            "device_id": { "type": "integer", "nullable": true, "description": "Absent: every device" },
            "cve": { "type": "string" },
            "reason": { "type": "string" },
            "created_by": { "type": "string" },
            "created_at": { "type": "string", "format": "date-time" }
        }),
    );
    let package = object(
        &[
            "id",
            "file_name",
            "sequence",
            "built_at",
            "key_id",
            "counts",
            "in_force",
        ],
        json!({
            "id": { "type": "integer" },
            "file_name": { "type": "string" },
            "sequence": { "type": "integer", "description": "Build seconds: a newer package has a higher one" },
            "built_at": { "type": "string", "format": "date-time" },
            "uploaded_at": { "type": "string", "format": "date-time" },
            "uploaded_by": { "type": "string" },
            "key_id": { "type": "string" },
            "counts": { "type": "object" },
            "size": { "type": "integer" },
            "in_force": { "type": "boolean" }
        }),
    );
    let items = |item: Value| {
        object(
            &["items", "total"],
            json!({ "items": { "type": "array", "items": item }, "total": { "type": "integer" } }),
        )
    };
    vec![
        OperationDoc {
            query: VULNERABILITY_FILTERS,
            success: (200, Some(items(vulnerability.clone()))),
            ..op(
                "GET",
                "/api/v1/vulnerabilities",
                "Device vulnerabilities by device, by CVE or by severity; known exploited first, then by CVSS",
            )
        },
        OperationDoc {
            query: VULNERABILITY_FILTERS,
            success: (200, Some(json!({ "type": "string", "format": "text/csv" }))),
            ..op(
                "GET",
                "/api/v1/vulnerabilities.csv",
                "Export the filtered device vulnerabilities as CSV (up to 100,000 rows)",
            )
        },
        OperationDoc {
            query: &PAGING,
            success: (200, Some(items(exclusion.clone()))),
            ..op(
                "GET",
                "/api/v1/vulnerabilities/exclusions",
                "Exclusions of the caller's devices and those for every device",
            )
        },
        OperationDoc {
            body: Some(object(
                &["cve", "reason"],
                json!({
                    "cve": { "type": "string" },
                    "device_id": { "type": "integer", "description": "Absent: every device (callers who see every site)" },
                    "reason": { "type": "string", "description": "Why it does not apply (required)" }
                }),
            )),
            success: (201, Some(exclusion)),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/vulnerabilities/exclusions",
                "Exclude a CVE on a device or on all (a reason required; audited vulnerability.exclude)",
            )
        },
        OperationDoc {
            success: (204, None),
            ..op(
                "DELETE",
                "/api/v1/vulnerabilities/exclusions/{id}",
                "Delete an exclusion (audited)",
            )
        },
        OperationDoc {
            body: Some(json!({
                "type": "string",
                "format": "binary",
                "description": "The package file as `ironward ti build` writes it"
            })),
            success: (201, Some(package.clone())),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/ti/packages",
                "Upload a threat-intelligence package: verified with the console's key, refused if not newer than the one in force (audited ti.upload)",
            )
        },
        OperationDoc {
            query: &PAGING,
            success: (200, Some(items(package))),
            ..op(
                "GET",
                "/api/v1/ti/packages",
                "Uploaded packages, newest first, the one in force flagged, with the matching status",
            )
        },
        OperationDoc {
            query: &[
                ("site", "integer", "Only this site"),
                PAGING[0],
                PAGING[1],
            ],
            success: (
                200,
                Some(items(object(
                    &["reason", "explanation", "devices"],
                    json!({
                        "vendor": { "type": "string", "nullable": true },
                        "model": { "type": "string", "nullable": true },
                        "order_number": { "type": "string", "nullable": true },
                        "reason": { "type": "string" },
                        "explanation": { "type": "string" },
                        "devices": { "type": "integer" }
                    }),
                ))),
            ),
            ..op(
                "GET",
                "/api/v1/ti/unmatched",
                "Products of the caller's sites the package in force cannot resolve, with why",
            )
        },
    ]
}

/// Forwarding rules and playbooks (administrators).
fn forwarding_operations() -> Vec<OperationDoc> {
    let op = |method, path, summary| OperationDoc {
        method,
        path,
        summary,
        query: &[],
        body: None,
        success: (200, None),
        conflict: false,
    };
    let filter = schema("AlertFilter");
    vec![
        OperationDoc {
            success: (200, Some(list_of("ForwardRule"))),
            ..op("GET", "/api/v1/forwarding/rules", "List forwarding rules (secrets are never shown)")
        },
        OperationDoc {
            body: Some(object(
                &["name", "destination"],
                json!({
                    "name": { "type": "string", "maxLength": 200 },
                    "filter": filter,
                    "destination": schema("ForwardDestination"),
                    "secret": { "type": "string", "maxLength": 1024, "description": "Webhook HMAC key (required for webhooks) or SMTP password; stored, never shown back" }
                }),
            )),
            success: (201, Some(schema("ForwardRule"))),
            conflict: true,
            ..op("POST", "/api/v1/forwarding/rules", "Create a forwarding rule (syslog CEF/LEEF/JSON over UDP/TCP/TLS, signed webhook, e-mail)")
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/forwarding/rules/{id}", "Delete a forwarding rule and its queue")
        },
        OperationDoc {
            body: Some(object(&["enabled"], json!({ "enabled": { "type": "boolean" } }))),
            success: (200, Some(schema("ForwardRule"))),
            ..op("POST", "/api/v1/forwarding/rules/{id}/enabled", "Enable or disable a forwarding rule")
        },
        OperationDoc {
            success: (200, Some(schema("ForwardStatus"))),
            ..op("GET", "/api/v1/forwarding/status", "The delivery queue: waiting, delivered, dropped when full")
        },
        OperationDoc {
            success: (200, Some(list_of("Playbook"))),
            ..op("GET", "/api/v1/playbooks", "List playbooks")
        },
        OperationDoc {
            body: Some(object(
                &["name", "actions"],
                json!({
                    "name": { "type": "string", "maxLength": 200 },
                    "filter": schema("AlertFilter"),
                    "actions": { "type": "array", "minItems": 1, "maxItems": 20, "items": schema("PlaybookAction") }
                }),
            )),
            success: (201, Some(schema("Playbook"))),
            conflict: true,
            ..op("POST", "/api/v1/playbooks", "Create a playbook: ordered actions on matching alerts")
        },
        OperationDoc {
            body: Some(object(&["enabled"], json!({ "enabled": { "type": "boolean" } }))),
            success: (200, Some(schema("Playbook"))),
            ..op("POST", "/api/v1/playbooks/{id}/enabled", "Enable or disable a playbook (a disabled one starts no new runs)")
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/playbooks/{id}", "Delete a playbook and its runs")
        },
        OperationDoc {
            success: (200, Some(list_of("PlaybookRun"))),
            ..op("GET", "/api/v1/playbooks/{id}/runs", "A playbook's newest 100 runs, with their logs")
        },
    ]
}

/// The schemas of the forwarding operations.
fn forwarding_schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let tls = object(
        &[],
        json!({
            "ca_pem": { "type": "string", "description": "CA certificates (PEM) the receiver's certificate must chain to" },
            "fingerprint": { "type": "string", "description": "Pinned receiver certificate, sha256:<hex>" },
            "server_name": { "type": "string", "description": "Name to verify (default: host)" }
        }),
    );
    json!({
        "AlertFilter": object(&[], json!({
            "min_severity": { "type": "string", "enum": ["critical", "major", "minor", "warning"] },
            "engines": { "type": "array", "items": { "type": "string", "enum": ["policy", "protocol", "malware", "anomaly", "operational"] } },
            "sites": { "type": "array", "items": { "type": "integer" } },
            "protocols": { "type": "array", "items": { "type": "string" } },
            "kinds": { "type": "array", "items": { "type": "string" }, "description": "Alert kinds, e.g. policy.unauthorized_write" }
        })),
        "ForwardDestination": {
            "type": "object",
            "description": "type syslog (host, port, transport udp|tcp|tls, format cef|leef|json, facility, tls), webhook (url, tls) or email (host, port, from, to, username, tls with ca_pem; STARTTLS always)",
            "required": ["type"],
            "properties": {
                "type": { "type": "string", "enum": ["syslog", "webhook", "email"] },
                "host": { "type": "string" },
                "port": { "type": "integer" },
                "transport": { "type": "string", "enum": ["udp", "tcp", "tls"] },
                "format": { "type": "string", "enum": ["cef", "leef", "json"] },
                "facility": { "type": "integer", "minimum": 0, "maximum": 23 },
                "url": { "type": "string" },
                "from": { "type": "string" },
                "to": { "type": "array", "items": { "type": "string" } },
                "username": { "type": "string" },
                "tls": tls
            }
        },
        "ForwardRule": object(&["id", "name", "enabled", "filter", "destination", "has_secret", "created_at"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "enabled": { "type": "boolean" },
            "filter": schema("AlertFilter"),
            "destination": schema("ForwardDestination"),
            "has_secret": { "type": "boolean" },
            "created_at": time
        })),
        "ForwardStatus": object(&["queued", "delivered", "overflow", "playbook_overflow"], json!({
            "queued": { "type": "integer" },
            "delivered": { "type": "integer" },
            "overflow": { "type": "integer", "description": "Occurrences dropped because the queue was full" },
            "playbook_overflow": { "type": "integer" }
        })),
        "PlaybookAction": {
            "type": "object",
            "description": "notify (rule), webhook (url, secret, tls), tag (tag), group (group), raise_severity (to), close_as_expected",
            "required": ["type"],
            "properties": {
                "type": { "type": "string", "enum": ["notify", "webhook", "tag", "group", "raise_severity", "close_as_expected"] },
                "rule": { "type": "integer" },
                "url": { "type": "string" },
                "secret": { "type": "string", "description": "Write only: shown back as has_secret" },
                "tag": { "type": "string" },
                "group": { "type": "integer" },
                "to": { "type": "string", "enum": ["critical", "major", "minor", "warning"] }
            }
        },
        "Playbook": object(&["id", "name", "enabled", "filter", "actions", "created_at"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "enabled": { "type": "boolean" },
            "filter": schema("AlertFilter"),
            "actions": { "type": "array", "items": schema("PlaybookAction") },
            "created_at": time
        })),
        "PlaybookRun": object(&["id", "playbook_id", "alert_id", "occurrence", "status", "step", "attempts", "log", "created_at"], json!({
            "id": { "type": "integer" },
            "playbook_id": { "type": "integer" },
            "alert_id": { "type": "integer" },
            "occurrence": { "type": "integer", "description": "The alert's count when the run started" },
            "status": { "type": "string", "enum": ["pending", "done", "failed"] },
            "step": { "type": "integer", "description": "Next action to run (0-based)" },
            "attempts": { "type": "integer" },
            "log": { "type": "array", "items": { "type": "string" } },
            "created_at": time,
            "finished_at": { "type": "string", "format": "date-time", "nullable": true }
        }))
    })
}

const ALERT_FILTERS: &[(&str, &str, &str)] = &[
    ("status", "string", "new, active or closed"),
    ("severity", "string", "critical, major, minor or warning"),
    (
        "engine",
        "string",
        "policy, protocol, malware, anomaly or operational",
    ),
    ("site", "integer", "Only this site"),
    ("device", "string", "Only alerts involving this device key"),
    ("muted", "boolean", "Only muted (true) or unmuted (false)"),
    ("since", "string", "RFC 3339 time: only alerts seen since"),
    PAGING[0],
    PAGING[1],
];

const SITE_FILTER: &[(&str, &str, &str)] = &[("site", "integer", "Only this site")];

const SITE_PAGED: &[(&str, &str, &str)] =
    &[("site", "integer", "Only this site"), PAGING[0], PAGING[1]];

/// The alert workflow, exclusion, custom rule and baseline operations.
#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn alert_operations() -> Vec<OperationDoc> {
    let op = |method, path, summary| OperationDoc {
        method,
        path,
        summary,
        query: &[],
        body: None,
        success: (200, None),
        conflict: false,
    };
    let status = json!({ "type": "string", "enum": ["new", "active", "closed"] });
    vec![
        OperationDoc {
            query: ALERT_FILTERS,
            success: (200, Some(list_of("Alert"))),
            ..op("GET", "/api/v1/alerts", "List alerts (filter, page), most recent first")
        },
        OperationDoc {
            success: (200, Some(schema("AlertDetail"))),
            ..op(
                "GET",
                "/api/v1/alerts/{id}",
                "An alert with description, techniques, evidence, remediation, comments and history",
            )
        },
        OperationDoc {
            success: (
                200,
                Some(json!({
                    "type": "string",
                    "format": "binary",
                    "description": "application/vnd.tcpdump.pcap: a classic pcap file (at most 256 KiB), sent as an attachment named alert-<id>.pcap"
                })),
            ),
            ..op(
                "GET",
                "/api/v1/alerts/{id}/pcap",
                "The packets around the alert's first occurrence, as the sensor captured them (404 when there are none)",
            )
        },
        OperationDoc {
            body: Some(object(&["status"], json!({ "status": status }))),
            success: (200, Some(schema("Alert"))),
            ..op(
                "POST",
                "/api/v1/alerts/{id}/status",
                "Set an alert's status (operators: operational alerts only)",
            )
        },
        OperationDoc {
            body: Some(object(
                &["user"],
                json!({ "user": { "type": "integer", "nullable": true, "description": "User id; null unassigns" } }),
            )),
            success: (200, Some(schema("Alert"))),
            ..op("POST", "/api/v1/alerts/{id}/assign", "Assign an alert to a user")
        },
        OperationDoc {
            body: Some(object(&["muted"], json!({ "muted": { "type": "boolean" } }))),
            success: (200, Some(schema("Alert"))),
            ..op("POST", "/api/v1/alerts/{id}/mute", "Mute or unmute an alert")
        },
        OperationDoc {
            body: Some(object(
                &["text"],
                json!({ "text": { "type": "string", "maxLength": 4096 } }),
            )),
            success: (201, Some(schema("AlertComment"))),
            conflict: true,
            ..op("POST", "/api/v1/alerts/{id}/comments", "Comment on an alert")
        },
        OperationDoc {
            body: Some(json!({ "type": "object", "description": "Empty ({}); nothing to set" })),
            success: (200, Some(schema("BaselineEntry"))),
            ..op(
                "POST",
                "/api/v1/alerts/{id}/learn",
                "Learn: add the alert's traffic to the baseline and close it; identical alerts are suppressed from then on",
            )
        },
        OperationDoc {
            body: Some(object(
                &["ids", "action"],
                json!({
                    "ids": { "type": "array", "items": { "type": "integer" }, "maxItems": 1000 },
                    "action": { "type": "string", "enum": ["status", "assign", "mute"] },
                    "status": status,
                    "user": { "type": "integer", "nullable": true },
                    "muted": { "type": "boolean" }
                }),
            )),
            success: (200, Some(list_of("Alert"))),
            ..op(
                "POST",
                "/api/v1/alerts/bulk",
                "Apply one action to several alerts (checked for access before any change)",
            )
        },
        OperationDoc {
            query: SITE_FILTER,
            success: (200, Some(list_of("Exclusion"))),
            ..op("GET", "/api/v1/exclusions", "List exclusion rules")
        },
        OperationDoc {
            body: Some(schema("ExclusionSpec")),
            success: (201, Some(schema("Exclusion"))),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/exclusions",
                "Create an exclusion rule (matching alerts are suppressed at ingest)",
            )
        },
        OperationDoc {
            success: (200, Some(schema("Exclusion"))),
            ..op("GET", "/api/v1/exclusions/{id}", "An exclusion rule")
        },
        OperationDoc {
            body: Some(schema("ExclusionSpec")),
            success: (200, Some(schema("Exclusion"))),
            ..op("PUT", "/api/v1/exclusions/{id}", "Replace an exclusion rule")
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/exclusions/{id}", "Delete an exclusion rule")
        },
        OperationDoc {
            query: SITE_FILTER,
            success: (200, Some(list_of("AlertRule"))),
            ..op("GET", "/api/v1/alert-rules", "List custom alert rules")
        },
        OperationDoc {
            body: Some(schema("AlertRuleSpec")),
            success: (201, Some(schema("AlertRule"))),
            conflict: true,
            ..op(
                "POST",
                "/api/v1/alert-rules",
                "Create a custom alert rule on protocol events",
            )
        },
        OperationDoc {
            success: (200, Some(schema("AlertRule"))),
            ..op("GET", "/api/v1/alert-rules/{id}", "A custom alert rule")
        },
        OperationDoc {
            body: Some(schema("AlertRuleSpec")),
            success: (200, Some(schema("AlertRule"))),
            ..op("PUT", "/api/v1/alert-rules/{id}", "Replace a custom alert rule")
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/alert-rules/{id}", "Delete a custom alert rule")
        },
        OperationDoc {
            query: SITE_PAGED,
            success: (200, Some(list_of("BaselineEntry"))),
            ..op(
                "GET",
                "/api/v1/baseline",
                "Learned baseline entries (for sensors to import)",
            )
        },
        OperationDoc {
            success: (204, None),
            ..op("DELETE", "/api/v1/baseline/{id}", "Delete a learned baseline entry")
        },
        OperationDoc {
            query: &[("site", "integer", "The site (required)")],
            success: (
                200,
                Some(object(
                    &["format", "site", "site_id", "exported_at", "entries"],
                    json!({
                        "format": { "type": "string", "enum": ["ironward-baseline-1"] },
                        "site": { "type": "string" },
                        "site_id": { "type": "integer" },
                        "exported_at": { "type": "string", "format": "date-time" },
                        "entries": { "type": "array", "items": schema("BaselineImport") }
                    }),
                )),
            ),
            ..op(
                "GET",
                "/api/v1/baseline/export",
                "A site's baseline entries as a JSON file (up to 100,000)",
            )
        },
        OperationDoc {
            body: Some(object(
                &["site_id", "entries"],
                json!({
                    "site_id": { "type": "integer", "description": "The site the entries go to" },
                    "entries": { "type": "array", "maxItems": 10_000, "items": schema("BaselineImport") }
                }),
            )),
            success: (
                200,
                Some(object(
                    &["imported", "entries"],
                    json!({
                        "imported": { "type": "integer", "description": "Entries the site did not have" },
                        "entries": { "type": "integer" }
                    }),
                )),
            ),
            ..op(
                "POST",
                "/api/v1/baseline/import",
                "Add baseline entries to a site (an export file with site_id set; checked whole, at most 10,000)",
            )
        },
    ]
}

/// The description of `method path`.
pub fn find(method: &str, path: &str) -> Option<OperationDoc> {
    all()
        .into_iter()
        .find(|d| d.method == method && d.path == path)
}

/// The API routes of the table without a description: (method, path).
pub fn undocumented() -> Vec<(String, &'static str)> {
    crate::routes::table()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .filter(|r| find(r.method.as_str(), r.path).is_none())
        .map(|r| (r.method.to_string(), r.path))
        .collect()
}

/// Descriptions of routes the table does not serve: (method, path).
pub fn orphans() -> Vec<(&'static str, &'static str)> {
    let table = crate::routes::table();
    all()
        .into_iter()
        .filter(|d| {
            !table
                .iter()
                .any(|r| r.method.as_str() == d.method && r.path == d.path)
        })
        .map(|d| (d.method, d.path))
        .collect()
}

/// The schemas the operations refer to.
#[allow(clippy::too_many_lines)] // one table, read top to bottom
pub fn schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let time_or_null = json!({ "type": "string", "format": "date-time", "nullable": true });
    let text_or_null = json!({ "type": "string", "nullable": true });
    let mut all = json!({
        "Error": object(&["error"], json!({ "error": { "type": "string" } })),
        "Role": { "type": "string", "enum": ["admin", "analyst", "operator", "viewer"] },
        "Device": {
            "type": "object",
            "description": "A device with the field names of `ironward analyze --format json`; `id` is the store's row id and `key` the device's key",
            "required": ["id", "key", "site_id", "site", "zone_id", "zone", "ips", "protocols", "first_seen", "last_seen"],
            "properties": {
                "id": { "type": "integer" },
                "key": { "type": "string" },
                "site_id": { "type": "integer" },
                "site": { "type": "string" },
                "zone_id": { "type": "integer" },
                "zone": { "type": "string" },
                "sensor_id": { "type": "integer", "nullable": true },
                "sensor": text_or_null,
                "mac": text_or_null,
                "ips": { "type": "array", "items": { "type": "string" } },
                "vendor": text_or_null,
                "hostnames": { "type": "array", "items": { "type": "string" } },
                "type": text_or_null,
                "role": text_or_null,
                "model": text_or_null,
                "firmware": text_or_null,
                "serial": text_or_null,
                "os": text_or_null,
                "state": text_or_null,
                "purdue_level": { "type": "integer", "nullable": true },
                "purdue_reason": text_or_null,
                "protocols": object(&["client", "server"], json!({
                    "client": { "type": "array", "items": { "type": "string" } },
                    "server": { "type": "array", "items": { "type": "string" } }
                })),
                "services": { "type": "array", "items": { "type": "object" } },
                "findings": { "type": "array", "items": { "type": "string" } },
                "facts": { "type": "array", "items": { "type": "object" } },
                "conflicts": { "type": "array", "items": { "type": "object" } },
                "first_seen": time,
                "last_seen": time
            }
        },
        "Fact": object(&["attribute", "value", "source", "confidence", "selected", "first_seen", "last_seen"], json!({
            "attribute": { "type": "string" },
            "value": { "type": "string" },
            "source": { "type": "string" },
            "confidence": { "type": "integer", "minimum": 0, "maximum": 100 },
            "selected": { "type": "boolean" },
            "evidence": text_or_null,
            "first_seen": time,
            "last_seen": time
        })),
        "History": object(&["attribute", "at"], json!({
            "attribute": { "type": "string" },
            "old_value": text_or_null,
            "new_value": text_or_null,
            "at": time,
            "sensor_id": { "type": "integer", "nullable": true }
        })),
        "DeviceDetail": object(&["device", "facts", "history", "connections", "events", "alerts"], json!({
            "device": schema("Device"),
            "facts": { "type": "array", "items": schema("Fact") },
            "history": { "type": "array", "items": schema("History") },
            "connections": list_of("Connection"),
            "events": list_of("Event"),
            "alerts": list_of("Alert")
        })),
        "Connection": object(&["id", "site_id", "zone_id", "a_ip", "b_ip", "transport"], json!({
            "id": { "type": "integer" },
            "site_id": { "type": "integer" },
            "zone_id": { "type": "integer" },
            "a": text_or_null,
            "b": text_or_null,
            "a_ip": { "type": "string" },
            "b_ip": { "type": "string" },
            "transport": { "type": "string" },
            "port": { "type": "integer", "nullable": true },
            "protocol": text_or_null,
            "packets": { "type": "integer" },
            "bytes": { "type": "integer" },
            "flows": { "type": "integer" },
            "first_seen": time,
            "last_seen": time
        })),
        "Event": object(&["id", "site_id", "zone_id", "protocol", "category", "operation"], json!({
            "id": { "type": "integer" },
            "site_id": { "type": "integer" },
            "zone_id": { "type": "integer" },
            "src_device": text_or_null,
            "dst_device": text_or_null,
            "src_addr": { "type": "string" },
            "dst_addr": { "type": "string" },
            "protocol": { "type": "string" },
            "category": { "type": "string" },
            "operation": { "type": "string" },
            "detail": { "type": "string" },
            "content_hash": text_or_null,
            "count": { "type": "integer" },
            "first_seen": time,
            "last_seen": time
        })),
        "Site": object(&["id", "name", "created_at"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "created_at": time
        })),
        "BaselineImport": object(&["kind"], json!({
            "kind": { "type": "string", "description": "Alert kind the entry covers" },
            "src": { "type": "string", "description": "Source address (empty: none)" },
            "dst": { "type": "string", "description": "Destination address (empty: none)" },
            "protocol": { "type": "string" },
            "detail": { "type": "string" }
        })),
        "SiteLearning": object(&["site_id", "until", "learning", "learned", "baseline_version"], json!({
            "site_id": { "type": "integer" },
            "until": { "type": ["string", "null"], "format": "date-time", "description": "Learning until then; null: the site never learned" },
            "learning": { "type": "boolean", "description": "Whether the site learns now" },
            "learned": { "type": "integer", "description": "Policy alerts turned into baseline entries while learning" },
            "baseline_version": { "type": "integer", "description": "Grows with every change to the site's baseline entries" }
        })),
        "Zone": object(&["id", "site_id", "name", "created_at"], json!({
            "id": { "type": "integer" },
            "site_id": { "type": "integer" },
            "name": { "type": "string" },
            "created_at": time
        })),
        "Sensor": object(&["id", "site_id", "site", "zone_id", "zone", "name", "enrolled_at", "status"], json!({
            "id": { "type": "integer" },
            "site_id": { "type": "integer" },
            "site": { "type": "string" },
            "zone_id": { "type": "integer" },
            "zone": { "type": "string" },
            "name": { "type": "string" },
            "enrolled_at": time,
            "last_seen": time_or_null,
            "status": { "type": "string", "enum": ["online", "offline"] },
            "health": {
                "type": "object",
                "nullable": true,
                "properties": {
                    "at": time,
                    "version": { "type": "string" },
                    "source": { "type": "string" },
                    "packets": { "type": "integer" },
                    "bytes": { "type": "integer" },
                    "packets_per_second": { "type": "number" },
                    "drops": { "type": "integer" }
                }
            },
            "threat_intel": schema("SensorThreatIntel")
        })),
        "SensorThreatIntel": object(&["state"], json!({
            "state": { "type": "string", "enum": ["ok", "update_available", "failed", "none"], "description": "failed: the sensor refused the last package offered; update_available: it runs another package than its site's" },
            "assigned_package": { "type": ["integer", "null"] },
            "assigned_sequence": { "type": ["integer", "null"] },
            "assigned_name": { "type": ["string", "null"] },
            "running_sequence": { "type": ["integer", "null"] },
            "running_name": { "type": ["string", "null"] },
            "error": { "type": ["string", "null"], "description": "Why the sensor refused the last package" },
            "key_id": { "type": ["string", "null"], "description": "The key the sensor verifies packages with" },
            "reported_at": time_or_null
        })),
        "SitePackage": object(&["site_id", "package_id", "sequence", "file_name", "assigned_at", "assigned_by"], json!({
            "site_id": { "type": "integer" },
            "package_id": { "type": "integer" },
            "sequence": { "type": "integer" },
            "file_name": { "type": "string" },
            "assigned_at": time,
            "assigned_by": { "type": "string" }
        })),
        "EnrollmentToken": object(&["token", "expires_at", "command"], json!({
            "token": { "type": "string", "description": "Shown only in this answer" },
            "expires_at": time,
            "command": { "type": "string", "description": "The exact `ironward sensor` command to run on the sensor's host" },
            "site_id": { "type": "integer" },
            "zone_id": { "type": "integer" },
            "name": { "type": "string" }
        })),
        "Group": object(&["id", "name", "description", "created_at"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "description": { "type": "string" },
            "created_at": time
        })),
        "User": object(&["id", "name", "role", "sites", "locked"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "role": schema("Role"),
            "sites": { "type": "array", "items": { "type": "integer" }, "description": "Empty: every site" },
            "failed_logins": { "type": "integer" },
            "locked": { "type": "boolean" },
            "locked_until": time_or_null,
            "created_at": time,
            "last_login": time_or_null
        })),
        "Me": object(&["id", "name", "role", "sites", "permissions"], json!({
            "id": { "type": "integer" },
            "name": { "type": "string" },
            "role": schema("Role"),
            "sites": { "type": "array", "items": { "type": "integer" }, "nullable": true, "description": "null: every site" },
            "permissions": { "type": "array", "items": { "type": "string" } },
            "authenticated_by": { "type": "string", "enum": ["session", "api_token"] }
        })),
        "Token": object(&["id", "name", "created_at"], json!({
            "id": { "type": "integer" },
            "user_id": { "type": "integer" },
            "name": { "type": "string" },
            "created_at": time,
            "last_used": time_or_null,
            "revoked_at": time_or_null
        })),
        "NewToken": {
            "allOf": [
                schema("Token"),
                object(&["secret"], json!({ "secret": { "type": "string", "description": "Use as `Authorization: Bearer <secret>`; shown only in this answer" } }))
            ]
        },
        "AuditEntry": object(&["at", "address", "action", "target", "outcome"], json!({
            "at": time,
            "user_id": { "type": "integer", "nullable": true },
            "user_name": text_or_null,
            "address": { "type": "string" },
            "action": { "type": "string" },
            "target": { "type": "string" },
            "detail": { "type": "string" },
            "outcome": { "type": "string", "enum": ["ok", "denied", "failed"] }
        }))
    });
    if let (Value::Object(all), Value::Object(alerts)) = (&mut all, alert_schemas()) {
        all.extend(alerts);
    }
    if let (Value::Object(all), Value::Object(forwarding)) = (&mut all, forwarding_schemas()) {
        all.extend(forwarding);
    }
    if let (Value::Object(all), Value::Object(posture)) = (&mut all, super::posture_docs::schemas())
    {
        all.extend(posture);
    }
    all
}

/// The schemas of the alert operations (a table of their own: one `json!` of every schema
/// passes the macro's recursion limit).
#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn alert_schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let text_or_null = json!({ "type": "string", "nullable": true });
    json!({
        "Alert": object(&["id", "site_id", "site", "kind", "engine", "title", "severity", "status", "muted", "count"], json!({
            "id": { "type": "integer" },
            "key": { "type": "string", "nullable": true, "description": "The sensor's stable alert id" },
            "site_id": { "type": "integer" },
            "site": { "type": "string" },
            "zone_id": { "type": "integer", "nullable": true },
            "sensor_id": { "type": "integer", "nullable": true },
            "kind": { "type": "string", "description": "Alert type, e.g. policy.new_device or custom.3" },
            "engine": { "type": "string", "enum": ["policy", "protocol", "malware", "anomaly", "operational"] },
            "title": { "type": "string" },
            "severity": { "type": "string", "enum": ["critical", "major", "minor", "warning"] },
            "status": { "type": "string", "enum": ["new", "active", "closed"] },
            "muted": { "type": "boolean" },
            "assignee_id": { "type": "integer", "nullable": true },
            "assignee": text_or_null,
            "src_ip": text_or_null,
            "dst_ip": text_or_null,
            "protocol": text_or_null,
            "devices": { "type": "array", "items": { "type": "string" } },
            "first_seen": time,
            "last_seen": time,
            "count": { "type": "integer" }
        })),
        "AlertDetail": {
            "allOf": [
                { "$ref": "#/components/schemas/Alert" },
                object(&["comments", "history"], json!({
                    "description": { "type": "string" },
                    "techniques": { "type": "array", "items": object(&["id", "name"], json!({ "id": { "type": "string" }, "name": { "type": "string" } })) },
                    "evidence": { "type": "array", "items": object(&["time", "summary"], json!({ "time": time, "summary": { "type": "string" }, "frame": { "type": "integer" } })) },
                    "remediation": { "type": "string" },
                    "pcap": text_or_null,
                    "comments": { "type": "array", "items": { "$ref": "#/components/schemas/AlertComment" } },
                    "history": { "type": "array", "items": object(&["at", "user_name", "action", "detail"], json!({
                        "at": time, "user_name": { "type": "string" }, "action": { "type": "string" }, "detail": { "type": "string" }
                    })) }
                }))
            ]
        },
        "AlertComment": object(&["id", "user_name", "at", "text"], json!({
            "id": { "type": "integer" },
            "user_id": { "type": "integer", "nullable": true },
            "user_name": { "type": "string" },
            "at": time,
            "text": { "type": "string" }
        })),
        "ExclusionSpec": object(&["site_id", "name"], json!({
            "site_id": { "type": "integer" },
            "name": { "type": "string" },
            "device_key": text_or_null,
            "subnet": { "type": "string", "nullable": true, "description": "CIDR the alert's source or destination lies in" },
            "kind": text_or_null,
            "engine": text_or_null,
            "sensor_id": { "type": "integer", "nullable": true },
            "weekdays": { "type": "array", "items": { "type": "integer", "minimum": 0, "maximum": 6 }, "description": "0 = Monday, UTC" },
            "hour_from": { "type": "integer", "nullable": true, "description": "UTC, inclusive" },
            "hour_to": { "type": "integer", "nullable": true, "description": "UTC, exclusive; before hour_from wraps midnight" }
        })),
        "Exclusion": {
            "allOf": [
                { "$ref": "#/components/schemas/ExclusionSpec" },
                object(&["id", "suppressed"], json!({
                    "id": { "type": "integer" },
                    "suppressed": { "type": "integer", "description": "Alerts suppressed" },
                    "created_by": { "type": "string" },
                    "created_at": time
                }))
            ]
        },
        "AlertRuleSpec": object(&["site_id", "title", "protocol", "operation", "severity"], json!({
            "site_id": { "type": "integer" },
            "title": { "type": "string" },
            "protocol": { "type": "string" },
            "operation": { "type": "string", "description": "* matches any" },
            "detail_contains": text_or_null,
            "src_subnet": text_or_null,
            "dst_subnet": text_or_null,
            "severity": { "type": "string", "enum": ["critical", "major", "minor", "warning"] },
            "enabled": { "type": "boolean" }
        })),
        "AlertRule": {
            "allOf": [
                { "$ref": "#/components/schemas/AlertRuleSpec" },
                object(&["id", "fired"], json!({
                    "id": { "type": "integer" },
                    "fired": { "type": "integer", "description": "Events that matched" },
                    "created_by": { "type": "string" },
                    "created_at": time
                }))
            ]
        },
        "BaselineEntry": object(&["id", "site_id", "kind", "src", "dst", "protocol", "detail"], json!({
            "id": { "type": "integer" },
            "site_id": { "type": "integer" },
            "kind": { "type": "string" },
            "src": { "type": "string" },
            "dst": { "type": "string" },
            "protocol": { "type": "string" },
            "detail": { "type": "string" },
            "suppressed": { "type": "integer" },
            "created_by": { "type": "string" },
            "created_at": time
        }))
    })
}
