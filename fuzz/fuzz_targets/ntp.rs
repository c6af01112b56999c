//! Fuzzes the NTP parser (time packets, control messages and their variable lists) and
//! dissector, on the raw input and as whole datagrams or records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::ntp::{self, Message, NtpDissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(Message::Control(control)) = ntp::parse(data) {
        for name in ["version", "system", "processor"] {
            if let Some(value) = ntp::variable(control.data, name) {
                assert!(value.len() <= control.data.len());
            }
        }
    }
    // The variable-list reader on arbitrary text.
    let _ = ntp::variable(data, "version");
    let meta = dissect::flow(Transport::Udp, ntp::PORT);
    if first & 1 == 0 {
        dissect::drive_whole(&mut NtpDissector, meta, data);
    } else {
        dissect::drive(&mut NtpDissector, meta, data);
    }
});
