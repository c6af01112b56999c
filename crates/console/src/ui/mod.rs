//! The web UI: server-rendered HTML (maud), a stylesheet and a little hand-written script, no
//! build step. Pages check the same access as the API and show only the caller's sites; every
//! form posts with the session's CSRF token, redirects (303) after success, re-renders with a
//! message on failure, and is audited.

mod account;
mod alerts;
mod audit_log;
mod charts;
mod dashboard;
mod device;
mod events;
mod forwarding;
mod groups;
mod initiatives;
mod inventory;
pub mod layout;
pub mod login;
mod map;
mod playbooks;
mod posture_filter;
mod posture_view;
mod recommendations;
mod settings;
mod sites;
mod ti;
mod ti_distribution;
mod users;
mod vulnerabilities;
mod widgets;

use crate::access::{Access, Permission as P};
use crate::routes::RouteSpec;

/// The UI's pages and forms (besides signing in and out, in [`login`]).
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(P::ViewInventory);
    let sites = Access::User(P::ManageSites);
    let groups = Access::User(P::ManageGroups);
    let users = Access::User(P::ManageUsers);
    let tokens = Access::User(P::ManageOwnTokens);
    // Forwarding rules and playbooks: the same permission as their API.
    let admin = Access::User(P::ManageSettings);
    vec![
        RouteSpec::get("/", view, dashboard::dashboard),
        RouteSpec::get("/devices", view, inventory::inventory),
        RouteSpec::get("/devices/{id}", view, device::device),
        RouteSpec::get("/map", view, map::map),
        RouteSpec::get("/events", view, events::events),
        RouteSpec::get("/vulnerabilities", view, vulnerabilities::vulnerabilities),
        RouteSpec::post(
            "/vulnerabilities/exclude",
            Access::User(P::ManageAlerts),
            vulnerabilities::exclude,
        ),
        RouteSpec::post(
            "/vulnerabilities/exclusions/{id}/delete",
            Access::User(P::ManageAlerts),
            vulnerabilities::delete_exclusion,
        ),
        RouteSpec::get("/threat-intelligence", view, ti::threat_intelligence),
        RouteSpec::get(
            "/reports/risk",
            Access::User(P::ViewReports),
            crate::report::download::risk,
        ),
        RouteSpec::get("/initiatives", view, initiatives::initiatives),
        RouteSpec::get("/initiatives/{id}", view, initiatives::initiative),
        // Favourites are each user's own: whoever sees the initiatives marks them.
        RouteSpec::post(
            "/initiatives/{id}/favourite",
            view,
            initiatives::set_favourite,
        ),
        RouteSpec::post("/initiatives/{id}/target", admin, initiatives::set_target),
        RouteSpec::post("/metrics/{id}/weight", admin, initiatives::set_weight),
        RouteSpec::get("/recommendations", view, recommendations::recommendations),
        RouteSpec::get(
            "/recommendations/{id}",
            view,
            recommendations::recommendation,
        ),
        RouteSpec::post(
            "/recommendations/{id}/state",
            Access::User(P::ManageRecommendations),
            recommendations::set_state,
        ),
        RouteSpec::get("/alerts", Access::User(P::ViewAlerts), alerts::alerts),
        RouteSpec::post(
            "/alerts/bulk",
            Access::User(P::ManageOperationalAlerts),
            alerts::bulk,
        ),
        RouteSpec::get("/alerts/{id}", Access::User(P::ViewAlerts), alerts::alert),
        RouteSpec::post(
            "/alerts/{id}/action",
            Access::User(P::ManageOperationalAlerts),
            alerts::act,
        ),
        RouteSpec::post(
            "/alerts/{id}/comments",
            Access::User(P::ManageOperationalAlerts),
            alerts::comment,
        ),
        RouteSpec::post(
            "/alerts/{id}/learn",
            Access::User(P::ManageAlerts),
            alerts::learn,
        ),
        RouteSpec::get(
            "/exclusions",
            Access::User(P::ViewAlerts),
            alerts::exclusions,
        ),
        RouteSpec::post(
            "/exclusions",
            Access::User(P::ManageAlerts),
            alerts::create_exclusion,
        ),
        RouteSpec::post(
            "/exclusions/{id}/delete",
            Access::User(P::ManageAlerts),
            alerts::delete_exclusion,
        ),
        RouteSpec::get("/alert-rules", Access::User(P::ViewAlerts), alerts::rules),
        RouteSpec::post(
            "/alert-rules",
            Access::User(P::ManageAlerts),
            alerts::create_rule,
        ),
        RouteSpec::post(
            "/alert-rules/{id}/delete",
            Access::User(P::ManageAlerts),
            alerts::delete_rule,
        ),
        RouteSpec::get("/sites", view, sites::sites),
        RouteSpec::post("/sites", sites, sites::create_site),
        RouteSpec::post("/sites/{id}/rename", sites, sites::rename_site),
        RouteSpec::post("/sites/{id}/delete", sites, sites::delete_site),
        RouteSpec::post("/sites/{id}/zones", sites, sites::create_zone),
        RouteSpec::post("/zones/{id}/rename", sites, sites::rename_zone),
        RouteSpec::post("/zones/{id}/delete", sites, sites::delete_zone),
        RouteSpec::post("/zones/{id}/enroll", sites, sites::enrol_sensor),
        RouteSpec::post("/sensors/{id}/delete", sites, sites::delete_sensor),
        RouteSpec::post(
            "/sites/{id}/ti-package",
            Access::User(P::ManageSettings),
            ti_distribution::apply_to_site,
        ),
        RouteSpec::post(
            "/sites/{id}/learning",
            Access::User(P::ManageAlerts),
            sites::set_learning,
        ),
        RouteSpec::get(
            "/sites/{id}/baseline",
            Access::User(P::ViewAlerts),
            sites::baseline,
        ),
        RouteSpec::post(
            "/sites/{id}/baseline/{entry}/delete",
            Access::User(P::ManageAlerts),
            sites::delete_baseline_entry,
        ),
        RouteSpec::get("/groups", view, groups::groups),
        RouteSpec::get("/groups/{id}", view, groups::group),
        RouteSpec::post("/groups", groups, groups::create_group),
        RouteSpec::post("/groups/add-device", groups, groups::add_from_device),
        RouteSpec::post("/groups/{id}/delete", groups, groups::delete_group),
        RouteSpec::post("/groups/{id}/members", groups, groups::add_member),
        RouteSpec::post("/groups/{id}/members/remove", groups, groups::remove_member),
        RouteSpec::get("/users", users, users::users),
        RouteSpec::post("/users", users, users::create_user),
        RouteSpec::post("/users/{id}/access", users, users::update_access),
        RouteSpec::post("/users/{id}/password", users, users::reset_password),
        RouteSpec::post("/users/{id}/delete", users, users::delete_user),
        RouteSpec::get("/account", tokens, account::account),
        RouteSpec::post("/account/tokens", tokens, account::create_token),
        RouteSpec::post("/account/tokens/{id}/revoke", tokens, account::revoke_token),
        RouteSpec::get("/audit", Access::User(P::ViewAudit), audit_log::audit_log),
        RouteSpec::get(
            "/settings",
            Access::User(P::ManageSettings),
            settings::settings,
        ),
        RouteSpec::get("/forwarding", admin, forwarding::forwarding),
        RouteSpec::post("/forwarding/rules", admin, forwarding::create_rule),
        RouteSpec::post(
            "/forwarding/rules/{id}/enabled",
            admin,
            forwarding::set_enabled,
        ),
        RouteSpec::post(
            "/forwarding/rules/{id}/delete",
            admin,
            forwarding::delete_rule,
        ),
        RouteSpec::get("/playbooks", admin, playbooks::playbooks),
        RouteSpec::post("/playbooks", admin, playbooks::create_playbook),
        RouteSpec::get("/playbooks/{id}", admin, playbooks::playbook),
        RouteSpec::post("/playbooks/{id}/enabled", admin, playbooks::set_enabled),
        RouteSpec::post("/playbooks/{id}/delete", admin, playbooks::delete_playbook),
    ]
}
