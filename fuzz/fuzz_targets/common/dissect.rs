//! Drives one dissector with fuzzer-chosen traffic: the input is a list of records, each a
//! control byte (bit 0: direction; bits 1-2 for streams: 0-1 data, 2 gap, 3 end), a length byte
//! and that many payload bytes. Every call must return without panicking, and what the
//! dissector reports must stay within the documented bounds.

#![allow(dead_code)]

use ironward_model::Timestamp;
use ironward_proto::{Direction, Dissector, FlowMeta, Observations, StreamChunk, Transport};

/// A flow between two documentation addresses on `server_port`.
pub fn flow(transport: Transport, server_port: u16) -> FlowMeta {
    FlowMeta {
        id: 1,
        transport,
        client: ([192, 0, 2, 1], 40000).into(),
        server: ([192, 0, 2, 2], server_port).into(),
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    }
}

/// Feeds `data`, split into records, to `dissector`.
pub fn drive(dissector: &mut dyn Dissector, meta: FlowMeta, data: &[u8]) {
    let mut out = Observations::default();
    let mut rest = data;
    while let [control, length, tail @ ..] = rest {
        let len = usize::from(*length).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        let direction = if control & 1 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        match meta.transport {
            Transport::Tcp => {
                let chunk = match (control >> 1) & 3 {
                    2 => StreamChunk::Gap(u32::from(*length)),
                    3 => StreamChunk::End,
                    _ => StreamChunk::Data(payload),
                };
                dissector.on_stream(&meta, direction, chunk, &mut out);
            }
            _ => dissector.on_datagram(&meta, direction, payload, &mut out),
        }
        check(&mut out);
    }
    dissector.on_end(&meta, &mut out);
    check(&mut out);
}

/// Feeds `data` as one whole datagram or stream chunk per direction (the shape most real
/// traffic has), which reaches deeper into parsers than many small records.
pub fn drive_whole(dissector: &mut dyn Dissector, meta: FlowMeta, data: &[u8]) {
    let mut out = Observations::default();
    match meta.transport {
        Transport::Tcp => {
            dissector.on_stream(
                &meta,
                Direction::ClientToServer,
                StreamChunk::Data(data),
                &mut out,
            );
            dissector.on_stream(
                &meta,
                Direction::ServerToClient,
                StreamChunk::Data(data),
                &mut out,
            );
        }
        _ => {
            dissector.on_datagram(&meta, Direction::ClientToServer, data, &mut out);
            dissector.on_datagram(&meta, Direction::ServerToClient, data, &mut out);
        }
    }
    dissector.on_end(&meta, &mut out);
    check(&mut out);
}

fn check(out: &mut Observations) {
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty());
        assert!(fact.value.len() <= ironward_proto::observations::MAX_VALUE_LEN);
        assert!(fact.confidence <= 100);
    }
    out.drain_events().for_each(drop);
}
