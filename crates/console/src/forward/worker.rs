//! The background task `ironward serve` starts: every poll it scans the alerts table into the
//! queue and playbook runs (by the store's cursor), delivers the due queue rows and runs the
//! due playbook steps. Everything it needs is in the database, so several rounds, a restart or
//! a second console lose and duplicate nothing beyond an at-least-once resend of a row whose
//! acceptance was not yet recorded.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use ironward_store::{Store, StoreError};

use super::queue::{self, Connections};
use crate::state::now;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Pause between rounds.
    pub poll: Duration,
    /// Alerts scanned per round.
    pub scan_batch: i64,
    /// Queue rows (and pending playbook runs) kept at most; beyond, occurrences are counted as
    /// overflow.
    pub max_queue: i64,
    /// Rows delivered per round.
    pub deliver_batch: i64,
    /// First retry delay (doubles per failed attempt).
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// Time limit of one delivery.
    pub timeout: Duration,
    /// Attempts after which a playbook run is given up (marked failed).
    pub max_run_attempts: i64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            scan_batch: 500,
            max_queue: 100_000,
            deliver_batch: 200,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(15),
            max_run_attempts: 20,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Queue rows and runs created by the scan.
    pub queued: usize,
    /// Rows delivered.
    pub delivered: usize,
    /// Rows whose delivery failed (retried later).
    pub failed: usize,
    /// Playbook steps attempted.
    pub playbook_runs: usize,
}

/// One round: scan, deliver, run playbooks.
pub async fn round(store: &Store, config: &WorkerConfig) -> Result<Round, StoreError> {
    let mut out = Round::default();
    let scan = store
        .forward_scan(config.scan_batch, config.max_queue, now())
        .await?;
    out.queued = scan.queued + scan.runs;
    if scan.overflow > 0 {
        tracing::warn!(
            dropped = scan.overflow,
            "forwarding queue full: occurrences dropped"
        );
    }
    let due = store.forward_due(now(), config.deliver_batch).await?;
    let mut connections = Connections::default();
    let mut down: HashSet<i64> = HashSet::new();
    for item in &due {
        if down.contains(&item.rule_id) {
            continue;
        }
        match queue::deliver(&mut connections, item, config.timeout).await {
            Ok(()) => {
                store.forward_delivered(item.id, now()).await?;
                out.delivered += 1;
            }
            Err(error) => {
                out.failed += 1;
                let attempts = item.attempts.saturating_add(1);
                let next = queue::later(
                    now(),
                    queue::backoff(attempts, config.backoff_base, config.backoff_max),
                );
                tracing::warn!(rule = item.rule_id, attempts, %error, "forwarding failed; will retry");
                store
                    .forward_failed(item.id, &error.to_string(), next)
                    .await?;
                store.forward_defer_rule(item.rule_id, next).await?;
                down.insert(item.rule_id);
            }
        }
    }
    out.playbook_runs = super::playbooks::run_due(store, config, &mut connections).await?;
    Ok(out)
}

/// Starts the worker on the tokio runtime; it stops when `shutdown` completes (between rounds
/// or during the pause). A failing round (database trouble) is logged and retried next poll.
pub fn spawn(
    store: Store,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                result = round(&store, &config) => {
                    if let Err(error) = result {
                        tracing::error!(%error, "forwarding round failed");
                    }
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(config.poll) => {}
            }
        }
    })
}
