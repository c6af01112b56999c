//! The console's threat intelligence: the public key packages must be signed with, the package
//! in force, and matching the inventory against it.
//!
//! Matching runs off the request path. One thread, started with the first package, owns the
//! package in force and its [`Matcher`] (indexed once per package: the matcher borrows the
//! package's records, so both live in that thread's frame and are replaced together when a newer
//! package arrives). A background task walks the devices whose identity was not yet matched
//! against the package in force — every device after an upload, a device whose vendor, model,
//! product code or firmware changed after an ingest — in pages, has the thread match each page and
//! stores the page's results in one transaction.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ironward_intel::ti::matching::{DeviceMatches, Matcher};
use ironward_intel::ti::normalize::{DeviceProduct, Sourced};
use ironward_intel::ti::package::{Package, PackageError, PackageInfo};
use ironward_intel::ti::sign::VerifyingKey;
use ironward_store::{
    DeviceMatchResult, DeviceRef, MatchCandidate, PackageId, Store, UnmatchedProduct,
    VulnerabilityMatch,
};
use serde::Serialize;
use tokio::sync::{oneshot, Notify};

use crate::state::now;

/// Devices read, matched and stored per transaction.
pub const MATCH_PAGE: i64 = 1_000;

/// After an ingest wakes matching, it waits this long so that a burst of batches is one pass.
const SETTLE: Duration = Duration::from_secs(2);

/// Matching also looks for changed devices this often without being woken.
const RESCAN: Duration = Duration::from_secs(300);

/// How the last matching pass went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchStatus {
    /// A pass is running.
    pub running: bool,
    /// Devices matched by the last finished pass.
    pub devices: u64,
    /// Its duration in seconds.
    pub seconds: f64,
    /// When it finished (RFC 3339).
    pub finished_at: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A job for the matching thread.
enum Job {
    /// Replace the package in force.
    Install(PackageId, Box<Package>),
    /// Match these devices; the answer goes back with the package they were matched against.
    Match(
        Vec<MatchCandidate>,
        oneshot::Sender<(PackageId, Vec<DeviceMatchResult>)>,
    ),
}

/// The console's threat-intelligence state (in [`crate::AppState`]).
#[derive(Debug)]
pub struct Intel {
    key: Option<VerifyingKey>,
    inner: Mutex<Inner>,
    wake: Arc<Notify>,
    status: Arc<Mutex<MatchStatus>>,
    /// Told when a pass stored matches: vulnerabilities are part of the posture scores.
    posture: crate::posture_job::PostureNudge,
}

#[derive(Debug, Default)]
struct Inner {
    /// The package in force: its id and header.
    in_force: Option<(PackageId, PackageInfo)>,
    /// The matching thread's queue (started with the first package).
    jobs: Option<std::sync::mpsc::Sender<Job>>,
}

impl Intel {
    /// Threat intelligence verified with `key` (`None`: uploads are refused); `posture` is
    /// nudged after each pass that matched devices.
    pub fn new(key: Option<VerifyingKey>, posture: crate::posture_job::PostureNudge) -> Self {
        Self {
            key,
            inner: Mutex::new(Inner::default()),
            wake: Arc::new(Notify::new()),
            status: Arc::new(Mutex::new(MatchStatus::default())),
            posture,
        }
    }

    /// The key packages are verified with.
    pub fn key(&self) -> Option<&VerifyingKey> {
        self.key.as_ref()
    }

    /// The package in force, as this console loaded it.
    pub fn in_force(&self) -> Option<(PackageId, PackageInfo)> {
        self.lock().in_force.clone()
    }

