//! Fuzzes the DNS message parser and the unicast DNS dissector: the parser on the raw input
//! (every entry, every record's typed data, names written out and compared, reverse names),
//! checking the documented bounds; then the dissector over UDP and over TCP (length-prefixed
//! messages split across records, gaps and ends) on the same bytes.
#![no_main]

use ironward_proto::dns::{self, Entry, Message, RData, MAX_LABELS};
use ironward_proto::{Direction, Dissector, DissectorRegistry, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

/// Checks a name's bounds: at most 127 labels, at most 253 bytes written out.
fn check_name(name: &dns::Name<'_>) {
    assert!(name.labels().count() <= MAX_LABELS);
    let text = name.to_buf();
    assert!(text.len() <= 253);
    let _ = name.eq_ignore_ascii_case("a.b.example");
    let _ = dns::reverse_address(name);
}

fn dissector(transport: Transport) -> Box<dyn Dissector> {
    let mut registry = DissectorRegistry::new();
    dns::register(&mut registry);
    let meta = dissect::flow(transport, dns::PORT);
    registry
        .select(&meta, Direction::ClientToServer, &[])
        .expect("port 53 is DNS")
}

fuzz_target!(|input: &[u8]| {
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    if let Ok(message) = Message::parse(data) {
        let mut entries = 0usize;
        for entry in message.entries() {
            entries += 1;
            // Every entry takes at least five bytes after the header.
            assert!(entries * 5 <= data.len());
            match entry {
                Ok(Entry::Question(q)) => check_name(&q.name),
                Ok(Entry::Record(record)) => {
                    check_name(&record.name);
                    match record.data() {
                        Ok(RData::Ptr(name) | RData::Cname(name)) => check_name(&name),
                        Ok(RData::Srv(srv)) => check_name(&srv.target),
                        Ok(RData::Txt(txt)) => {
                            assert!(txt.strings().count() <= record.rdata.len());
                            for (key, _) in txt.entries() {
                                assert!(!key.is_empty() || record.rdata.len() > 1);
                            }
                        }
                        _ => {}
                    }
                    let _ = dns::address_name(&record);
                }
                Err(_) => {}
            }
        }
    }
    let transport = if first & 2 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let meta = dissect::flow(transport, dns::PORT);
    let mut dissector = dissector(transport);
    if first & 1 == 0 {
        dissect::drive_whole(&mut *dissector, meta, data);
    } else {
        dissect::drive(&mut *dissector, meta, data);
    }
});
