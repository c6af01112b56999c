//! Fuzzes the RTSP start-line and head parsers and the dissector (streams as records or whole,
//! see `common/dissect.rs`).
//!
//! Property: the facts reported never depend on how a stream is cut into chunks (heads split
//! across chunks are buffered up to the same bound a whole head is held to).
#![no_main]

use ironward_model::Timestamp;
use ironward_proto::rtsp::{self, RtspDissector};
use ironward_proto::text::Head;
use ironward_proto::{Direction, Dissector, FlowMeta, Observations, StreamChunk, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

/// The facts a fresh dissector reports for `data` sent in chunks of `size` bytes, in each
/// direction.
fn facts_in_chunks(
    dissector: &mut dyn Dissector,
    meta: FlowMeta,
    data: &[u8],
    size: usize,
) -> Vec<(Direction, String, String)> {
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
        if let Ok(message) = rtsp::parse_head(&head) {
            for value in [message.headers.server, message.headers.user_agent]
                .into_iter()
                .flatten()
            {
                assert!(value.len() < rest.len());
            }
        }
    }
    let _ = rtsp::looks_like_rtsp(rest);
    let meta = FlowMeta {
        now: Timestamp(1),
        ..dissect::flow(Transport::Tcp, rtsp::PORT)
    };
    match first % 3 {
        0 => dissect::drive_whole(&mut RtspDissector::default(), meta, rest),
        1 => dissect::drive(&mut RtspDissector::default(), meta, rest),
        _ => {
            let whole = facts_in_chunks(&mut RtspDissector::default(), meta, rest, rest.len());
            let size = usize::from(first / 3) + 1;
            let split = facts_in_chunks(&mut RtspDissector::default(), meta, rest, size);
            assert_eq!(whole, split, "chunks of {size}");
        }
    }
});
