//! Fuzzes the mDNS / DNS-SD dissector: DNS-SD name helpers on the parsed input, then the
//! dissector on the same bytes as whole datagrams or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::dns::{Entry, Message, RData};
use ironward_proto::{mdns, Direction, DissectorRegistry, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|input: &[u8]| {
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(message) = Message::parse(data) {
        for entry in message.entries() {
            let Ok(Entry::Record(record)) = entry else {
                continue;
            };
            if let Some((kind, transport)) = mdns::service_type(&record.name) {
                assert!(kind.len() > 1 && kind[0] == b'_');
                assert!(
                    transport.eq_ignore_ascii_case(b"_tcp")
                        || transport.eq_ignore_ascii_case(b"_udp")
                );
            }
            if let Ok(RData::Txt(txt)) = record.data() {
                for (key, _) in txt.entries() {
                    let _ = mdns::txt_attribute(key);
                }
            }
        }
    }
    let mut registry = DissectorRegistry::new();
    mdns::register(&mut registry);
    let meta = dissect::flow(Transport::Udp, mdns::PORT);
    let mut dissector = registry
        .select(&meta, Direction::ClientToServer, &[])
        .expect("port 5353 is mDNS");
    if first & 1 == 0 {
        dissect::drive_whole(&mut *dissector, meta, data);
    } else {
        dissect::drive(&mut *dissector, meta, data);
    }
});
