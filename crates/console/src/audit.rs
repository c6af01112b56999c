//! Writing the audit log: logins, failures and every change, with user, time and address.
//! An audit write that fails is logged loudly but does not undo the action it records (the
//! action is already committed); the log is append-only in the store.

use std::net::IpAddr;

use ironward_store::AuditEntry;

use crate::access::UserPrincipal;
use crate::state::{now, AppState};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused (wrong password, locked, not permitted).
    Denied,
    /// Attempted and failed.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Records `action` on `target` by `user` (or an anonymous caller) from `address`. `detail`
/// must never hold a secret.
pub async fn record(
    state: &AppState,
    user: Option<&UserPrincipal>,
    address: IpAddr,
    action: &str,
    target: &str,
    detail: &str,
    outcome: Outcome,
) {
    record_named(
        state,
        user.map(|u| (u.id, u.name.as_str())),
        address,
        action,
        target,
        detail,
        outcome,
    )
    .await;
}

/// [`record`] for callers that know the user by id and name only (sign-in).
pub async fn record_named(
    state: &AppState,
    user: Option<(ironward_store::UserId, &str)>,
    address: IpAddr,
    action: &str,
    target: &str,
    detail: &str,
    outcome: Outcome,
) {
    let entry = AuditEntry {
        at: now(),
        user_id: user.map(|(id, _)| id),
        user_name: user.map(|(_, name)| name.to_owned()),
        address: address.to_string(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
        outcome: outcome.as_str().to_owned(),
    };
    if let Err(error) = state.store().append_audit(&entry).await {
        tracing::error!(%error, action, target, "could not write the audit log");
    }
}