    /// How matching is going.
    pub fn status(&self) -> MatchStatus {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Verifies `bytes` with the console's key and refuses a package not newer than the one in
    /// force. CPU work (signature, inflating, parsing): call it from a blocking task.
    pub fn verify(&self, bytes: &[u8]) -> Result<Package, UploadError> {
        let key = self.key.as_ref().ok_or(UploadError::NoKey)?;
        let package = Package::from_bytes(bytes, key)?;
        package.install_over(self.in_force().as_ref().map(|(_, info)| info))?;
        Ok(package)
    }

    /// Puts a stored, verified package in force and has every device matched against it.
    pub fn install(&self, store: &Store, id: PackageId, package: Package) {
        let info = package.info().clone();
        let mut inner = self.lock();
        if inner
            .in_force
            .as_ref()
            .is_some_and(|(_, current)| current.sequence >= info.sequence)
        {
            return;
        }
        if inner.jobs.is_none() {
            inner.jobs = Some(spawn_matcher());
            tokio::spawn(run(
                store.clone(),
                Arc::clone(&self.wake),
                Arc::clone(&self.status),
                inner.jobs.clone(),
                self.posture.clone(),
            ));
        }
        if let Some(jobs) = &inner.jobs {
            if jobs.send(Job::Install(id, Box::new(package))).is_err() {
                tracing::error!("the matching thread is gone: vulnerabilities are not matched");
            }
        }
        inner.in_force = Some((id, info));
        drop(inner);
        self.wake.notify_one();
    }

    /// Devices may have changed (an ingest committed): match those that did.
    pub fn devices_changed(&self) {
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Loads the package in force from the store at start, verified again with the console's key
/// (a package stored under another key is not used, and said so).
pub async fn load_in_force(intel: &Intel, store: &Store) {
    let stored = match store.package_in_force().await {
        Ok(Some(stored)) => stored,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "reading the threat-intelligence package in force");
            return;
        }
    };
    if intel.key().is_none() {
        tracing::warn!(
            package = %stored.file_name,
            "no --ti-pubkey: the stored threat-intelligence package is not used"
        );
        return;
    }
    let bytes = match store.package_bytes(stored.id).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "reading the threat-intelligence package in force");
            return;
        }
    };
    let key = intel.key().cloned();
    let verified =
        tokio::task::spawn_blocking(move || key.map(|key| Package::from_bytes(&bytes, &key))).await;
    match verified {
        Ok(Some(Ok(package))) => intel.install(store, stored.id, package),
        Ok(Some(Err(error))) => tracing::error!(
            package = %stored.file_name,
            %error,
            "the stored threat-intelligence package does not verify with --ti-pubkey: not used"
        ),
        Ok(None) | Err(_) => {}
    }
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The console was started without a public key.
    #[error(
        "threat-intelligence uploads are refused: the console has no public key to verify \
         packages with (start it with --ti-pubkey FILE)"
    )]
    NoKey,
    /// The package failed verification or is not newer.
    #[error("package refused: {0}")]
    Package(#[from] PackageError),
}

fn spawn_matcher() -> std::sync::mpsc::Sender<Job> {
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    let spawned = std::thread::Builder::new()
        .name("ironward-ti-match".to_owned())
        .spawn(move || matcher_thread(&queue));
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the matching thread");
    }
    jobs
}

/// Owns the package in force and its matcher; answers match jobs until a newer package comes
/// (then indexes that one) or every sender is gone.
fn matcher_thread(queue: &std::sync::mpsc::Receiver<Job>) {
    let mut next: Option<(PackageId, Box<Package>)> = None;
    loop {
        let (id, package) = match next.take() {
            Some(p) => p,
            None => match queue.recv() {
                Ok(Job::Install(id, package)) => (id, package),
                // No package yet: nothing to match against.
                Ok(Job::Match(_, reply)) => {
                    drop(reply);
                    continue;
                }
                Err(_) => return,
            },
        };
        let started = Instant::now();
        let matcher = Matcher::new(package.vulnerabilities());
        tracing::info!(
            package = %package.info().name,
            products = matcher.products(),
            seconds = started.elapsed().as_secs_f64(),
            "threat-intelligence package indexed for matching"
        );
        loop {
            match queue.recv() {
                Ok(Job::Install(id, package)) => {
                    next = Some((id, package));
                    break;
                }
                Ok(Job::Match(devices, reply)) => {
                    let results = devices.iter().map(|d| match_one(&matcher, d)).collect();
                    let _ = reply.send((id, results));
                }
                Err(_) => return,
            }
        }
    }
}

