//! Playbooks: on alerts matching a filter, ordered actions — notify through a forwarding rule,
//! a webhook to a ticketing system, tag or group the alert's devices, raise the severity,
//! close as expected. The store records each run (one per playbook and alert occurrence), the
//! step it reached and a log line per action; a failing step is retried with backoff from that
//! step (the steps before it already took effect), and a run is given up after
//! [`WorkerConfig::max_run_attempts`](super::worker::WorkerConfig) attempts.

use ironward_store::{AlertStatus, ForwardAlert, GroupId, PlaybookRun, Scope, Store, StoreError};
use serde::{Deserialize, Serialize};

use super::queue::{self, Connections};
use super::worker::WorkerConfig;
use super::{Destination, ForwardError, TlsTrust};
use crate::state::now;

/// Most actions a playbook has.
pub const MAX_ACTIONS: usize = 20;

/// One action of a playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Send the alert through a forwarding rule's destination.
    Notify {
        /// The rule's id.
        rule: i64,
    },
    /// POST the alert's JSON to a ticketing system (signed like forwarding webhooks when a
    /// secret is given; the secret is never shown back).
    Webhook {
        /// `http(s)://` URL.
        url: String,
        /// HMAC key.
        #[serde(default)]
        secret: String,
        /// TLS verification for `https`.
        #[serde(default)]
        tls: TlsTrust,
    },
    /// Add the alert's devices to a group named `tag` (created when missing).
    Tag {
        /// The tag (a group name).
        tag: String,
    },
    /// Add the alert's devices to an existing group.
    Group {
        /// The group's id.
        group: i64,
    },
    /// Raise the alert's severity to `to` (never lowers it).
    RaiseSeverity {
        /// `critical`, `major`, `minor` or `warning`.
        to: String,
    },
    /// Close the alert as expected behaviour.
    CloseAsExpected,
}

/// Parses and checks a playbook's action list.
pub fn parse_actions(value: &serde_json::Value) -> Result<Vec<Action>, ForwardError> {
    let actions: Vec<Action> =
        serde_json::from_value(value.clone()).map_err(|e| ForwardError::Invalid(e.to_string()))?;
    if actions.is_empty() || actions.len() > MAX_ACTIONS {
        return Err(ForwardError::Invalid(format!(
            "a playbook has 1 to {MAX_ACTIONS} actions"
        )));
    }
    for action in &actions {
        match action {
            Action::Webhook { url, tls, .. } => {
                Destination::Webhook {
                    url: url.clone(),
                    tls: tls.clone(),
                }
                .validate()?;
            }
            Action::RaiseSeverity { to }
                if !["critical", "major", "minor", "warning"].contains(&to.as_str()) =>
            {
                return Err(ForwardError::Invalid(format!("unknown severity {to:?}")));
            }
            Action::Tag { tag } if tag.trim().is_empty() || tag.len() > 200 => {
                return Err(ForwardError::Invalid("a tag is 1 to 200 bytes".to_owned()));
            }
            _ => {}
        }
    }
    Ok(actions)
}

/// The actions as shown back: webhook secrets replaced by whether one is set.
pub fn redacted(value: &serde_json::Value) -> serde_json::Value {
    let mut value = value.clone();
    if let Some(list) = value.as_array_mut() {
        for action in list {
            if let Some(obj) = action.as_object_mut() {
                if let Some(secret) = obj.remove("secret") {
                    let set = secret.as_str().is_some_and(|s| !s.is_empty());
                    obj.insert("has_secret".to_owned(), serde_json::Value::Bool(set));
                }
            }
        }
    }
    value
}

fn rank(severity: &str) -> usize {
    ["critical", "major", "minor", "warning"]
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(4)
}

/// Why an action failed: retried (a receiver down, the database busy) or not (a rule or group
/// that no longer exists).
enum StepError {
    Retry(String),
    Fatal(String),
}

impl From<StoreError> for StepError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound | StoreError::Invalid(_) => Self::Fatal(e.to_string()),
            other => Self::Retry(other.to_string()),
        }
    }
}

async fn group_devices(
    store: &Store,
    alert: &ForwardAlert,
    group: GroupId,
) -> Result<usize, StepError> {
    let refs = store
        .forward_device_refs(alert.site_id, &alert.devices)
        .await?;
    for device in &refs {
        store.add_group_member(&Scope::All, group, *device).await?;
    }
    Ok(refs.len())
}

