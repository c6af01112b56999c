//! Fuzzes the FINS frame parser and the dissector over UDP datagrams and FINS/TCP streams
//! (records split across and coalesced within chunks, huge lengths skipped), on whole chunks or
//! records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::fins::{FinsDissector, Frame};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    if let Ok(frame) = Frame::parse(rest) {
        assert!(frame.data.len() <= rest.len());
    }
    let transport = if first & 2 == 0 { Transport::Udp } else { Transport::Tcp };
    let meta = dissect::flow(transport, 9600);
    let mut dissector = FinsDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
