//! The uploader: sends the outbox to the console, oldest batch first, until told to stop.
//!
//! What each answer does:
//!
//! | answer                         | the batch file                                  |
//! |--------------------------------|-------------------------------------------------|
//! | 200 committed / duplicate      | removed                                         |
//! | 400 (malformed)                | moved to `rejected/` with the reason; logged    |
//! | 413 (too large)                | replaced by its two halves, sent next           |
//! | 401 (credential refused)       | kept; the sensor stops (it must re-enrol)       |
//! | 5xx, unreachable, wrong cert.  | kept; retried after a backoff (cap 30 s), forever |
//! | unreadable file                | moved to `corrupt/` with the error; logged      |

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ironward_model::Batch;

use super::backoff::{Backoff, BackoffConfig};
use super::client::{ClientError, ConsoleClient, Credential, IngestOutcome, Ingested};
use super::outbox::{Entry, Outbox, OutboxError};
use super::run::SensorControl;
use super::site_sync::SiteSync;
use super::ti_sync::TiSync;
use super::windows::split_batch;

/// What the uploader did, for the run's summary and for tests.
#[derive(Debug, Default)]
pub struct UploadCounters {
    /// Batches the console committed.
    pub committed: AtomicU64,
    /// Batches the console already had.
    pub duplicates: AtomicU64,
    /// Batches the console refused as malformed.
    pub rejected: AtomicU64,
    /// Batches split because the console found them too large.
    pub split: AtomicU64,
    /// Outbox files that were not readable batches.
    pub corrupt: AtomicU64,
    /// Failed attempts that will be retried.
    pub retries: AtomicU64,
}

/// Why the uploader stopped for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// Occurs when the console refuses the sensor's credential (revoked, or the console's
    /// database was replaced).
    #[error(
        "the console refused this sensor's credential ({0}); remove credential.json from the \
         data directory and enrol again with a new token"
    )]
    Unauthorized(String),
    /// Occurs when the outbox cannot be read or changed (disk failure, permissions).
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// Sleeps for `delay`, waking early if the run is aborted.
fn pause(control: &SensorControl, delay: Duration) {
    let until = Instant::now() + delay;
    while !control.is_aborted() {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Sends batches until the run is aborted, or until the capture is done and the outbox empty;
/// what the answers say about the site goes to `site`, and its package to `ti`.
#[allow(clippy::too_many_arguments)]
pub fn upload(
    outbox: &Outbox,
    client: &ConsoleClient,
    credential: &Credential,
    backoff: BackoffConfig,
    control: &SensorControl,
    counters: &UploadCounters,
    site: &mut SiteSync,
    ti: &mut TiSync,
) -> Result<(), UploadError> {
    let mut backoff = Backoff::new(backoff);
    let mut failing_since: Option<Instant> = None;
    loop {
        if control.is_aborted() {
            return Ok(());
        }
        let Some(entry) = outbox.oldest() else {
            // The capture side pushes its last batch before it says it is done: look again
            // after reading the flag, or a batch pushed in between would be left behind.
            if control.is_capture_done() && outbox.is_empty() {
                return Ok(());
            }
            outbox.wait_for_change(Duration::from_millis(200));
            continue;
        };
        let Some(body) = read_batch(outbox, &entry, counters)? else {
            continue;
        };
        let (outcome, state) = client.ingest_with_state(credential, &body);
        match outcome {
            IngestOutcome::Acknowledged(how) => {
                outbox.remove(&entry)?;
                if let Some(state) = state {
                    site.on_ack(client, credential, state);
                    ti.on_ack(client, credential, state);
                }
                let counter = match how {
                    Ingested::Committed => &counters.committed,
                    Ingested::Duplicate => &counters.duplicates,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        seconds = since.elapsed().as_secs(),
                        "the console is reachable again"
                    );
                }
                tracing::debug!(batch = %entry.id, ?how, "acknowledged");
                backoff.reset();
            }
            IngestOutcome::Rejected(reason) => {
                tracing::error!(batch = %entry.id, %reason, "the console rejected a batch as malformed; kept in outbox/rejected");
                outbox.reject(&entry, &reason)?;
                counters.rejected.fetch_add(1, Ordering::Relaxed);
            }
            IngestOutcome::TooLarge => split(outbox, &entry, &body, counters)?,
            IngestOutcome::Unauthorized(reason) => return Err(UploadError::Unauthorized(reason)),
            IngestOutcome::Retry(error) => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                if failing_since.is_none() {
                    failing_since = Some(Instant::now());
                }
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                if matches!(error, ClientError::PinMismatch { .. }) {
                    // Not an outage: someone else answers at the console's address.
                    tracing::error!(pending = outbox.len(), retry_in_ms, "{error}");
                } else {
                    tracing::warn!(pending = outbox.len(), retry_in_ms, "{error}");
                }
                pause(control, delay);
            }
        }
    }
}

/// The bytes of a pending batch, or `None` (after setting the file aside) when it is not one.
fn read_batch(
    outbox: &Outbox,
    entry: &Entry,
    counters: &UploadCounters,
) -> Result<Option<Vec<u8>>, UploadError> {
    let problem = match outbox.read(entry) {
        Err(OutboxError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            // Deleted by hand while pending: forget it.
            tracing::warn!(batch = %entry.id, "outbox file vanished");
            outbox.remove(entry)?;
            return Ok(None);
        }
        Err(OutboxError::Io { source, .. }) if source.kind() == std::io::ErrorKind::InvalidData => {
            format!("unreadable: {source}")
        }
        Err(other) => return Err(other.into()),
        Ok(body) => match serde_json::from_slice::<Batch>(&body) {
            Ok(batch) if batch.id == entry.id => return Ok(Some(body)),
            Ok(batch) => format!(
                "the file is named for batch {:?} but holds batch {:?}",
                entry.id,
                batch.id.chars().take(80).collect::<String>()
            ),
            Err(e) => format!("not a batch (torn or damaged file): {e}"),
        },
    };
    tracing::error!(batch = %entry.id, %problem, "outbox file set aside in outbox/corrupt");
    outbox.quarantine(entry, &problem)?;
    counters.corrupt.fetch_add(1, Ordering::Relaxed);
    Ok(None)
}

fn split(
    outbox: &Outbox,
    entry: &Entry,
    body: &[u8],
    counters: &UploadCounters,
) -> Result<(), UploadError> {
    // `read_batch` parsed this body already.
    let halves = serde_json::from_slice::<Batch>(body)
        .ok()
        .and_then(split_batch)
        .and_then(|(a, b)| {
            Some([
                (a.id.clone(), serde_json::to_vec(&a).ok()?),
                (b.id.clone(), serde_json::to_vec(&b).ok()?),
            ])
        });
    match halves {
        Some(parts) => {
            tracing::warn!(batch = %entry.id, bytes = body.len(), "the console found a batch too large; sending it in two halves");
            outbox.replace(entry, &parts)?;
            counters.split.fetch_add(1, Ordering::Relaxed);
        }
        None => {
            let reason = "larger than the console accepts, and cannot be split further";
            tracing::error!(batch = %entry.id, bytes = body.len(), "{reason}; kept in outbox/rejected");
            outbox.reject(entry, reason)?;
            counters.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}
