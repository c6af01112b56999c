//! Threat-intelligence packages on the Sites & sensors page: each site's package, with the form
//! that applies a stored package to every sensor of the site (administrators), and each
//! sensor's package state — Ok, Update available, or Failed with the sensor's reason.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use ironward_model::Timestamp;
use ironward_store::{PackageId, SensorRecord, SensorTiStatus, SiteId, SitePackage, StoredPackage};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::state::AppState;
use crate::ui::layout::csrf_field;
use crate::ui::widgets::{ago, failure, see_other, ClientAddr};

/// Newest packages offered by the apply form.
const PACKAGES_OFFERED: i64 = 20;

/// What the page shows of packages: the stored ones, each site's and each sensor's state.
#[derive(Debug, Default)]
pub(crate) struct TiView {
    packages: Vec<StoredPackage>,
    sites: Vec<SitePackage>,
    sensors: Vec<SensorTiStatus>,
}

/// Reads the view for the caller's sites; a failure leaves it empty (logged): the rest of the
/// page still shows.
pub(crate) async fn load(state: &AppState, user: &UserPrincipal) -> TiView {
    let store = state.store();
    let read = tokio::try_join!(
        store.list_packages(PACKAGES_OFFERED, 0),
        store.site_packages(&user.scope),
        store.sensor_ti_statuses(&user.scope),
    );
    match read {
        Ok((packages, sites, sensors)) => TiView {
            packages: packages.items,
            sites,
            sensors,
        },
        Err(error) => {
            tracing::error!(%error, "reading threat-intelligence distribution");
            TiView::default()
        }
    }
}

/// A site's package and, for administrators, the form applying another.
pub(crate) fn site_package(user: &UserPrincipal, site: SiteId, view: &TiView) -> Markup {
    let assigned = view.sites.iter().find(|s| s.site_id == site);
    let admin = user.role.allows(Permission::ManageSettings);
    html! {
        p.ti-package {
            "Threat-intelligence package: "
            @if let Some(a) = assigned {
                strong { (a.file_name) } " (sequence " (a.sequence) ", applied by " (a.assigned_by) ")"
            } @else {
                span.muted { "none applied" }
            }
        }
        @if admin && !view.packages.is_empty() {
            form.inline method="post" action={"/sites/" (site) "/ti-package"} {
                (csrf_field(user))
                select name="package" aria-label="Package" {
                    @for p in &view.packages {
                        option value=(p.id.0) selected[assigned.is_some_and(|a| a.package_id == p.id)] {
                            (p.file_name) " (" (p.sequence) ")"
                        }
                    }
                }
                button.secondary type="submit" { "Apply to every sensor of the site" }
            }
        }
    }
}

/// Every sensor's package state.
pub(crate) fn sensors_table(sensors: &[SensorRecord], view: &TiView, now: Timestamp) -> Markup {
    html! {
        h2 { "Threat-intelligence packages" }
        table.compact.ti-status {
            thead {
                tr {
                    th { "Sensor" } th { "Site" } th { "State" } th { "Running" }
                    th { "Assigned" } th { "Reported" }
                }
            }
            tbody {
                @for s in sensors {
                    @let status = view.sensors.iter().find(|t| t.sensor_id == s.id);
                    tr {
                        td { (s.name) }
                        td { (s.site) }
                        td { (state_badge(status)) }
                        td { (status.and_then(|t| t.running_name.as_deref()).unwrap_or("—")) }
                        td { (status.and_then(|t| t.assigned_name.as_deref()).unwrap_or("—")) }
                        td { (ago(status.and_then(|t| t.reported_at), now)) }
                    }
                }
            }
        }
    }
}

fn state_badge(status: Option<&SensorTiStatus>) -> Markup {
    let state = status.map_or("none", |s| s.state);
    html! {
        @match state {
            "ok" => span.badge.online { "Ok" },
            "update_available" => span.badge.warning { "Update available" },
            "failed" => {
                span.badge.offline { "Failed" }
                " "
                span.error { (status.and_then(|s| s.error.as_deref()).unwrap_or("")) }
            },
            _ => span.muted { "none" },
        }
    }
}

/// The apply form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct ApplyForm {
    package: i64,
}

/// `POST /sites/{id}/ti-package`: applies a package to every sensor of the site (audited).
pub(crate) async fn apply_to_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<ApplyForm>,
) -> Response {
    let applied = crate::api::ti_distribution::apply_package(
        &state,
        &user,
        addr.0,
        PackageId(form.package),
        &[SiteId(id)],
    )
    .await;
    match applied {
        Ok(_) => see_other("/sites"),
        Err(error) => failure(error),
    }
}
