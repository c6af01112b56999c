//! Fuzzes the DHCPv6 parser and dissector: relay unwrapping, options, DUIDs, vendor class and
//! IA_NA addresses on the raw input, then the dissector on the same bytes as whole datagrams or
//! as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::value::ValueBuf;
use ironward_proto::dhcpv6::{self, Dhcpv6Dissector, Duid, Options};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(unwrapped) = dhcpv6::parse(data) {
        assert!(unwrapped.relays <= dhcpv6::MAX_RELAY_DEPTH);
        for option in unwrapped.message.options().map_while(Result::ok) {
            let _ = Duid::parse(option.data).map(|duid| duid.mac());
            let mut text = ValueBuf::<512>::new();
            let _ = dhcpv6::vendor_class(option.data, &mut text);
            assert!(dhcpv6::ia_na_addresses(option.data).count() <= option.data.len() / 28);
        }
    }
    // The option walker on its own: every option consumes at least its 4-byte header.
    assert!(Options::new(data).count() <= data.len() / 4 + 1);
    for port in [dhcpv6::SERVER_PORT, dhcpv6::CLIENT_PORT] {
        let meta = dissect::flow(Transport::Udp, port);
        if first & 1 == 0 {
            dissect::drive_whole(&mut Dhcpv6Dissector, meta, data);
        } else {
            dissect::drive(&mut Dhcpv6Dissector, meta, data);
        }
    }
});
