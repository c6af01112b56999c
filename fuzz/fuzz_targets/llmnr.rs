//! Fuzzes the LLMNR dissector on whole datagrams or records (see `common/dissect.rs`); its
//! parser is the DNS one (fuzzed by the `dns` target as well).
#![no_main]

use ironward_proto::dns::Message;
use ironward_proto::{llmnr, Direction, DissectorRegistry, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(message) = Message::parse(data) {
        assert!(message.entries().count() <= data.len() / 5 + 1);
    }
    let mut registry = DissectorRegistry::new();
    llmnr::register(&mut registry);
    let meta = dissect::flow(Transport::Udp, llmnr::PORT);
    let mut dissector = registry
        .select(&meta, Direction::ClientToServer, &[])
        .expect("port 5355 is LLMNR");
    if first & 1 == 0 {
        dissect::drive_whole(&mut *dissector, meta, data);
    } else {
        dissect::drive(&mut *dissector, meta, data);
    }
});
