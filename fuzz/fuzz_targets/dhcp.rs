//! Fuzzes the DHCPv4 parser and dissector: the parser on the raw input (options, overload,
//! FQDN and hex helpers), then the dissector on the same bytes as whole datagrams or as
//! records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::dhcp::{self, DhcpDissector};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(message) = dhcp::parse(data) {
        let mut options = 0usize;
        for option in message.options() {
            options += 1;
            // Each option takes at least two bytes of one of the three areas.
            assert!(options <= data.len());
            let Ok(option) = option else { break };
            let mut text = ValueBuf::<256>::new();
            let _ = dhcp::fqdn_name(option.data, &mut text);
            assert!(text.as_bytes().len() <= 256);
            let mut hex = ValueBuf::<768>::new();
            assert!(dhcp::hex_colon(option.data, &mut hex).is_ok());
        }
        let _ = message.message_type();
        let _ = message.client_mac();
    }
    for port in [dhcp::SERVER_PORT, dhcp::CLIENT_PORT] {
        let meta = dissect::flow(Transport::Udp, port);
        if first & 1 == 0 {
            dissect::drive_whole(&mut DhcpDissector, meta, data);
        } else {
            dissect::drive(&mut DhcpDissector, meta, data);
        }
    }
});
