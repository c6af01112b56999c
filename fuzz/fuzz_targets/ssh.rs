//! Fuzzes the SSH identification-line parser and dissector: the parser on the raw input, then
//! the dissector on the same bytes as whole stream chunks or as records (see
//! `common/dissect.rs`).
#![no_main]

use ironward_proto::ssh::{Identification, SshDissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = Identification::parse(data) {
        assert!(!id.software.is_empty() && !id.proto_version.is_empty());
        let tail = id.software_and_comments(data);
        assert!(tail.starts_with(id.software));
        let _ = (id.os(), id.is_v1_only());
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 22);
    let mut dissector = SshDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
