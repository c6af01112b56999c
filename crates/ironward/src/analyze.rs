//! `ironward analyze`: capture files (or a live interface) in, devices and connections out.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ironward_intel::ti::matching::Matcher;
use ironward_intel::ti::package::Package;
use ironward_intel::ti::sign;
use ironward_sensor::capture::{self, CaptureReader, Frame};
use ironward_sensor::detect::{Detector, DetectorConfig};
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_wire::LinkType;

use crate::output::{self, Format};

/// Arguments of `ironward analyze`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ironward analyze plant.pcapng\n  ironward analyze --format json day1.pcap day2.pcap.gz > inventory.json\n  ironward analyze --format csv --out report/ capture.pcap\n  tcpdump -i eth0 -w - | ironward analyze -\n  sudo ironward analyze --interface eth1 --duration 60"
)]
pub(crate) struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed; `-` reads standard input).
    /// Several files are analysed as one timeline, merged by timestamp.
    #[arg(value_name = "FILE", required_unless_present = "interface")]
    files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Directory for the CSV files (devices, connections, events, alerts, recommendations,
    /// initiatives); required with --format csv.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Capture live from this network interface instead of reading files (Linux, needs root or
    /// CAP_NET_RAW). Stops after --duration, --count or Ctrl-C.
    #[arg(short, long, value_name = "IFACE", conflicts_with = "files")]
    interface: Option<String>,

    /// Live capture: stop after this many seconds.
    #[arg(long, value_name = "SECONDS", requires = "interface")]
    duration: Option<u64>,

    /// Live capture: stop after this many frames.
    #[arg(long, value_name = "FRAMES", requires = "interface")]
    count: Option<u64>,

    /// Live capture: keep only frames of these VLAN ids (untagged frames are VLAN 0).
    #[arg(long, value_name = "ID", requires = "interface", value_delimiter = ',')]
    vlan: Vec<u16>,

    /// Live capture: do not put the interface into promiscuous mode.
    #[arg(long, requires = "interface")]
    no_promiscuous: bool,

    /// Most flows tracked at once; beyond it the least recently seen flow is evicted (counted
    /// in stats.flows_evicted).
    #[arg(long, value_name = "N", default_value_t = 1 << 18)]
    max_flows: usize,

    /// Only account flows and addresses: run no application-protocol dissector (for measuring
    /// what dissection costs).
    #[arg(long)]
    no_dissect: bool,

    /// Detection: treat this first span of capture time (from the first frame; `20s`, `5m`,
    /// `1h`, or seconds) as learning mode; afterwards the policy engine alerts on what the
    /// baseline lacks. The other engines (protocol, malware, anomaly, operational) always run
    /// when any detection option is given.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ns)]
    learning: Option<i64>,

    /// Detection: start from this baseline (JSON written by --baseline-out).
    #[arg(long, value_name = "FILE")]
    baseline_in: Option<PathBuf>,

    /// Detection: write the baseline (learned, plus any imported) to this file.
    #[arg(long, value_name = "FILE")]
    baseline_out: Option<PathBuf>,

    /// Detection: match these indicators of compromise (a CSV list: addresses, domains, JA3,
    /// JA4; see docs/SENSOR.md); bad lines are reported and skipped. Implies --detect.
    #[arg(long, value_name = "FILE")]
    iocs: Option<PathBuf>,

    /// Detection without learning: run the protocol, malware, anomaly and operational engines.
    #[arg(long)]
    detect: bool,

    /// Detection: write the packets around each alert's first occurrence to
    /// `DIR/<alert id>.pcap` (the last 256 frames involving its addresses, then up to 64 more
    /// within 10 s; at most 256 KiB each) and name the file in the alert's `pcap` field.
    /// Implies --detect.
    #[arg(long, value_name = "DIR")]
    pcap_dir: Option<PathBuf>,

    /// Match the devices against this signed threat-intelligence package (`ironward ti build`)
    /// and add the top-level `vulnerabilities` (KEV first, then by CVSS) and `unmatched` arrays
    /// to the JSON report. Needs --pubkey and --format json; a package whose signature does not
    /// verify is refused before any capture is read.
    #[arg(long, value_name = "PKG", requires = "pubkey")]
    ti: Option<PathBuf>,

    /// The public key the --ti package must be signed with (KEYFILE.pub of `ironward ti keygen`).
    #[arg(long, value_name = "KEYFILE.pub", requires = "ti")]
    pubkey: Option<PathBuf>,

    /// Never show the progress bar (it is shown only when standard error is a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// Inputs larger than this get a progress bar (when standard error is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;
/// Frames between progress bar updates.
const PROGRESS_EVERY: u64 = 1 << 14;

/// Runs the command; exit code 2 when an input could not be read as a capture.
pub(crate) fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if args.format == Format::Csv && args.out.is_none() {
        bail!(
            "--format csv writes one file per table (devices.csv, connections.csv, ...): give a directory with --out DIR"
        );
    }
    if args.ti.is_some() && args.format != Format::Json {
        bail!("--ti adds vulnerabilities to the JSON report: use --format json");
    }
    // Verified before any capture is read: a bad package costs nothing else.
    let package = match (&args.ti, &args.pubkey) {
        (Some(path), Some(pubkey)) => Some(open_package(path, pubkey)?),
        _ => None,
    };
    let mut config = EngineConfig::default();
    config.flows.max_flows = args.max_flows.max(1);
    let registry = if args.no_dissect {
        ironward_sensor::dissect::DissectorRegistry::new()
    } else {
        ironward_proto::registry()
    };
    let detecting = args.learning.is_some()
        || args.baseline_in.is_some()
        || args.baseline_out.is_some()
        || args.detect
        || args.iocs.is_some()
        || args.pcap_dir.is_some();
    if args.pcap_dir.is_none() {
        // Without a directory to write them to, captures would only cost a copy per frame.
        config.packet_ring.slots = 0;
    }
    if detecting {
        let baseline = match &args.baseline_in {
            Some(path) => Some(
                serde_json::from_slice(
                    &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
                )
                .with_context(|| format!("parsing the baseline {}", path.display()))?,
            ),
            None => None,
        };
        let iocs = match &args.iocs {
            Some(path) => Some(
                ironward_sensor::detect::ioc::load(path)
                    .with_context(|| format!("reading the IoC list {}", path.display()))?,
            ),
            None => None,
        };
        config.detector = Some(
            Detector::new(DetectorConfig {
                learning_ns: args.learning,
                baseline,
                iocs,
            })
            .shared(),
        );
    }
    let detector = config.detector.clone();
    let mut engine = Engine::with_dissectors(config, registry);
    let mut failed = false;
    // Captures are written as they finish: how many alerts get one is not bounded by what the
    // engine holds.
    let mut pcaps = match &args.pcap_dir {
        Some(dir) => Some(output::PcapDir::new((), dir)?),
        None => None,
    };

    if let Some(interface) = &args.interface {
        capture_live(&args, interface, &mut engine, &mut pcaps)?;
    } else {
        failed = analyze_files(&args.files, &mut engine, &mut pcaps, !args.no_progress)?;
    }

    // Standard output is line-buffered: a report of thousands of lines needs a real buffer.
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let started = Instant::now();
    // Devices are authorized or not only when the policy engine compared them with a learned
    // baseline.
    let baseline = args.learning.is_some() || args.baseline_in.is_some();
    match args.format {
        // Streamed: the report is never held in memory whole.
        Format::Json => {
            let vulnerabilities = package
                .as_ref()
                .map(|p| output::Vulnerabilities::new(Matcher::new(p.vulnerabilities())));
            let mut json = output::PostureSink::new(
                output::JsonStream::new(&mut out),
                vulnerabilities,
                baseline,
            );
            match pcaps {
                Some(pcaps) => {
                    let mut sink = pcaps.with_inner(json);
                    engine.finish_into(&mut sink)?;
                    report_captures(sink.files(), args.pcap_dir.as_deref())?;
                }
                None => {
                    engine.finish_into(&mut json)?;
                }
            }
        }
        Format::Table => {
            let report = report_of(engine, pcaps, args.pcap_dir.as_deref(), started)?;
            output::write_table(&report, &output::posture_of(&report, baseline), &mut out)?
        }
        Format::Csv => {
            let dir = args.out.as_deref().unwrap_or(Path::new("."));
            let report = report_of(engine, pcaps, args.pcap_dir.as_deref(), started)?;
            output::write_csv_dir(&report, &output::posture_of(&report, baseline), dir)?;
            let alerts = if report.alerts.is_empty() {
                ""
            } else {
                " alerts.csv"
            };
            writeln!(
                io::stderr(),
                "wrote devices.csv connections.csv events.csv{alerts} recommendations.csv initiatives.csv to {}",
                dir.display()
            )?;
        }
    }
    out.flush()?;
    if let (Some(path), Some(detector)) = (&args.baseline_out, &detector) {
        let json =
            serde_json::to_vec_pretty(ironward_sensor::detect::lock(detector).baseline().file())?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "wrote the report"
    );
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens and verifies the --ti package with the --pubkey key.
fn open_package(path: &Path, pubkey: &Path) -> anyhow::Result<Package> {
    let key = sign::read_verifying_key(pubkey)
        .with_context(|| format!("reading the public key {}", pubkey.display()))?;
    let package = Package::open(path, &key)
        .with_context(|| format!("refusing the package {}", path.display()))?;
    tracing::info!(
        package = %path.display(),
        records = package.vulnerabilities().len(),
        "threat-intelligence package verified"
    );
    Ok(package)
}

/// A duration in capture time: `20s`, `500ms`, `5m`, `1h`, `7d`, or plain seconds; in
/// nanoseconds. (Also the sensor's `--learning` and the console's `--learning-period`.)
pub(crate) fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (e.g. 20s, 5m, 1h)"))?;
    let scale = match unit {
        "" | "s" => 1e9,
        "ms" => 1e6,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        _ => return Err(format!("unknown unit {unit:?} (ms, s, m, h, d)")),
    };
    let ns = value * scale;
    if !ns.is_finite() || ns < 0.0 || ns > i64::MAX as f64 {
        return Err(format!("duration out of range: {text:?}"));
    }
    Ok(ns as i64)
}

