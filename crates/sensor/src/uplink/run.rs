//! A whole sensor run: enrol (once), capture in windows into the outbox, upload.
//!
//! Two threads: the calling thread captures (capture files one after the other, or a live
//! interface) and writes each window's batches to the outbox; an uploader thread sends them.
//! With capture files the run ends once every file is read and the console acknowledged every
//! batch; with an interface it runs until [`SensorControl::stop`], which flushes the current
//! window to the outbox and gives the uploader a short grace period.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ironward_model::Batch;

use super::alert_deltas::AlertDeltas;
use super::backoff::BackoffConfig;
use super::client::{ClientError, ConsoleClient};
use super::enrol::{self, now, EnrolError, EnrolRequest, Enrolment};
use super::files::{file_identity, FinishedFiles};
use super::health::HealthTracker;
use super::outbox::{Outbox, OutboxError, OutboxLimits, Pushed};
use super::pin::{Fingerprint, PinVerifier};
use super::site_sync::SiteSync;
use super::ti_sync::TiSync;
use super::uploader::{upload, UploadCounters, UploadError};
use super::windows::{file_series, file_window_id, live_window_id, BatchLimits, WindowBatcher};
use crate::capture;
use crate::detect::{BaselineFile, Detector, DetectorConfig, SharedDetector};
use crate::engine::{Engine, EngineConfig, ReportSink};

/// The outbox's directory inside the sensor's data directory.
pub const OUTBOX_DIR: &str = "outbox";

/// The detector's learned baseline inside the data directory (JSON, the `--baseline-in`
/// format): written when a window changed it, read on start, so that a restarted sensor keeps
/// what it learned (during its site's learning or `--learning`).
pub const BASELINE_FILE: &str = "baseline.json";

/// Largest baseline file read back (four tables of at most 100,000 entries).
const MAX_BASELINE_FILE: u64 = 128 << 20;

/// The baseline a previous run saved, if any (an unreadable one is logged and ignored).
fn saved_baseline(dir: &Path) -> Option<BaselineFile> {
    use std::io::Read;
    let path = dir.join(BASELINE_FILE);
    let mut bytes = Vec::new();
    match std::fs::File::open(&path) {
        Ok(file) => {
            if let Err(e) = file.take(MAX_BASELINE_FILE + 1).read_to_end(&mut bytes) {
                tracing::warn!(file = %path.display(), "cannot read the saved baseline: {e}");
                return None;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot read the saved baseline: {e}");
            return None;
        }
    }
    if bytes.len() as u64 > MAX_BASELINE_FILE {
        tracing::warn!(file = %path.display(), "the saved baseline is too large; ignored");
        return None;
    }
    match serde_json::from_slice(&bytes) {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!(file = %path.display(), "the saved baseline is damaged; ignored: {e}");
            None
        }
    }
}

/// `a` with `b`'s entries added.
fn merged(a: Option<BaselineFile>, b: BaselineFile) -> BaselineFile {
    let mut a = a.unwrap_or_default();
    a.merge(b);
    a
}

/// Entries of a baseline.
fn baseline_size(file: &BaselineFile) -> usize {
    file.entries()
}

/// What the sensor listens to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureSource {
    /// Capture files, read one after the other.
    Files(Vec<PathBuf>),
    /// A live network interface (Linux).
    Interface(String),
}

