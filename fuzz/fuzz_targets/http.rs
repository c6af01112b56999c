//! Fuzzes the HTTP/1.x parsers and dissector: message heads, framing and the header helpers on
//! the raw input, then the dissector (heads split anywhere, bodies by length, chunks or close,
//! gaps and ends) on the same bytes as whole stream chunks or as records (see
//! `common/dissect.rs`).
#![no_main]

use ironward_proto::http::{self, HttpDissector, StartLine};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    let _ = http::looks_like_http(data);
    if let Ok(message) = http::parse_message(data) {
        assert!(message.head.len <= data.len());
        match message.start {
            StartLine::Request { target, .. } => {
                let _ = http::request_framing(&message.head);
                let _ = http::device_path(target);
            }
            StartLine::Response { status, .. } => {
                assert!((100..=599).contains(&status));
                let _ = http::response_framing(&message.head, status, None);
            }
        }
        for (_, value) in message.head.headers() {
            let mut buffer = [0u8; 253];
            if let Some(name) = http::host_name(value, &mut buffer) {
                assert!(!name.is_empty() && name.len() <= 253);
            }
            let _ = http::is_basic(value);
        }
    }
    let meta = dissect::flow(Transport::Tcp, 80);
    let mut dissector = HttpDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, data);
    } else {
        dissect::drive(&mut dissector, meta, data);
    }
});
