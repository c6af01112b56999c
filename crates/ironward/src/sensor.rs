//! `ironward sensor`: capture, and stream what is seen to a console through a durable outbox.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ironward_sensor::detect::{BaselineFile, DetectorConfig};
use ironward_sensor::uplink::outbox::OutboxLimits;
use ironward_sensor::uplink::pin::Fingerprint;
use ironward_sensor::uplink::{self, CaptureSource, SensorConfig, SensorControl};

/// Arguments of `ironward sensor`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ironward sensor --console https://console.plant:8443 --enroll-token T \\\n      --console-fingerprint sha256:… --data /var/lib/ironward-sensor --interface eth1\n  ironward sensor --console https://10.0.0.5:8443 --data ./sensor --pcap day1.pcap day2.pcap\n\nThe first start enrols with the one-time token and pins the console's certificate; later\nstarts need neither option. See docs/SENSOR.md."
)]
pub(crate) struct SensorArgs {
    /// The console, https://HOST:PORT.
    #[arg(long, value_name = "URL")]
    console: String,

    /// One-time enrolment token from the console (needed only on the first start, while the
    /// data directory holds no credential). The environment variable IRONWARD_ENROLL_TOKEN
    /// keeps it out of the process list.
    #[arg(long, value_name = "TOKEN")]
    enroll_token: Option<String>,

    /// The console certificate's fingerprint, as the console shows it in its enrol command;
    /// without it the first certificate seen is trusted (and pinned).
    #[arg(long, value_name = "sha256:HEX")]
    console_fingerprint: Option<Fingerprint>,

    /// The sensor's data directory: credential, outbox, list of finished capture files.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,

    /// Capture live from this interface (Linux, needs CAP_NET_RAW); runs until Ctrl-C.
    #[arg(
        short,
        long,
        value_name = "IFACE",
        conflicts_with = "pcap",
        required_unless_present = "pcap"
    )]
    interface: Option<String>,

    /// Read these capture files (pcap or pcapng, optionally gzip-compressed) one after the
    /// other; exits once every file is read and the console acknowledged everything.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pcap: Vec<PathBuf>,

    /// The name to enrol under (default: the host name).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,

    /// Length of a window, in seconds of capture time: each window's observations (a delta:
    /// counts within the window) become one or more batches.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    window: u64,

    /// Most megabytes of batches kept on disk while the console is unreachable; beyond it new
    /// windows of live capture are dropped (and counted in the sensor's health), and reading
    /// capture files pauses.
    #[arg(long, value_name = "MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    outbox_limit_mb: u64,

    /// Live capture: report an interface that had traffic and then received no frame for this
    /// many seconds (alert `operational.traffic_stopped`, checked at the end of each window).
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    traffic_stopped_after: u64,

    /// Detection: treat this first span of capture time (from the first frame; `20s`, `5m`,
    /// `1h`, `7d`, or seconds) as learning mode; afterwards the policy engine alerts on what
    /// the baseline lacks. The protocol, malware, anomaly and operational engines always run.
    #[arg(long, value_name = "DURATION", value_parser = crate::analyze::parse_duration_ns, conflicts_with = "no_detect")]
    learning: Option<i64>,

    /// Detection: start from this baseline (JSON written by `ironward analyze --baseline-out`).
    #[arg(long, value_name = "FILE", conflicts_with = "no_detect")]
    baseline_in: Option<PathBuf>,

    /// Detection: match these indicators of compromise (a CSV list: addresses, domains, JA3,
    /// JA4, file SHA-256; see docs/SENSOR.md); bad lines are reported and skipped.
    #[arg(long, value_name = "FILE", conflicts_with = "no_detect")]
    iocs: Option<PathBuf>,

    /// Run no detection engine: the sensor reports inventory, connections and events only.
    #[arg(long)]
    no_detect: bool,

    /// Threat intelligence: the console's package signing public key (PEM, as `ironward ti
    /// keygen` writes KEYFILE.pub). Packages the console assigns to the sensor's site are
    /// applied only when signed with it; without it the sensor accepts no package.
    #[arg(long, value_name = "FILE")]
    ti_pubkey: Option<PathBuf>,
}

