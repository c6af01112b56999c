//! `/threat-intelligence`: the package in force (build, sequence, key, counts), earlier uploads,
//! how matching goes, the upload form for administrators, the products of the caller's sites the
//! package cannot resolve (coverage), and the vulnerability exclusions with their undo.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::state::AppState;
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::vulnerabilities::at;
use crate::ui::widgets::{failure, pager, when};

/// Unmatched product groups per page.
const UNMATCHED_PAGE: i64 = 100;

/// Query of the page.
#[derive(Debug, Deserialize)]
pub(crate) struct TiQuery {
    #[serde(default)]
    offset: Option<String>,
}

/// `GET /threat-intelligence`.
pub(crate) async fn threat_intelligence(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<TiQuery>,
) -> Response {
    let store = state.store();
    let offset = crate::ui::widgets::number(query.offset.as_deref(), 0).max(0);
    let packages = match store.list_packages(20, 0).await {
        Ok(p) => p,
        Err(e) => return failure(e),
    };
    let unmatched = match store
        .list_unmatched(&user.scope, None, UNMATCHED_PAGE, offset)
        .await
    {
        Ok(u) => u,
        Err(e) => return failure(e),
    };
    let exclusions = match store
        .list_vulnerability_exclusions(&user.scope, 100, 0)
        .await
    {
        Ok(e) => e,
        Err(e) => return failure(e),
    };
    let admin = user.role.allows(Permission::ManageSettings);
    let manage = user.role.allows(Permission::ManageAlerts);
    let in_force = packages.items.iter().find(|p| p.in_force);
    let status = state.intel().status();
    let key = state
        .intel()
        .key()
        .map(|k| ironward_intel::ti::sign::KeyId::of(k).to_string());
    let content = html! {
        h1 { "Threat intelligence" }
        section.panel {
            h2 { "Package in force" }
            @if let Some(p) = in_force {
                table.identity { tbody {
                    tr { th { "File" } td { (p.file_name) } }
                    tr { th { "Built" } td { (p.built_at) " (sequence " (p.sequence) ")" } }
                    tr { th { "Signed by key" } td { code { (p.key_id) } } }
                    tr { th { "Uploaded" } td { (when(Some(p.uploaded_at))) " by " (p.uploaded_by) } }
                    tr { th { "Vulnerabilities" } td { (p.counts.vulnerabilities) " CVEs, " (p.counts.known_exploited) " known exploited, " (p.counts.affected_products) " affected products, " (p.counts.advisories) " advisories" } }
                    tr { th { "ATT&CK for ICS" } td { (p.counts.techniques) " techniques" } }
                    tr { th { "IoCs" } td { (p.counts.iocs) } }
                    tr { th { "Matching" } td {
                        @if status.running { "running… " }
                        "last pass: " (status.devices) " devices in " (format!("{:.1}", status.seconds)) " s"
                        @if let Some(at) = &status.finished_at { " (" (at) ")" }
                        @if let Some(error) = &status.error { " — failed: " (error) }
                    } }
                } }
            } @else {
                p.muted { "No package uploaded yet: devices are not matched against vulnerabilities." }
            }
            @if admin {
                h3 { "Upload a package" }
                @if let Some(key) = &key {
                    p { "Packages must be signed with the key " code { (key) } " (built with " code { "ironward ti build" } "). A package that does not verify, or is not newer than the one in force, is refused and the one in force stays." }
                    form #ti-upload method="post" action="/api/v1/ti/packages" data-upload="/api/v1/ti/packages" {
                        (csrf_field(&user))
                        input type="file" name="package" required accept=".pkg,application/octet-stream";
                        button type="submit" { "Upload" }
                        p.muted.upload-result role="status" {}
                    }
                    p.muted { "Or with an API token: " code { "curl --data-binary @ironward-ti-DATE.pkg -H 'Authorization: Bearer TOKEN' https://CONSOLE/api/v1/ti/packages" } }
                } @else {
                    p.error { "Uploads are refused: the console has no public key to verify packages with. Start it with " code { "ironward serve --ti-pubkey KEYFILE.pub" } "." }
                }
            }
            @if packages.items.len() > 1 {
                h3 { "Earlier uploads" }
                table.compact {
                    thead { tr { th { "File" } th { "Sequence" } th { "Uploaded" } th { "By" } th { "CVEs" } } }
                    tbody {
                        @for p in packages.items.iter().filter(|p| !p.in_force) {
                            tr { td { (p.file_name) } td { (p.sequence) } td { (when(Some(p.uploaded_at))) } td { (p.uploaded_by) } td { (p.counts.vulnerabilities) } }
                        }
                    }
                }
            }
        }
        section.panel {
            h2 { "Unmatched products (" (unmatched.total) ")" }
            p.muted { "Devices of your sites the package cannot resolve to a product it knows: no vulnerability can be matched for them." }
            table.compact {
                thead { tr { th { "Vendor" } th { "Model" } th { "Order number" } th { "Devices" } th { "Why" } } }
                tbody {
                    @for u in &unmatched.items {
                        tr {
                            td { (u.vendor.as_deref().unwrap_or("")) }
                            td { (u.model.as_deref().unwrap_or("")) }
                            td { (u.order_number.as_deref().unwrap_or("")) }
                            td { (u.devices) }
                            td { (u.explanation) }
                        }
                    }
                }
            }
            (pager("/threat-intelligence", &[], offset, UNMATCHED_PAGE, unmatched.items.len(), unmatched.total))
        }
        section.panel {
            h2 { "Vulnerability exclusions (" (exclusions.total) ")" }
            table.compact {
                thead { tr { th { "CVE" } th { "Device" } th { "Reason" } th { "By" } th { "When" } @if manage { th { "Actions" } } } }
                tbody {
                    @for e in &exclusions.items {
                        tr {
                            td { (e.cve) }
                            td { @if let Some(d) = e.device_id { a href={"/devices/" (d.0)} { "device " (d.0) } } @else { "all devices" } }
                            td { (e.reason) } td { (e.created_by) } td { (at(e.created_at)) }
                            @if manage {
                                td {
                                    form.inline method="post" action={"/vulnerabilities/exclusions/" (e.id) "/delete"} data-confirm="Delete this exclusion? The vulnerability is listed again." {
                                        (csrf_field(&user))
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_response(page(
        &user,
        "Threat intelligence",
        "/threat-intelligence",
        content,
    ))
    .into_response()
}
