//! Fuzzes the IPP parser and dissector: the message and its attributes on the raw input, then
//! the dissector (HTTP heads with IPP bodies) on the same bytes as whole stream chunks or as
//! records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::ipp::{self, IppDissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    let _ = ipp::looks_like_ipp(data);
    if let Ok(message) = ipp::parse_message(data) {
        let mut count = 0usize;
        for attribute in message.attributes() {
            count += 1;
            // Each attribute takes at least five bytes.
            assert!(count * 5 <= data.len());
            let Ok(attribute) = attribute else { break };
            assert!(attribute.text().len() <= attribute.value.len());
            let _ = ipp::device_id_field(attribute.value, &["MFG", "MDL"]);
        }
    }
    let meta = dissect::flow(Transport::Tcp, ipp::PORT);
    let mut dissector = IppDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, data);
    } else {
        dissect::drive(&mut dissector, meta, data);
    }
});
