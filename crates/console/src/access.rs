//! Who may do what: the four roles, the permissions each grants, and the principal a request
//! acts as (a user by session or API token, or a sensor by its credential).

use ironward_store::{Scope, SensorId, SiteId, UserId};
use serde::Serialize;

/// A user's role. Admin does everything; analyst does security work; operator runs the
/// operations view and acknowledges operational alerts; viewer only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, sites, sensors and settings.
    Admin,
    /// Security work: alerts, devices, groups, reports.
    Analyst,
    /// Operations: the inventory and map, operational alerts.
    Operator,
    /// Read-only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Operator, Role::Viewer];

    /// The name stored and shown (`admin`, `analyst`, `operator`, `viewer`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// The role called `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether this role grants `permission`.
    pub const fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(
                permission,
                P::ViewInventory
                    | P::ViewAlerts
                    | P::ManageAlerts
                    | P::ManageOperationalAlerts
                    | P::ManageGroups
                    | P::ViewReports
                    | P::ManageRecommendations
                    | P::ManageOwnTokens
            ),
            Role::Operator => matches!(
                permission,
                P::ViewInventory | P::ViewAlerts | P::ManageOperationalAlerts | P::ManageOwnTokens
            ),
            Role::Viewer => matches!(
                permission,
                P::ViewInventory | P::ViewAlerts | P::ManageOwnTokens
            ),
        }
    }
}

/// What a route needs. Each route of the console names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Devices, connections, events, the map, sites and sensors of the caller's sites.
    ViewInventory,
    /// Alerts of the caller's sites.
    ViewAlerts,
    /// Alert workflow on security alerts (status, learn, mute, comments).
    ManageAlerts,
    /// Acknowledging operational alerts.
    ManageOperationalAlerts,
    /// Device groups.
    ManageGroups,
    /// Risk assessment reports of the caller's sites (downloaded as PDF or HTML).
    ViewReports,
    /// Recommendation states: accepting a risk, recording an exception, making one active
    /// again.
    ManageRecommendations,
    /// The caller's own API tokens.
    ManageOwnTokens,
    /// Sites, zones, sensors and enrolment tokens.
    ManageSites,
    /// Users and their roles, scopes and tokens.
    ManageUsers,
    /// The audit log.
    ViewAudit,
    /// Console settings.
    ManageSettings,
}

/// How a request may be made: with no credential at all (an explicit, short list), as an
/// enrolled sensor, or as a user holding a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (the login page, static assets, sensor enrolment — which carries its own
    /// one-time token).
    Public,
    /// An enrolled sensor's credential.
    Sensor,
    /// Any signed-in user, whatever the role (signing out, one's own profile).
    SignedIn,
    /// A signed-in user (session cookie or API token) whose role grants the permission.
    User(Permission),
}

/// A signed-in user, as the handlers see it.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    /// The user's id.
    pub id: UserId,
    /// The user's name.
    pub name: String,
    /// The user's role.
    pub role: Role,
    /// The sites the user may see.
    pub scope: Scope,
    /// How the user authenticated.
    pub via: Credential,
    /// The session's CSRF token (sessions only).
    pub csrf: Option<String>,
}

impl UserPrincipal {
    /// Whether the user may see rows of `site`.
    pub fn sees(&self, site: SiteId) -> bool {
        self.scope.allows(site)
    }
}

/// How a user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie); state-changing requests need the CSRF token.
    Session,
    /// An API token (`Authorization: Bearer`).
    ApiToken,
}

/// An enrolled sensor, as the ingest handler sees it.
#[derive(Debug, Clone)]
pub struct SensorPrincipal {
    /// The sensor's id.
    pub id: SensorId,
    /// Its name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grant_what_the_issue_says() {
        use Permission as P;
        let all = [
            P::ViewInventory,
            P::ViewAlerts,
            P::ManageAlerts,
            P::ManageOperationalAlerts,
            P::ManageGroups,
            P::ViewReports,
            P::ManageRecommendations,
            P::ManageOwnTokens,
            P::ManageSites,
            P::ManageUsers,
            P::ViewAudit,
            P::ManageSettings,
        ];
        assert!(all.iter().all(|p| Role::Admin.allows(*p)));
        for role in [Role::Analyst, Role::Operator, Role::Viewer] {
            for p in [
                P::ManageSites,
                P::ManageUsers,
                P::ViewAudit,
                P::ManageSettings,
            ] {
                assert!(!role.allows(p), "{role:?} {p:?}");
            }
            assert!(role.allows(P::ViewInventory));
        }
        assert!(Role::Analyst.allows(P::ManageAlerts));
        assert!(!Role::Operator.allows(P::ManageAlerts));
        assert!(Role::Operator.allows(P::ManageOperationalAlerts));
        assert!(!Role::Viewer.allows(P::ManageOperationalAlerts));
        assert!(!Role::Viewer.allows(P::ManageGroups));
        assert!(Role::Analyst.allows(P::ManageRecommendations));
        assert!(!Role::Operator.allows(P::ManageRecommendations));
        assert!(!Role::Viewer.allows(P::ManageRecommendations));
        assert!(Role::Analyst.allows(P::ViewReports));
        assert!(!Role::Operator.allows(P::ViewReports));
        assert!(!Role::Viewer.allows(P::ViewReports));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
