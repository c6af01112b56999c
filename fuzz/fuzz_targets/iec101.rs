//! Fuzzes the IEC 101 FT1.2 frame parser (every link address size), the content check, the
//! guess of ASDU field sizes, and the dissector over TCP streams. The first byte picks the
//! mode.
#![no_main]

use ironward_proto::iec101::{self, Frame, Iec101Dissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    for size in 0..=2 {
        if let Ok((frame, len)) = iec101::parse_frame(data, size) {
            assert!(len <= iec101::MAX_FRAME && len <= data.len());
            if let Frame::Variable { user } = frame {
                for address in 0..=2 {
                    let _ = iec101::guess_params(user, address);
                }
            }
        }
    }
    let _ = iec101::looks_like_ft12(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 4001);
    let mut dissector = Iec101Dissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