/// Ends the analysis and keeps the whole report, writing the alerts' captures to `pcap_dir`
/// when given.
fn report_of(
    engine: Engine,
    pcaps: Option<output::PcapDir<()>>,
    pcap_dir: Option<&Path>,
    started: Instant,
) -> anyhow::Result<ironward_model::AnalysisReport> {
    let Some(pcaps) = pcaps else {
        return Ok(finish(engine, started).report);
    };
    let mut sink = pcaps.with_inner(ironward_sensor::engine::CollectReport::default());
    engine.finish_into(&mut sink)?;
    report_captures(sink.files(), pcap_dir)?;
    Ok(sink.into_inner().report)
}

fn report_captures(files: usize, dir: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = dir {
        writeln!(
            io::stderr(),
            "wrote {files} alert pcap(s) to {}",
            dir.display()
        )?;
    }
    Ok(())
}

/// Processes one frame and writes the alert captures it finished.
fn process(
    engine: &mut Engine,
    frame: &Frame<'_>,
    pcaps: &mut Option<output::PcapDir<()>>,
) -> anyhow::Result<()> {
    engine.process(frame);
    if let Some(pcaps) = pcaps {
        if engine.has_alert_captures() {
            pcaps.drain(engine)?;
        }
    }
    Ok(())
}