fn sourced(value: &Option<(String, String)>) -> Option<Sourced> {
    value.as_ref().map(|(value, source)| Sourced {
        value: value.clone(),
        source: source.clone(),
    })
}

/// Matches one device of the inventory.
pub fn match_one(matcher: &Matcher<'_>, device: &MatchCandidate) -> DeviceMatchResult {
    let product = DeviceProduct::from_parts(
        sourced(&device.vendor),
        sourced(&device.model),
        sourced(&device.product_code),
        sourced(&device.firmware),
    );
    let DeviceMatches { matches, unmatched } = matcher.match_device(&product);
    DeviceMatchResult {
        device: device.device,
        site: device.site,
        identity: device.identity.clone(),
        vulnerabilities: matches
            .into_iter()
            .map(|m| VulnerabilityMatch {
                cve: m.cve.to_owned(),
                cvss: m.cvss,
                kev: m.kev,
                advisories: m.advisories.to_vec(),
                product: m.product.to_owned(),
                versions: m.versions.to_owned(),
                fixed_in: m.fixed_in.to_vec(),
                confidence: m.confidence.as_str().to_owned(),
                reason: m.reason,
            })
            .collect(),
        unmatched: unmatched.map(|u| UnmatchedProduct {
            vendor: u.vendor,
            model: u.model,
            order_number: u.order_number,
            reason: u.reason.as_str().to_owned(),
            explanation: u.explanation,
        }),
    }
}

/// The matching task: waits to be woken (or [`RESCAN`]), then matches every device not yet
/// matched against the package in force with its current identity.
async fn run(
    store: Store,
    wake: Arc<Notify>,
    status: Arc<Mutex<MatchStatus>>,
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    posture: crate::posture_job::PostureNudge,
) {
    let Some(jobs) = jobs else { return };
    loop {
        let _ = tokio::time::timeout(RESCAN, wake.notified()).await;
        tokio::time::sleep(SETTLE).await;
        set_status(&status, |s| s.running = true);
        let started = Instant::now();
        let outcome = match_pending(&store, &jobs).await;
        set_status(&status, |s| {
            s.running = false;
            s.finished_at = Some(now().to_rfc3339());
            match &outcome {
                Ok(devices) => {
                    s.devices = *devices;
                    s.seconds = started.elapsed().as_secs_f64();
                    s.error = None;
                }
                Err(error) => s.error = Some(error.clone()),
            }
        });
        match outcome {
            Ok(0) => {}
            Ok(devices) => {
                tracing::info!(
                    devices,
                    seconds = started.elapsed().as_secs_f64(),
                    "devices matched against the threat-intelligence package"
                );
                posture.changed();
            }
            Err(error) => tracing::error!(%error, "matching devices"),
        }
    }
}

fn set_status(status: &Mutex<MatchStatus>, change: impl FnOnce(&mut MatchStatus)) {
    let mut guard = status.lock().unwrap_or_else(|e| e.into_inner());
    change(&mut guard);
}

/// One pass: pages of devices to match, each matched by the thread and stored. Returns how
/// many devices were matched.
async fn match_pending(store: &Store, jobs: &std::sync::mpsc::Sender<Job>) -> Result<u64, String> {
    let mut matched = 0u64;
    let mut after = DeviceRef(0);
    loop {
        // Which package is in force is the thread's answer: ask with an empty page first.
        let (package, _) = ask(jobs, Vec::new()).await?;
        let page = store
            .devices_to_match(package, after, MATCH_PAGE)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else {
            return Ok(matched);
        };
        after = last.device;
        let count = page.len() as u64;
        let (package, results) = ask(jobs, page).await?;
        store
            .store_matches(package, &results, now())
            .await
            .map_err(|e| e.to_string())?;
        matched += count;
    }
}

async fn ask(
    jobs: &std::sync::mpsc::Sender<Job>,
    devices: Vec<MatchCandidate>,
) -> Result<(PackageId, Vec<DeviceMatchResult>), String> {
    let (reply, answer) = oneshot::channel();
    jobs.send(Job::Match(devices, reply))
        .map_err(|_| "the matching thread is gone".to_owned())?;
    answer
        .await
        .map_err(|_| "no package in force to match against".to_owned())
}