async fn run_action(
    store: &Store,
    config: &WorkerConfig,
    connections: &mut Connections,
    action: &Action,
    alert: &ForwardAlert,
    who: &str,
) -> Result<String, StepError> {
    match action {
        Action::Notify { rule } => {
            let r = store.forward_rule_secret(*rule).await?;
            let destination = Destination::from_json(&r.0.destination)
                .map_err(|e| StepError::Fatal(e.to_string()))?;
            queue::deliver_to(
                connections,
                r.0.id,
                &destination,
                &r.1,
                alert,
                config.timeout,
            )
            .await
            .map_err(|e| StepError::Retry(e.to_string()))?;
            Ok(format!("notified through rule {:?}", r.0.name))
        }
        Action::Webhook { url, secret, tls } => {
            let parsed =
                super::webhook::Url::parse(url).map_err(|e| StepError::Fatal(e.to_string()))?;
            let body = super::json(alert).to_string();
            tokio::time::timeout(
                config.timeout,
                super::webhook::post(&parsed, tls, secret, body.as_bytes()),
            )
            .await
            .map_err(|_| StepError::Retry("webhook timed out".to_owned()))?
            .map_err(|e| StepError::Retry(e.to_string()))?;
            Ok(format!("webhook {} accepted", parsed.host))
        }
        Action::Tag { tag } => {
            let group = match store
                .list_groups()
                .await?
                .into_iter()
                .find(|g| &g.name == tag)
            {
                Some(g) => g.id,
                None => match store
                    .create_group(tag, "tag set by a playbook", now())
                    .await
                {
                    Ok(g) => g.id,
                    // Created meanwhile by another run.
                    Err(StoreError::Conflict(_)) => {
                        return Err(StepError::Retry(
                            "tag group created concurrently".to_owned(),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            let n = group_devices(store, alert, group).await?;
            Ok(format!("tagged {n} device(s) {tag:?}"))
        }
        Action::Group { group } => {
            let n = group_devices(store, alert, GroupId(*group)).await?;
            Ok(format!("added {n} device(s) to group {group}"))
        }
        Action::RaiseSeverity { to } => {
            if rank(to) < rank(&alert.severity) {
                store
                    .forward_set_alert_severity(alert.id, to, who, now())
                    .await?;
                Ok(format!("severity raised from {} to {to}", alert.severity))
            } else {
                Ok(format!("severity already {}", alert.severity))
            }
        }
        Action::CloseAsExpected => {
            store
                .forward_set_alert_status(alert.id, AlertStatus::Closed, who, now())
                .await?;
            Ok("closed as expected".to_owned())
        }
    }
}

/// Runs one playbook run from its current step until it finishes or a step fails.
async fn run_one(
    store: &Store,
    config: &WorkerConfig,
    connections: &mut Connections,
    run: &PlaybookRun,
) -> Result<(), StoreError> {
    let mut lines = Vec::new();
    let actions = match parse_actions(&run.actions) {
        Ok(actions) => actions,
        Err(e) => {
            lines.push(format!("actions unreadable: {e}"));
            return store
                .playbook_run_progress(run.id, run.step, "failed", &lines, now(), now())
                .await;
        }
    };
    // The alert's history names the playbook that changed it.
    let who = format!("playbook {}", run.playbook_id);
    let mut step = run.step;
    let start = usize::try_from(step).unwrap_or(usize::MAX);
    for (i, action) in actions.iter().enumerate().skip(start) {
        match run_action(store, config, connections, action, &run.alert, &who).await {
            Ok(line) => {
                lines.push(format!("step {}: {line}", i + 1));
                step += 1;
            }
            Err(StepError::Fatal(e)) => {
                lines.push(format!("step {}: failed: {e}", i + 1));
                return store
                    .playbook_run_progress(run.id, step, "failed", &lines, now(), now())
                    .await;
            }
            Err(StepError::Retry(e)) => {
                let attempts = run.attempts.saturating_add(1);
                let give_up = attempts >= config.max_run_attempts;
                lines.push(format!(
                    "step {}: failed: {e}{}",
                    i + 1,
                    if give_up {
                        "; giving up"
                    } else {
                        "; will retry"
                    }
                ));
                let next = queue::later(
                    now(),
                    queue::backoff(attempts, config.backoff_base, config.backoff_max),
                );
                let status = if give_up { "failed" } else { "pending" };
                return store
                    .playbook_run_progress(run.id, step, status, &lines, next, now())
                    .await;
            }
        }
    }
    store
        .playbook_run_progress(run.id, step, "done", &lines, now(), now())
        .await
}

/// Runs the due playbook runs; returns how many were attempted.
pub async fn run_due(
    store: &Store,
    config: &WorkerConfig,
    connections: &mut Connections,
) -> Result<usize, StoreError> {
    let runs = store.playbook_runs_due(now(), config.deliver_batch).await?;
    for run in &runs {
        run_one(store, config, connections, run).await?;
    }
    Ok(runs.len())
}
