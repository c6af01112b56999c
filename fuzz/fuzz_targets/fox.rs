//! Fuzzes the Niagara Fox text message parser (header, fields, length-prefixed blob and object
//! values) on the raw input, then the dissector's framing on the same bytes as whole stream
//! chunks or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::fox::{self, FoxDissector, Message};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        assert!(message.len <= data.len());
        assert!(message.fields().count() <= fox::MAX_FIELDS);
    }
    let _ = fox::looks_like_fox(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, fox::PORT);
    let mut dissector = FoxDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
