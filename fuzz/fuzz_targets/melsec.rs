//! Fuzzes the MC protocol frame parser, the strict content check and the dissector over UDP
//! datagrams and TCP streams (frames split across and coalesced within chunks, binary and
//! ASCII, huge lengths skipped), on whole chunks or records (see `common/dissect.rs`). The
//! first byte picks the mode.
#![no_main]

use ironward_proto::melsec::{looks_like_request, Frame, MelsecDissector, MAX_FRAME};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    if let Ok(frame) = Frame::parse(rest) {
        assert!(frame.length <= rest.len() && frame.length <= MAX_FRAME);
        assert!(frame.data.len() <= frame.length);
    }
    let _ = looks_like_request(rest);
    let transport = if first & 2 == 0 { Transport::Udp } else { Transport::Tcp };
    let meta = dissect::flow(transport, 5007);
    let mut dissector = MelsecDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