/// Everything a sensor run needs.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// The console, `https://HOST:PORT`.
    pub console: String,
    /// The sensor's data directory (credential, outbox, finished files).
    pub data_dir: PathBuf,
    /// What to capture.
    pub source: CaptureSource,
    /// The name to enrol under.
    pub name: String,
    /// The one-time enrolment token (needed only while `data_dir` holds no credential).
    pub enroll_token: Option<String>,
    /// The console certificate expected at enrolment; `None` trusts the first one seen.
    pub console_fingerprint: Option<Fingerprint>,
    /// Length of a window, in capture time (packet timestamps; wall-clock time for live
    /// capture, so that a quiet link still reports).
    pub window: Duration,
    /// Outbox bounds.
    pub outbox: OutboxLimits,
    /// Batch bounds.
    pub batch: BatchLimits,
    /// Retry pacing.
    pub backoff: BackoffConfig,
    /// Bound on one request to the console.
    pub request_timeout: Duration,
    /// After a stop, how long the uploader may keep sending before the run ends (what is left
    /// stays in the outbox for the next start).
    pub drain_grace: Duration,
    /// The sensor's software version, as reported to the console.
    pub version: String,
    /// Detection (learning, baseline, engines); `None` runs no detection engine. One detector
    /// serves the whole run: it outlives windows, so an alert repeated across windows stays
    /// one alert whose count grows.
    pub detection: Option<DetectorConfig>,
    /// Live capture: how long an interface that had traffic may receive nothing before the
    /// operational engine reports that its traffic stopped (checked at each window's end).
    pub traffic_stopped_after: Duration,
    /// The key threat-intelligence packages must be signed with (the console's package
    /// signing key, `--ti-pubkey`); `None` accepts no package.
    pub ti_key: Option<ironward_intel::ti::sign::VerifyingKey>,
}

impl SensorConfig {
    /// A configuration with the documented defaults: 60 s windows, a 1 GiB outbox, 5,000-item
    /// batches, backoff from 0.5 s to 30 s, detection on without learning, traffic reported
    /// stopped after 5 minutes without a frame.
    pub fn new(console: &str, data_dir: &Path, source: CaptureSource, name: &str) -> Self {
        Self {
            console: console.to_owned(),
            data_dir: data_dir.to_owned(),
            source,
            name: name.to_owned(),
            enroll_token: None,
            console_fingerprint: None,
            window: Duration::from_secs(60),
            outbox: OutboxLimits::default(),
            batch: BatchLimits::default(),
            backoff: BackoffConfig::default(),
            request_timeout: Duration::from_secs(60),
            drain_grace: Duration::from_secs(5),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            detection: Some(DetectorConfig::default()),
            traffic_stopped_after: Duration::from_secs(5 * 60),
            ti_key: None,
        }
    }
}

type WindowHook = Box<dyn FnMut(u64) + Send>;

/// Stops a run from another thread (a Ctrl-C handler, a test).
#[derive(Default)]
pub struct SensorControl {
    stop: AtomicBool,
    abort: AtomicBool,
    capture_done: AtomicBool,
    window_hook: Mutex<Option<WindowHook>>,
}

impl std::fmt::Debug for SensorControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorControl")
            .field("stop", &self.stop)
            .field("abort", &self.abort)
            .finish_non_exhaustive()
    }
}

impl SensorControl {
    /// A control for one run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop: the current window goes to the outbox, the uploader gets
    /// [`SensorConfig::drain_grace`] to send what it can.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Ends the run at once, as a crash would: the current window is lost (a capture file not
    /// finished is read again on the next start), the outbox is left as it is.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked.
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Whether the run is being aborted.
    pub fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    /// Whether the capture side has finished (the uploader then ends when the outbox is
    /// empty).
    pub fn is_capture_done(&self) -> bool {
        self.capture_done.load(Ordering::SeqCst)
    }

    /// Calls `hook` with the number of windows written so far, after each window reaches the
    /// outbox (for progress display and tests).
    pub fn on_window(&self, hook: impl FnMut(u64) + Send + 'static) {
        *self
            .window_hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
    }

    fn window_written(&self, windows: u64) {
        if let Some(hook) = self
            .window_hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            hook(windows);
        }
    }
}

