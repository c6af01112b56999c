//! Fuzzes the RDP parsers and dissector: Connection Request and Confirm, the MCS/GCC user data
//! walk, client name and server certificate extraction on the raw input, then the dissector on
//! the same bytes as whole stream chunks or as records (see `common/dissect.rs`), which also
//! reaches the TLS session behind a negotiated TLS protocol.
#![no_main]

use ironward_proto::rdp::{self, ConnectionRequest, Negotiation, RdpDissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let _ = ConnectionRequest::parse(data);
    let _ = Negotiation::parse(data);
    if let Ok(blocks) = rdp::gcc_user_data(data) {
        for (_, block) in rdp::user_data_blocks(blocks) {
            assert!(block.len() >= 4 && block.len() <= blocks.len());
            if let Some(name) = rdp::client_name(block) {
                assert!(name.chars().count() <= 16);
            }
            let _ = rdp::server_certificate(block);
        }
    }
    let _ = rdp::client_name(data);
    let _ = rdp::server_certificate(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, rdp::RDP_PORT);
    let mut dissector = RdpDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
