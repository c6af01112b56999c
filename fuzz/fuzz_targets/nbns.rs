//! Fuzzes the NetBIOS name service parser (records, NB address lists, node status) and the
//! datagram service / SMB mailslot / browser parsers on the raw input, then the name service
//! (UDP 137) or datagram service (UDP 138) dissector on the same bytes.
#![no_main]

use ironward_proto::nbns::{self, Packet};
use ironward_proto::{Direction, DissectorRegistry, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(packet) = Packet::parse(data) {
        for record in packet.records() {
            let Ok(record) = record else { break };
            assert!(record.name.name().len() <= 15);
            if let Ok(addresses) = record.addresses() {
                assert!(addresses.count() * 6 == record.rdata.len());
            }
            if let Ok(status) = record.node_status() {
                assert!(status.names().count() * 18 < record.rdata.len());
            }
        }
    }
    if let Ok(datagram) = nbns::parse_datagram(data) {
        assert!(datagram.user_data.len() <= data.len());
        if let Ok(mailslot) = nbns::parse_mailslot(datagram.user_data) {
            if let Ok(nbns::BrowseMessage::Announcement(a)) = nbns::parse_browse(mailslot.data) {
                assert!(a.server_name.len() <= 16);
                assert!(nbns::server_type_names(a.server_type).count() <= 24);
            }
        }
    }
    let port = if first & 2 == 0 {
        nbns::NAME_PORT
    } else {
        nbns::DATAGRAM_PORT
    };
    let mut registry = DissectorRegistry::new();
    nbns::register(&mut registry);
    let meta = dissect::flow(Transport::Udp, port);
    let mut dissector = registry
        .select(&meta, Direction::ClientToServer, &[])
        .expect("ports 137 and 138 are NetBIOS");
    if first & 1 == 0 {
        dissect::drive_whole(&mut *dissector, meta, data);
    } else {
        dissect::drive(&mut *dissector, meta, data);
    }
});