/// Why a sensor run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SensorError {
    /// Occurs when enrolment fails or the credential file is unusable.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// Occurs when the saved credential pins another certificate than `--console-fingerprint`.
    #[error(
        "the saved credential pins console certificate {saved}, but {given} was given; to \
         enrol with another console remove credential.json from the data directory"
    )]
    PinConflict {
        /// The pinned fingerprint.
        saved: Fingerprint,
        /// The one given.
        given: Fingerprint,
    },
    /// Occurs when the client cannot be set up (a bad console address).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Occurs when the outbox fails.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Occurs when the uploader stopped for good.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Occurs when the data directory (finished-files list) cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Occurs when the live capture cannot be opened.
    #[error("capture: {0}")]
    Capture(String),
    /// Occurs when the uploader thread panicked (a defect).
    #[error("the uploader thread failed")]
    UploaderPanicked,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Capture files read to the end in this run.
    pub files_read: u64,
    /// Capture files skipped because an earlier run finished them.
    pub files_skipped: u64,
    /// Capture files that could not be opened or read as captures.
    pub files_failed: u64,
    /// Windows written to the outbox.
    pub windows: u64,
    /// Batches written to the outbox.
    pub batches: u64,
    /// Windows dropped because the outbox was full.
    pub windows_dropped: u64,
    /// Batches the console committed in this run.
    pub committed: u64,
    /// Batches the console already had.
    pub duplicates: u64,
    /// Batches the console refused (kept in `outbox/rejected`).
    pub rejected: u64,
    /// Failed attempts to send a batch (the console unreachable, overloaded, or answering
    /// outside the contract), each followed by a backoff.
    pub retries: u64,
    /// Batches still in the outbox at the end.
    pub pending: u64,
    /// Whether the run ended early: aborted, or stopped with batches still pending when its
    /// grace period ran out (they are sent by the next run).
    pub aborted: bool,
}

/// Loads the saved enrolment, or enrols with the token and saves it.
pub fn ensure_enrolled(config: &SensorConfig) -> Result<Enrolment, SensorError> {
    if let Some(saved) = enrol::load(&config.data_dir)? {
        if let Some(given) = config.console_fingerprint {
            if given != saved.fingerprint {
                return Err(SensorError::PinConflict {
                    saved: saved.fingerprint,
                    given,
                });
            }
        }
        if config.enroll_token.is_some() {
            tracing::info!(
                sensor_id = saved.sensor_id,
                "already enrolled; the enrolment token is not used"
            );
        }
        return Ok(saved);
    }
    let Some(token) = config.enroll_token.as_deref() else {
        return Err(EnrolError::NoToken(config.data_dir.clone()).into());
    };
    let enrolment = enrol::enroll(&EnrolRequest {
        console: &config.console,
        token,
        name: &config.name,
        version: &config.version,
        expected: config.console_fingerprint,
        timeout: config.request_timeout,
    })?;
    enrol::save(&config.data_dir, &enrolment)?;
    if config.console_fingerprint.is_none() {
        tracing::warn!(
            console_certificate = %enrolment.fingerprint,
            "no --console-fingerprint given: trusted the certificate the console presented on \
             first use and pinned it; compare it with the one the console shows"
        );
    }
    tracing::info!(
        sensor_id = enrolment.sensor_id,
        site = enrolment.site.as_deref().unwrap_or("-"),
        zone = enrolment.zone.as_deref().unwrap_or("-"),
        console_certificate = %enrolment.fingerprint,
        "enrolled"
    );
    Ok(enrolment)
}