/// Largest baseline file read: four tables of at most 100,000 entries
/// (`ironward_sensor::detect::baseline::MAX_BASELINE_ENTRIES`) of well under 300 bytes each.
const MAX_BASELINE_FILE: u64 = 128 << 20;

/// Reads a baseline file (JSON written by `--baseline-out`), refusing oversized ones.
fn read_baseline(path: &std::path::Path) -> anyhow::Result<BaselineFile> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_BASELINE_FILE + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_BASELINE_FILE {
        anyhow::bail!(
            "{}: a baseline is at most {} MiB",
            path.display(),
            MAX_BASELINE_FILE >> 20
        );
    }
    serde_json::from_slice(&bytes)
        .with_context(|| format!("parsing the baseline {}", path.display()))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "sensor".to_owned())
}

/// Runs the command: exit code 0 when everything was read and acknowledged (or, live, after
/// Ctrl-C), 2 when a capture file could not be read or the console rejected a batch.
pub(crate) fn run(args: SensorArgs) -> anyhow::Result<ExitCode> {
    let source = match args.interface {
        Some(interface) => CaptureSource::Interface(interface),
        None => CaptureSource::Files(args.pcap),
    };
    let live = matches!(source, CaptureSource::Interface(_));
    let name = args.name.unwrap_or_else(host_name);
    let mut config = SensorConfig::new(&args.console, &args.data, source, &name);
    config.enroll_token = args.enroll_token.or_else(|| {
        std::env::var("IRONWARD_ENROLL_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
    });
    config.console_fingerprint = args.console_fingerprint;
    if let Some(path) = &args.ti_pubkey {
        config.ti_key = Some(
            ironward_intel::ti::sign::read_verifying_key(path)
                .with_context(|| format!("reading the package signing key {}", path.display()))?,
        );
    }
    config.window = Duration::from_secs(args.window);
    config.traffic_stopped_after = Duration::from_secs(args.traffic_stopped_after);
    config.outbox = OutboxLimits {
        max_bytes: args.outbox_limit_mb.saturating_mul(1 << 20),
        ..OutboxLimits::default()
    };
    config.detection = if args.no_detect {
        None
    } else {
        let baseline = match &args.baseline_in {
            Some(path) => Some(read_baseline(path)?),
            None => None,
        };
        let iocs = match &args.iocs {
            Some(path) => Some(
                ironward_sensor::detect::ioc::load(path)
                    .with_context(|| format!("reading the IoC list {}", path.display()))?,
            ),
            None => None,
        };
        Some(DetectorConfig {
            learning_ns: args.learning,
            baseline,
            iocs,
        })
    };
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;

    let control = Arc::new(SensorControl::new());
    let handler = Arc::clone(&control);
    ctrlc::set_handler(move || {
        // The first Ctrl-C flushes the current window and drains briefly; a second one quits.
        if handler.is_stopping() {
            handler.abort();
        } else {
            handler.stop();
        }
    })
    .context("installing the Ctrl-C handler")?;
    if live {
        writeln!(io::stderr(), "capturing (Ctrl-C to stop)")?;
    }
    let summary = uplink::run(&config, &control)?;
    writeln!(
        io::stderr(),
        "{} windows, {} batches queued; console: {} committed, {} already had, {} rejected; {} \
         still in the outbox{}",
        summary.windows,
        summary.batches,
        summary.committed,
        summary.duplicates,
        summary.rejected,
        summary.pending,
        if summary.files_skipped > 0 {
            format!("; {} files skipped (sent before)", summary.files_skipped)
        } else {
            String::new()
        }
    )?;
    if summary.rejected > 0 {
        writeln!(
            io::stderr(),
            "warning: the console rejected {} batches as malformed; they are kept in {} with the reason",
            summary.rejected,
            args.data.join("outbox/rejected").display()
        )?;
    }
    if summary.windows_dropped > 0 {
        writeln!(
            io::stderr(),
            "warning: {} windows dropped because the outbox was full",
            summary.windows_dropped
        )?;
    }
    Ok(if summary.files_failed > 0 || summary.rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
