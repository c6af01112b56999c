//! Fuzzes the whole sensor path: a capture file (pcap or pcapng) is read, every frame decoded,
//! defragmented, accounted to flows, reassembled and observed, and the report built. Besides not
//! panicking, the report must account for every frame read.

#![no_main]

use ironward_sensor::capture;
use ironward_sensor::engine::{Engine, EngineConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = capture::open_bytes(data.to_vec(), "fuzz") else {
        return;
    };
    let mut config = EngineConfig::default();
    // Tiny limits so that eviction, budgets and timeouts are exercised too.
    config.flows.max_flows = 16;
    config.flows.reassembly.max_buffered_total = 4096;
    config.defrag.max_datagrams = 4;
    config.defrag.max_bytes_total = 8192;
    let mut engine = Engine::new(config);
    let mut frames = 0u64;
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
        frames += 1;
    }
    let analysis = engine.finish();
    assert_eq!(analysis.report.stats.packets, frames);
    let flow_packets: u64 = analysis.report.connections.iter().map(|c| c.packets).sum();
    assert!(flow_packets <= frames);
});
