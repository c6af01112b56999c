//! Fuzzes the CODESYS V3 datagram and services layer parsers and the dissector over UDP
//! datagrams and TCP block driver streams (blocks split and coalesced, huge blocks skipped,
//! nested tags, V2 detection), on whole chunks or records (see `common/dissect.rs`). The
//! first byte picks the mode.
#![no_main]

use ironward_proto::codesys::{looks_like_block, CodesysDissector, Datagram, Services};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    if let Ok(dg) = Datagram::parse(rest) {
        assert!(dg.receiver.len() + dg.sender.len() + dg.payload.len() <= rest.len());
    }
    if let Ok(s) = Services::parse(rest) {
        assert!(s.content.len() <= rest.len());
    }
    let _ = looks_like_block(rest);
    let (transport, port) = match first & 6 {
        0 => (Transport::Udp, 1740),
        2 => (Transport::Tcp, 11740),
        _ => (Transport::Tcp, 1200),
    };
    let meta = dissect::flow(transport, port);
    let mut dissector = CodesysDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
