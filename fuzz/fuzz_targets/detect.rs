//! Fuzzes detection: fuzzer-chosen Ethernet frames run through the engine with every dissector
//! and a detector that learns during the first part of the input. The input is a header byte
//! (learning period in steps of 100 ms of capture time; 0: no learning) and then records, each
//! a time step (units of 50 ms), a little-endian 16-bit length and that many frame bytes.
//! Besides not panicking, every detector table must stay within its bound, and the report must
//! account for every frame and hold no more alerts than the store keeps.

#![no_main]

use ironward_sensor::capture::Frame;
use ironward_sensor::detect::{self, Detector, DetectorConfig, MAX_ALERTS};
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_wire::LinkType;
use libfuzzer_sys::fuzz_target;

const BASE_TIME_NS: i64 = 1_700_000_000_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&learning, mut rest)) = data.split_first() else {
        return;
    };
    let detector = Detector::new(DetectorConfig {
        learning_ns: (learning > 0).then(|| i64::from(learning) * 100_000_000),
        ..DetectorConfig::default()
    })
    .shared();
    let mut config = EngineConfig {
        detector: Some(detector.clone()),
        ..EngineConfig::default()
    };
    // Tiny limits so that eviction (flows ending mid-run, reaching the detector) is exercised.
    config.flows.max_flows = 16;
    config.flows.reassembly.max_buffered_total = 4096;
    config.defrag.max_datagrams = 4;
    config.defrag.max_bytes_total = 8192;
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut time = BASE_TIME_NS;
    let mut frames = 0u64;
    while let [step, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        time += i64::from(*step) * 50_000_000;
        engine.process(&Frame {
            timestamp_ns: time,
            linktype: LinkType::ETHERNET,
            data: frame,
            original_len: frame.len() as u32,
            interface: 0,
        });
        frames += 1;
    }
    let footprint = detect::lock(&detector).footprint();
    for table in &footprint.tables {
        assert!(table.entries <= table.limit, "{table:?}");
    }
    assert!(footprint.alerts.alerts <= MAX_ALERTS);
    let analysis = engine.finish();
    assert_eq!(analysis.report.stats.packets, frames);
    assert!(analysis.report.alerts.len() <= MAX_ALERTS);
    for alert in &analysis.report.alerts {
        assert!(alert.count >= 1 && alert.first_seen <= alert.last_seen, "{alert:?}");
        assert!(alert.evidence.len() <= ironward_model::alert::MAX_EVIDENCE);
    }
});
