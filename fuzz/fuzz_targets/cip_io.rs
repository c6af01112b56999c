//! Fuzzes the CIP class 0/1 I/O datagram parser and shape check, and the dissector over UDP
//! records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::cip_io::{self, CipIoDissector, IoPacket};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = IoPacket::parse(data) {
        assert!(packet.data.len() <= data.len());
    }
    if cip_io::looks_like_cip_io(data) {
        assert!(IoPacket::parse(data).is_ok());
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Udp, cip_io::PORT);
    let mut dissector = CipIoDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
