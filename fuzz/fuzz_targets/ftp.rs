//! Fuzzes the FTP line parsers and dissector: replies, commands and greetings on every line of
//! the raw input, then the dissector (multi-line replies, logins, AUTH TLS) on the same bytes as
//! whole stream chunks or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::ftp::{self, FtpDissector};
use ironward_proto::{Direction, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    for line in data.split(|&b| b == b'\n') {
        if let Ok(reply) = ftp::parse_reply(line) {
            assert!((100..600).contains(&reply.code));
            assert!(ftp::greeting_software(reply.text).len() <= reply.text.len());
        }
        if let Ok(command) = ftp::parse_command(line) {
            assert!((3..=8).contains(&command.verb.len()));
        }
    }
    let meta = dissect::flow(Transport::Tcp, ftp::PORT);
    let mut dissector = FtpDissector::new(Direction::ServerToClient);
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, data);
    } else {
        dissect::drive(&mut dissector, meta, data);
    }
});
