//! Fuzzes the PJL line parsers and dissector: commands and key/value lines on every line of
//! the raw input, then the dissector (status readback answers, form feeds, the 64 KiB limit) on
//! the same bytes as whole stream chunks or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::pjl::{self, PjlDissector};
use ironward_proto::{Direction, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    let _ = pjl::looks_like_pjl(data);
    for line in data.split(|&b| b == b'\n') {
        if let Ok(command) = pjl::parse_command(line) {
            let _ = command.info_category();
        }
        if let Some((key, value)) = pjl::key_value(line) {
            assert!(key.len() + value.len() <= line.len());
        }
    }
    let meta = dissect::flow(Transport::Tcp, pjl::PORT);
    let mut dissector = PjlDissector::new(Direction::ServerToClient);
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, data);
    } else {
        dissect::drive(&mut dissector, meta, data);
    }
});
