//! Fuzzes the SIP start-line and head parsers and the dissector over UDP and TCP (records or
//! whole, see `common/dissect.rs`).
//!
//! Property: over TCP, the facts reported never depend on how the stream is cut into chunks.
#![no_main]

use ironward_proto::sip::{self, SipDissector};
use ironward_proto::text::Head;
use ironward_proto::{Direction, Dissector, FlowMeta, Observations, StreamChunk, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fn facts_in_chunks(meta: FlowMeta, data: &[u8], size: usize) -> Vec<(Direction, String, String)> {
    let mut dissector = SipDissector::default();
    let mut out = Observations::default();
    let mut facts = Vec::new();
    for direction in [Direction::ClientToServer, Direction::ServerToClient] {
        for piece in data.chunks(size.max(1)) {
            dissector.on_stream(&meta, direction, StreamChunk::Data(piece), &mut out);
        }
        facts.extend(out.drain_facts().map(|f| {
            (
                direction,
                f.attribute.as_str().to_owned(),
                f.value.into_owned(),
            )
        }));
    }
    facts
}

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    if let Ok(head) = Head::parse(rest) {
        if let Ok(message) = sip::parse_head(&head) {
            assert!(message.headers.vias <= rest.len());
            let _ = message.originated_by_sender();
        }
    }
    let _ = sip::looks_like_sip(rest);
    match first % 5 {
        0 => dissect::drive_whole(
            &mut SipDissector::default(),
            dissect::flow(Transport::Udp, sip::PORT),
            rest,
        ),
        1 => dissect::drive(
            &mut SipDissector::default(),
            dissect::flow(Transport::Udp, sip::PORT),
            rest,
        ),
        2 => dissect::drive_whole(
            &mut SipDissector::default(),
            dissect::flow(Transport::Tcp, sip::PORT),
            rest,
        ),
        3 => dissect::drive(
            &mut SipDissector::default(),
            dissect::flow(Transport::Tcp, sip::PORT),
            rest,
        ),
        _ => {
            let meta = dissect::flow(Transport::Tcp, sip::PORT);
            let whole = facts_in_chunks(meta, rest, rest.len());
            let size = usize::from(first / 5) + 1;
            assert_eq!(whole, facts_in_chunks(meta, rest, size), "chunks of {size}");
        }
    }
});