/// Runs a sensor: enrols if needed, captures in windows, uploads; see the module docs for
/// when it returns.
pub fn run(config: &SensorConfig, control: &SensorControl) -> Result<RunSummary, SensorError> {
    let enrolment = ensure_enrolled(config)?;
    if enrolment.console != config.console.trim_end_matches('/') {
        tracing::warn!(
            enrolled_with = %enrolment.console,
            now = %config.console,
            "the console address changed since enrolment; its certificate must still be the pinned one"
        );
    }
    let outbox = Arc::new(Outbox::open(
        &config.data_dir.join(OUTBOX_DIR),
        config.outbox,
    )?);
    if !outbox.is_empty() {
        tracing::info!(
            pending = outbox.len(),
            "sending what the previous run left in the outbox"
        );
    }
    let verifier = Arc::new(PinVerifier::pinned(enrolment.fingerprint));
    let client = ConsoleClient::new(&config.console, verifier, config.request_timeout)?;
    let counters = UploadCounters::default();
    let mut summary = RunSummary::default();
    let detector = config.detection.clone().map(|mut detection| {
        if let Some(saved) = saved_baseline(&config.data_dir) {
            tracing::info!(
                entries = baseline_size(&saved),
                "starting from the saved baseline"
            );
            detection.baseline = Some(merged(detection.baseline.take(), saved));
        }
        Detector::new(detection).shared()
    });
    // The site's learning and baseline, before the first window: a console that cannot be
    // reached now sends them with its first answer.
    let mut site = SiteSync::new(detector.clone());
    if let Err(error) = site.fetch(&client, &enrolment.credential) {
        tracing::warn!("fetching the site's learning state and baseline: {error}");
    }
    // The package of the last run is in force before the first frame; the console's answers
    // bring newer ones.
    let mut ti = TiSync::new(config.ti_key, detector.clone(), &config.data_dir);
    ti.load_saved();

    let capture_result = std::thread::scope(|scope| {
        let uploader = std::thread::Builder::new()
            .name("uplink".into())
            .spawn_scoped(scope, || {
                let result = upload(
                    &outbox,
                    &client,
                    &enrolment.credential,
                    config.backoff,
                    control,
                    &counters,
                    &mut site,
                    &mut ti,
                );
                if result.is_err() {
                    // The capture side stops too: nothing it writes could be sent.
                    control.abort();
                }
                result
            })
            .map_err(|e| SensorError::Io {
                path: config.data_dir.clone(),
                source: e,
            })?;
        let mut capture = Capture {
            config,
            control,
            outbox: &outbox,
            health: HealthTracker::new(&config.version, ""),
            summary: &mut summary,
            detector: detector.clone(),
            alerts: AlertDeltas::new(),
            baseline_saved: None,
        };
        let captured = capture.run();
        control.capture_done.store(true, Ordering::SeqCst);
        if captured.is_err() {
            control.abort();
        }
        // Wait for the uploader: until the outbox is empty, or, after a stop, for the grace
        // period.
        let mut grace: Option<Instant> = None;
        while !uploader.is_finished() {
            if control.is_stopping() && !control.is_aborted() {
                let deadline = *grace.get_or_insert_with(|| Instant::now() + config.drain_grace);
                if Instant::now() >= deadline {
                    control.abort();
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let uploaded = uploader.join().map_err(|_| SensorError::UploaderPanicked)?;
        uploaded?;
        captured
    });
    summary.committed = counters.committed.load(Ordering::Relaxed);
    summary.duplicates = counters.duplicates.load(Ordering::Relaxed);
    summary.rejected = counters.rejected.load(Ordering::Relaxed);
    summary.retries = counters.retries.load(Ordering::Relaxed);
    summary.pending = outbox.len() as u64;
    summary.aborted = control.is_aborted();
    capture_result?;
    Ok(summary)
}

/// The capture side of a run.
struct Capture<'a> {
    config: &'a SensorConfig,
    control: &'a SensorControl,
    outbox: &'a Outbox,
    health: HealthTracker,
    summary: &'a mut RunSummary,
    /// The run's detector, fed by the engine of every window.
    detector: Option<SharedDetector>,
    /// What the console was sent of each alert.
    alerts: AlertDeltas,
    /// Revision of the baseline last saved ([`crate::detect::Baseline::revision`]).
    baseline_saved: Option<u64>,
}

/// A window being filled.
struct Window {
    engine: Engine,
    packets: u64,
    first_ns: Option<i64>,
    last_ns: i64,
}

impl Window {
    fn new(detector: Option<&SharedDetector>) -> Self {
        let config = EngineConfig {
            detector: detector.cloned(),
            ..EngineConfig::default()
        };
        let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
        engine.add_input();
        Self {
            engine,
            packets: 0,
            first_ns: None,
            last_ns: i64::MIN,
        }
    }

    fn capture_seconds(&self) -> f64 {
        match self.first_ns {
            Some(first) if self.last_ns > first => (self.last_ns - first) as f64 / 1e9,
            _ => 0.0,
        }
    }
}

impl Capture<'_> {
    fn run(&mut self) -> Result<(), SensorError> {
        match self.config.source.clone() {
            CaptureSource::Files(files) => self.files(&files),
            CaptureSource::Interface(name) => self.live(&name),
        }
    }

    fn files(&mut self, files: &[PathBuf]) -> Result<(), SensorError> {
        let dir = &self.config.data_dir;
        let io_err = |source| SensorError::Io {
            path: dir.clone(),
            source,
        };
        let mut finished = FinishedFiles::load(dir).map_err(io_err)?;
        for path in files {
            if self.control.is_aborted() || self.control.is_stopping() {
                break;
            }
            let identity = match file_identity(path) {
                Ok(identity) => identity,
                Err(e) => {
                    tracing::error!(file = %path.display(), "cannot read: {e}");
                    self.summary.files_failed += 1;
                    continue;
                }
            };
            if finished.contains(&identity) {
                tracing::info!(file = %path.display(), "sent by an earlier run; skipped");
                self.summary.files_skipped += 1;
                continue;
            }
            match self.file(path, &identity)? {
                FileEnd::Done => {
                    finished.record(&identity, path).map_err(io_err)?;
                    self.summary.files_read += 1;
                }
                FileEnd::Failed => self.summary.files_failed += 1,
                FileEnd::Interrupted => break,
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, identity: &str) -> Result<FileEnd, SensorError> {
        let mut reader = match capture::open_file(path) {
            Ok(reader) => reader,
            Err(e) => {
                tracing::error!(file = %path.display(), "{e}");
                return Ok(FileEnd::Failed);
            }
        };
        tracing::info!(file = %path.display(), "reading");
        let series = file_series(identity, self.config.window);
        self.health.set_source(&path.display().to_string());
        let window_ns = i64::try_from(self.config.window.as_nanos())
            .unwrap_or(i64::MAX)
            .max(1);
        let mut window = Window::new(self.detector.as_ref());
        let mut index = 0u64;
        while let Some(frame) = reader.next_frame() {
            if self.control.is_aborted() {
                return Ok(FileEnd::Interrupted);
            }
            let ts = frame.timestamp_ns;
            match window.first_ns {
                None => window.first_ns = Some(ts),
                Some(first) if ts.saturating_sub(first) >= window_ns => {
                    let full = std::mem::replace(&mut window, Window::new(self.detector.as_ref()));
                    if self.close(full, file_window_id(&series, index), true)?
                        == Closed::Interrupted
                    {
                        return Ok(FileEnd::Interrupted);
                    }
                    index += 1;
                    window.first_ns = Some(ts);
                }
                Some(_) => {}
            }
            window.last_ns = window.last_ns.max(ts);
            window.packets += 1;
            self.health.packet(frame.original_len);
            window.engine.process(&frame);
            if self.control.is_stopping() {
                // Ctrl-C: this window is left unsent, not sent cut short. The file is read
                // again on the next start and produces this window whole, under the same id; a
                // partial window sent now would make the whole one a "duplicate" and lose the
                // rest of it.
                return Ok(FileEnd::Interrupted);
            }
        }
        for warning in reader.take_warnings() {
            window.engine.add_capture_warning();
            tracing::warn!(file = %path.display(), "{warning}");
        }
        let last = window.packets > 0 || index == 0;
        if last && self.close(window, file_window_id(&series, index), true)? == Closed::Interrupted
        {
            return Ok(FileEnd::Interrupted);
        }
        Ok(FileEnd::Done)
    }

    #[cfg(target_os = "linux")]
    fn live(&mut self, interface: &str) -> Result<(), SensorError> {
        use crate::capture::live::{LiveCapture, LiveConfig};

        let mut live = LiveCapture::open(&LiveConfig {
            interface: interface.to_owned(),
            ..LiveConfig::default()
        })
        .map_err(|e| SensorError::Capture(e.to_string()))?;
        self.health.set_source(interface);
        let mut window = Window::new(self.detector.as_ref());
        let mut started = Instant::now();
        // The kernel's cumulative counters at the last window's end.
        let mut counted = live.stats();
        loop {
            if self.control.is_aborted() {
                return Ok(());
            }
            let stopping = self.control.is_stopping();
            if stopping || started.elapsed() >= self.config.window {
                let seconds = started.elapsed().as_secs_f64();
                let stats = live.stats();
                self.health.set_capture_drops(stats.drops);
                self.capture_health(interface, &window, seconds, counted, stats);
                counted = stats;
                let full = std::mem::replace(&mut window, Window::new(self.detector.as_ref()));
                self.close_timed(full, live_window_id(), false, seconds)?;
                started = Instant::now();
                if stopping {
                    return Ok(());
                }
            }
            if let Some(frame) = live.next_frame(Duration::from_millis(100)) {
                window.packets += 1;
                window.last_ns = frame.timestamp_ns;
                self.health.packet(frame.original_len);
                window.engine.process(&frame);
            }
            if let Some(error) = live.take_error() {
                return Err(SensorError::Capture(error.to_string()));
            }
        }
    }

    /// Hands the window's capture counters to the operational engine (frames lost by the
    /// kernel, traffic that stopped), before the window closes: its alerts go out with it.
    #[cfg(target_os = "linux")]
    fn capture_health(
        &mut self,
        interface: &str,
        window: &Window,
        seconds: f64,
        before: crate::capture::live::LiveStats,
        now_stats: crate::capture::live::LiveStats,
    ) {
        let Some(detector) = &self.detector else {
            return;
        };
        let ns = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        let time = ns(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default());
        crate::detect::lock(detector).on_capture(&crate::detect::CaptureInput {
            sensor: &self.config.name,
            interface,
            time,
            span_ns: (seconds * 1e9) as i64,
            frames: window.packets,
            last_frame: (window.packets > 0).then_some(window.last_ns),
            kernel_frames: now_stats.packets.saturating_sub(before.packets),
            drops: now_stats.drops.saturating_sub(before.drops),
            stopped_after_ns: ns(self.config.traffic_stopped_after),
        });
    }

    #[cfg(not(target_os = "linux"))]
    fn live(&mut self, _interface: &str) -> Result<(), SensorError> {
        Err(SensorError::Capture(
            "live capture needs Linux (AF_PACKET)".into(),
        ))
    }

    fn close(&mut self, window: Window, id: String, wait: bool) -> Result<Closed, SensorError> {
        let seconds = window.capture_seconds();
        self.close_timed(window, id, wait, seconds)
    }

    /// Ends a window: its report goes to the outbox as batches. With `wait`, a full outbox
    /// holds the capture back (files can wait; a stop or abort while waiting interrupts);
    /// otherwise the window is dropped and counted (a live link cannot wait).
    fn close_timed(
        &mut self,
        window: Window,
        id: String,
        wait: bool,
        seconds: f64,
    ) -> Result<Closed, SensorError> {
        let health = self.health.snapshot(now(), window.packets, seconds);
        let outbox = self.outbox;
        let control = self.control;
        let alerts = &mut self.alerts;
        let pending = alerts.take_pending();
        let mut dropped = false;
        let mut queued = 0u64;
        let emit = |mut batch: Batch| -> Result<(), Emit> {
            // The batch goes out with deltas; the detector's cumulative alerts are kept to
            // record what reached the outbox.
            let cumulative = std::mem::take(&mut batch.alerts);
            batch.alerts = alerts.deltas(&cumulative);
            if let Err(problem) = batch.validate() {
                // Sent all the same: the console's 400 sets it aside with this reason, and
                // the rest of the window is not held up.
                tracing::warn!(batch = %batch.id, "batch fails validation: {problem}");
            }
            let body = serde_json::to_vec(&batch).map_err(|e| {
                Emit::Failed(SensorError::Io {
                    path: outbox.dir().to_owned(),
                    source: e.into(),
                })
            })?;
            loop {
                match outbox
                    .push(&batch.id, &body)
                    .map_err(|e| Emit::Failed(e.into()))?
                {
                    Pushed::Queued => {
                        queued += 1;
                        alerts.queued(&cumulative);
                        return Ok(());
                    }
                    Pushed::AlreadyQueued => {
                        alerts.queued(&cumulative);
                        return Ok(());
                    }
                    Pushed::Full if wait && (control.is_aborted() || control.is_stopping()) => {
                        return Err(Emit::Interrupted);
                    }
                    Pushed::Full if wait && !outbox.is_empty() => {
                        outbox.wait_for_change(Duration::from_millis(500));
                    }
                    Pushed::Full => {
                        dropped = true;
                        alerts.not_queued(cumulative);
                        return Ok(());
                    }
                }
            }
        };
        let mut batcher = WindowBatcher::new(id, self.config.batch, health, emit);
        let packets = window.packets;
        // Alerts of a window that could not be written go out with this one.
        let mut finished = Ok(());
        for alert in pending {
            finished = batcher.alert(alert);
            if finished.is_err() {
                break;
            }
        }
        let finished = finished.and_then(|()| window.engine.finish_into(&mut batcher).map(drop));
        drop(batcher);
        self.summary.batches += queued;
        match finished {
            Ok(()) => {}
            Err(Emit::Failed(error)) => return Err(error),
            Err(Emit::Interrupted) => return Ok(Closed::Interrupted),
        }
        if dropped {
            self.health.window_dropped(packets);
            self.summary.windows_dropped += 1;
            tracing::warn!(
                packets,
                dropped_windows = self.health.dropped_windows(),
                "the outbox is full: a window was dropped"
            );
            return Ok(Closed::Dropped);
        }
        self.summary.windows += 1;
        self.control.window_written(self.summary.windows);
        self.save_baseline();
        Ok(Closed::Written)
    }

    /// Saves the detector's baseline when a window changed it (atomically: a temporary file
    /// renamed over the old one). A failure is logged: detection goes on.
    fn save_baseline(&mut self) {
        let Some(detector) = &self.detector else {
            return;
        };
        let (size, body) = {
            let detector = crate::detect::lock(detector);
            // The revision, not the size: a learned volume grows without adding an entry.
            let revision = detector.baseline().revision();
            let file = detector.baseline().file();
            if baseline_size(file) == 0 || self.baseline_saved == Some(revision) {
                return;
            }
            (revision, serde_json::to_vec(file))
        };
        let dir = &self.config.data_dir;
        let temporary = dir.join(format!("{BASELINE_FILE}.tmp"));
        let written = body
            .map_err(std::io::Error::from)
            .and_then(|body| std::fs::write(&temporary, body))
            .and_then(|()| std::fs::rename(&temporary, dir.join(BASELINE_FILE)));
        match written {
            Ok(()) => self.baseline_saved = Some(size),
            Err(e) => tracing::warn!(dir = %dir.display(), "cannot save the baseline: {e}"),
        }
    }
}

/// Why emitting a batch stopped a window.
enum Emit {
    Failed(SensorError),
    /// A stop or abort came while waiting for room in the outbox.
    Interrupted,
}

/// How closing a window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    Written,
    Dropped,
    /// Not (wholly) written: the run is stopping. A capture file is read again next time.
    Interrupted,
}

/// How reading a capture file ended.
enum FileEnd {
    Done,
    Failed,
    Interrupted,
}
