//! Fuzzes the SRTP message parser and the dissector over TCP streams (56-byte headers and
//! text buffers split across and coalesced within chunks, huge text buffers skipped, gaps),
//! on whole chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::srtp::{Message, SrtpDissector, HEADER};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    if let Ok(m) = Message::parse(rest) {
        assert!(m.text.len() <= m.text_length && HEADER + m.text.len() <= rest.len());
    }
    let meta = dissect::flow(Transport::Tcp, 18245);
    let mut dissector = SrtpDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