/// Ends the analysis and keeps the whole report (for the formats that sort or split it).
fn finish(engine: Engine, started: Instant) -> ironward_sensor::engine::Analysis {
    let analysis = engine.finish();
    tracing::info!(
        devices = analysis.report.devices.len(),
        connections = analysis.report.connections.len(),
        seconds = started.elapsed().as_secs_f64(),
        "built the report"
    );
    analysis
}

fn display_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

fn report_warnings(name: &str, reader: &mut CaptureReader, engine: &mut Engine) {
    for warning in reader.take_warnings() {
        engine.add_capture_warning();
        tracing::warn!(file = name, "{warning}");
        let _ = writeln!(io::stderr(), "warning: {name}: {warning}");
    }
}

/// Opens and analyses every file. Returns whether any input failed to open.
fn analyze_files(
    files: &[PathBuf],
    engine: &mut Engine,
    pcaps: &mut Option<output::PcapDir<()>>,
    progress: bool,
) -> anyhow::Result<bool> {
    let mut failed = false;
    let mut readers: Vec<(String, CaptureReader)> = Vec::with_capacity(files.len());
    for path in files {
        let name = display_name(path);
        match capture::open_file(path) {
            Ok(reader) => {
                tracing::info!(file = %name, format = ?reader.format(), "opened");
                engine.add_input();
                readers.push((name, reader));
            }
            Err(err) => {
                writeln!(io::stderr(), "error: {name}: {err}")?;
                failed = true;
            }
        }
    }
    let total: Option<u64> = readers
        .iter()
        .map(|(_, r)| r.input_size())
        .sum::<Option<u64>>();
    let bar = match total {
        Some(total) if progress && total >= PROGRESS_MIN_BYTES && io::stderr().is_terminal() => {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Some(bar)
        }
        _ => None,
    };
    let started = Instant::now();
    if readers.len() == 1 {
        if let Some((name, reader)) = readers.first_mut() {
            while let Some(frame) = reader.next_frame() {
                process(engine, &frame, pcaps)?;
                if engine.packets() % PROGRESS_EVERY == 0 {
                    if let Some(bar) = &bar {
                        bar.set_position(reader.position());
                        bar.set_message(format!("{} frames", engine.packets()));
                    }
                }
            }
            report_warnings(name, reader, engine);
        }
    } else {
        merge_timeline(&mut readers, engine, pcaps, bar.as_ref())?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    tracing::info!(
        frames = engine.packets(),
        seconds = started.elapsed().as_secs_f64(),
        "read all inputs"
    );
    Ok(failed)
}

/// The next frame of one input, copied so that several inputs can be held at once.
struct Pending {
    timestamp_ns: i64,
    linktype: LinkType,
    original_len: u32,
    interface: u32,
    data: Vec<u8>,
}

fn refill(reader: &mut CaptureReader, pending: &mut Option<Pending>) {
    let Some(frame) = reader.next_frame() else {
        *pending = None;
        return;
    };
    // The buffer is reused frame after frame: copying costs a memcpy, not an allocation.
    let slot = pending.get_or_insert_with(|| Pending {
        timestamp_ns: 0,
        linktype: LinkType::ETHERNET,
        original_len: 0,
        interface: 0,
        data: Vec::with_capacity(2048),
    });
    slot.timestamp_ns = frame.timestamp_ns;
    slot.linktype = frame.linktype;
    slot.original_len = frame.original_len;
    slot.interface = frame.interface;
    slot.data.clear();
    slot.data.extend_from_slice(frame.data);
}

/// Merges several inputs into one timeline, always taking the earliest pending frame (ties go
/// to the input named first).
fn merge_timeline(
    readers: &mut [(String, CaptureReader)],
    engine: &mut Engine,
    pcaps: &mut Option<output::PcapDir<()>>,
    bar: Option<&ProgressBar>,
) -> anyhow::Result<()> {
    let mut pending: Vec<Option<Pending>> = Vec::with_capacity(readers.len());
    for (_, reader) in readers.iter_mut() {
        let mut slot = None;
        refill(reader, &mut slot);
        pending.push(slot);
    }
    loop {
        let next = pending
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (p.timestamp_ns, i)))
            .min();
        let Some((_, index)) = next else { break };
        if let Some(p) = &pending[index] {
            let frame = Frame {
                timestamp_ns: p.timestamp_ns,
                linktype: p.linktype,
                data: &p.data,
                original_len: p.original_len,
                interface: p.interface,
            };
            process(engine, &frame, pcaps)?;
        }
        let (name, reader) = &mut readers[index];
        refill(reader, &mut pending[index]);
        if pending[index].is_none() {
            report_warnings(name, reader, engine);
        }
        if engine.packets() % PROGRESS_EVERY == 0 {
            if let Some(bar) = bar {
                bar.set_position(readers.iter().map(|(_, r)| r.position()).sum());
                bar.set_message(format!("{} frames", engine.packets()));
            }
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn capture_live(
    args: &AnalyzeArgs,
    interface: &str,
    engine: &mut Engine,
    pcaps: &mut Option<output::PcapDir<()>>,
) -> anyhow::Result<()> {
    use ironward_sensor::capture::live::{LiveCapture, LiveConfig};

    let config = LiveConfig {
        interface: interface.to_owned(),
        promiscuous: !args.no_promiscuous,
        vlan_filter: (!args.vlan.is_empty()).then(|| args.vlan.clone()),
        ..LiveConfig::default()
    };
    let mut live =
        LiveCapture::open(&config).with_context(|| format!("opening interface {interface}"))?;
    engine.add_input();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_handler = Arc::clone(&stop);
    ctrlc::set_handler(move || stop_handler.store(true, Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let limit = args.count.unwrap_or(u64::MAX);
    writeln!(
        io::stderr(),
        "capturing on {interface} (Ctrl-C to stop and report)"
    )?;
    let mut frames = 0u64;
    while !stop.load(Ordering::Relaxed)
        && frames < limit
        && deadline.is_none_or(|d| Instant::now() < d)
    {
        if let Some(frame) = live.next_frame(Duration::from_millis(100)) {
            process(engine, &frame, pcaps)?;
            frames += 1;
        }
    }
    let stats = live.stats();
    writeln!(
        io::stderr(),
        "{frames} frames captured; kernel: {} packets, {} dropped",
        stats.packets,
        stats.drops
    )?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn capture_live(
    _: &AnalyzeArgs,
    _: &str,
    _: &mut Engine,
    _: &mut Option<output::PcapDir<()>>,
) -> anyhow::Result<()> {
    bail!("live capture needs Linux (AF_PACKET)")
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ns;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_ns("20s"), Ok(20_000_000_000));
        assert_eq!(parse_duration_ns("20"), Ok(20_000_000_000));
        assert_eq!(parse_duration_ns("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration_ns("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert!(parse_duration_ns("1y").is_err());
        assert!(parse_duration_ns("s").is_err());
        assert!(parse_duration_ns("1e400").is_err());
    }
}
