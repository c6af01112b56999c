//! Helpers shared by the tests that compare Ironward with `tshark`: the engine run with
//! tshark-like settings, a dissector that collects reassembled TCP streams, and readers of
//! tshark's output.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod frames;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use ironward_model::{Event, Fact};
use ironward_sensor::capture;
use ironward_sensor::dissect::{
    Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};
use ironward_sensor::engine::{Analysis, Engine, EngineConfig};
use ironward_sensor::flow::Direction;
use ironward_sensor::reassembly::StreamChunk;

/// Collects every TCP stream's bytes, per flow id and direction.
#[derive(Clone, Default)]
pub struct Streams(pub Arc<Mutex<HashMap<u64, [Vec<u8>; 2]>>>);

struct Collector {
    streams: Streams,
}

impl Dissector for Collector {
    fn protocol(&self) -> &'static str {
        "collector"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        _: &mut Observations,
    ) {
        if let StreamChunk::Data(bytes) = chunk {
            let mut map = self.streams.0.lock().unwrap();
            map.entry(flow.id).or_default()[direction.index()].extend_from_slice(bytes);
        }
    }
}

impl DissectorFactory for Streams {
    fn protocol(&self) -> &'static str {
        "collector"
    }

    fn select(&self, flow: &FlowMeta, _: Direction, _: &[u8]) -> Option<Box<dyn Dissector>> {
        (flow.transport == Transport::Tcp).then(|| {
            Box::new(Collector {
                streams: self.clone(),
            }) as Box<dyn Dissector>
        })
    }
}

/// Analyses a capture keeping every flow record, with timeouts so long that, like tshark, the
/// engine never splits a conversation on idleness; TCP streams are collected into `streams`.
pub fn analyze(path: &Path, streams: &Streams) -> Analysis {
    let mut config = EngineConfig {
        keep_flow_records: true,
        ..EngineConfig::default()
    };
    let forever = i64::MAX / 4;
    config.flows.tcp_idle_ns = forever;
    config.flows.udp_idle_ns = forever;
    config.flows.other_idle_ns = forever;
    config.flows.tcp_closed_linger_ns = forever;
    let mut registry = DissectorRegistry::new();
    registry.register(Box::new(streams.clone()));
    let mut engine = Engine::with_dissectors(config, registry);
    let mut reader = capture::open_file(path).expect("capture opens");
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    engine.finish()
}

/// The shared data directory: `$IRONWARD_DATA`, else `../shared/data` beside the workspace.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// A shared capture by its path under `pcaps/`, or `None` (with the reason printed) when the
/// data or tshark is missing, so that the calling test can skip.
pub fn shared_capture(relative: &str) -> Option<PathBuf> {
    let path = data_dir().join("pcaps").join(relative);
    if !path.exists() {
        eprintln!("skipped: {} not found (set IRONWARD_DATA)", path.display());
        return None;
    }
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("skipped: tshark is not installed (scripts/test installs it as root)");
        return None;
    }
    Some(path)
}

/// Every fact the sensor's dissectors reported for a capture, with the number of the frame that
/// produced it (1-based, as tshark numbers frames). Flows never time out, as in tshark.
pub fn fact_log(path: &Path) -> Vec<(u64, Fact)> {
    logged_analysis(path).facts
}

/// Every occurrence of an event the dissectors reported for a capture, with the number of the
/// frame that produced it (the event as in the report, aggregated: its `count` is the total).
#[allow(dead_code)]
pub fn event_log(path: &Path) -> Vec<(u64, Event)> {
    logged_analysis(path).event_log
}

/// Whether an event is a dissector's report of a PDU that breaks its protocol (`malformed`,
/// `violation`) rather than an operation: tshark has no such operations to compare with.
pub fn is_spec_report(event: &Event) -> bool {
    matches!(&*event.operation, "malformed" | "violation")
}

/// The analysis of a capture with fact and event logs kept, flows never timing out (as in
/// tshark).
#[allow(dead_code)]
pub fn logged_analysis(path: &Path) -> Analysis {
    let mut config = EngineConfig {
        keep_fact_log: true,
        ..EngineConfig::default()
    };
    let forever = i64::MAX / 4;
    config.flows.tcp_idle_ns = forever;
    config.flows.udp_idle_ns = forever;
    config.flows.other_idle_ns = forever;
    config.flows.tcp_closed_linger_ns = forever;
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut reader = capture::open_file(path).expect("capture opens");
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    engine.finish()
}

/// tshark's fields for every frame matching `filter`: (frame number, one string per field;
/// several values of one field are joined by `,`). The first field is `frame.number` implicitly.
pub fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let mut args = vec![
        "-r",
        path.to_str().expect("utf-8 path"),
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "frame.number",
    ];
    for field in fields {
        args.push("-e");
        args.push(field);
    }
    tshark(&args)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let frame = parts.next()?.trim().parse().ok()?;
            Some((frame, parts.map(str::to_owned).collect()))
        })
        .collect()
}

/// Runs tshark and returns its standard output, whatever its exit status (tshark exits 2 on
/// captures that end mid-record, after printing what it read).
pub fn tshark(args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs tshark and returns its standard output; fails the test if tshark fails.
pub fn tshark_ok(args: &[&str]) -> String {
    let output = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// tshark's `format_size` for conversation tables: integer division by powers of 1000 while
/// the quotient stays at least 10.
pub fn tshark_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    let mut power = 1u64;
    let mut unit = None;
    for name in UNITS {
        let next = power * 1000;
        if bytes / next >= 10 {
            power = next;
            unit = Some(name);
        } else {
            break;
        }
    }
    match unit {
        Some(name) => format!("{} {name}", bytes / power),
        None => format!("{bytes} bytes"),
    }
}

/// An endpoint as tshark writes it: IPv6 without brackets, "fe80::1:443".
pub fn endpoint(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

/// Parses `tshark -z follow,tcp,raw,N`: node 0's chunks are unindented, node 1's start with a
/// tab. Returns both nodes and their bytes, or `None` when tshark printed no such stream.
pub fn follow(file: &Path, stream: u64) -> Option<(String, String, Vec<u8>, Vec<u8>)> {
    let out = tshark(&[
        "-r",
        file.to_str().unwrap(),
        "-q",
        "-z",
        &format!("follow,tcp,raw,{stream}"),
    ]);
    let (mut node0, mut node1) = (None, None);
    let (mut bytes0, mut bytes1) = (Vec::new(), Vec::new());
    let mut body = false;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Node 0: ") {
            node0 = Some(rest.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("Node 1: ") {
            node1 = Some(rest.to_owned());
            body = true;
            continue;
        }
        if !body || line.starts_with("=====") || line.is_empty() {
            continue;
        }
        let (target, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut bytes1, hex),
            None => (&mut bytes0, line),
        };
        let hex = hex.trim();
        assert!(hex.len() % 2 == 0, "odd hex line {hex:?}");
        for i in (0..hex.len()).step_by(2) {
            target.push(u8::from_str_radix(&hex[i..i + 2], 16).ok()?);
        }
    }
    Some((node0?, node1?, bytes0, bytes1))
}
