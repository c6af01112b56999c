//! Property fuzzing of TCP reassembly (through the flow table) and of IP defragmentation.
//!
//! The first input byte picks the mode. TCP mode reads 5-byte segment descriptors and sends
//! segments whose payload byte at sequence number `s` is always `pattern(sender, s)`; whatever
//! the order, overlaps, losses, flags and limits, every delivered byte must sit at its own
//! sequence number (so nothing is delivered twice or out of place), nothing follows `End`, and
//! buffered bytes never exceed the caps. Defrag mode pushes fragments of datagrams whose byte at
//! offset `o` is `pattern(id, o)` (unless a fragment is deliberately corrupted) and checks the
//! output and the bounds.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ironward_sensor::defrag::{DefragConfig, Defragmenter};
use ironward_sensor::flow::{
    Direction, EndReason, FlowConfig, FlowHandler, FlowInfo, FlowTable, PacketMeta,
};
use ironward_sensor::reassembly::{
    ReassemblyBudget, ReassemblyConfig, StreamChunk, StreamReassembler,
};
use ironward_wire::{Ipv4Summary, TcpSummary, Vlans};
use libfuzzer_sys::fuzz_target;

/// The pattern key of a sender: its side (0 for the 4000x ports, 1 for 50x), so both port
/// pairs carry the same byte at the same sequence number.
fn side(port: u16) -> u32 {
    u32::from(port < 40000)
}

fn pattern(key: u32, pos: u32) -> u8 {
    let x = (u64::from(pos) ^ (u64::from(key) << 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8
}

/// An owned chunk, recorded during `process` and checked afterwards.
enum Owned {
    Data(Vec<u8>),
    Gap(u32),
    End,
}

#[derive(Default)]
struct Recorder {
    /// (flow id, sending port, chunk)
    chunks: Vec<(u64, u16, Owned)>,
}

fn sender_port(flow: &FlowInfo, dir: Direction) -> u16 {
    match dir {
        Direction::ClientToServer => flow.client.port(),
        Direction::ServerToClient => flow.server.port(),
    }
}

impl FlowHandler<()> for Recorder {
    fn on_datagram(&mut self, _: &FlowInfo, _: &mut (), _: Direction, _: &[u8]) {
        panic!("TCP only");
    }
    fn on_stream(&mut self, flow: &FlowInfo, _: &mut (), dir: Direction, chunk: StreamChunk<'_>) {
        let c = match chunk {
            StreamChunk::Data(d) => {
                assert!(!d.is_empty());
                Owned::Data(d.to_vec())
            }
            StreamChunk::Gap(n) => {
                assert!(n > 0);
                Owned::Gap(n)
            }
            StreamChunk::End => Owned::End,
        };
        self.chunks.push((flow.id, sender_port(flow, dir), c));
    }
    fn on_flow_end(&mut self, _: &FlowInfo, _: (), _: EndReason) {}
}

/// Per (flow id, sending port): next expected sequence number, and whether End was seen.
type Positions = HashMap<(u64, u16), (u32, bool)>;

fn check(rec: &mut Recorder, pos: &mut Positions) {
    for (id, port, c) in rec.chunks.drain(..) {
        // A RST ends both directions, even one that never sent anything.
        if matches!(c, Owned::End) {
            pos.entry((id, port)).or_insert((0, false));
        }
        let Some((p, ended)) = pos.get_mut(&(id, port)) else {
            panic!("chunk for a stream that never started");
        };
        assert!(!*ended, "chunk after End");
        match c {
            Owned::Data(d) => {
                for (i, b) in d.iter().enumerate() {
                    assert_eq!(*b, pattern(side(port), p.wrapping_add(i as u32)));
                }
                *p = p.wrapping_add(d.len() as u32);
            }
            Owned::Gap(n) => *p = p.wrapping_add(n),
            Owned::End => *ended = true,
        }
    }
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

fn tcp_mode(data: &[u8]) {
    if data.len() < 12 {
        return;
    }
    let cfg = ReassemblyConfig {
        max_buffered_per_stream: usize::from(data[0] % 65),
        max_buffered_total: usize::from(data[1] % 97),
        max_segments_per_stream: 1 + usize::from(data[2] % 8),
    };
    let mut table: FlowTable<()> = FlowTable::new(FlowConfig {
        max_flows: 1 + usize::from(data[3] % 2),
        tcp_idle_ns: 1_000_000,
        tcp_closed_linger_ns: 100_000,
        udp_idle_ns: 1_000_000,
        other_idle_ns: 1_000_000,
        reassembly: cfg,
    });
    let mut cursor = [
        u32::from_le_bytes([data[4], data[5], data[6], data[7]]),
        u32::from_le_bytes([data[8], data[9], data[10], data[11]]),
    ];
    // A standalone reassembler per sender, to check the per-stream caps directly.
    let mut solo = [StreamReassembler::new(), StreamReassembler::new()];
    let mut solo_budget = ReassemblyBudget::new(cfg.max_buffered_total);
    let mut solo_pos: [Option<u32>; 2] = [None, None];
    let mut rec = Recorder::default();
    let mut pos = Positions::new();
    let mut ts = 0i64;
    let mut payload = Vec::with_capacity(64);
    for d in data[12..].chunks_exact(5) {
        let sender = usize::from(d[0] & 1);
        let pair = u16::from((d[0] >> 1) & 1);
        let mut flags = 0;
        for (bit, f) in [(2, SYN), (3, FIN), (4, RST), (5, ACK)] {
            if d[0] & (1 << bit) != 0 {
                flags |= f;
            }
        }
        // Make RST rare-ish: only with ACK and FIN bits both set.
        if flags & RST != 0 && flags & (FIN | ACK) != (FIN | ACK) {
            flags &= !RST;
        }
        ts += if d[0] & 0x80 != 0 { 500_000 } else { 1_000 };
        let delta = i16::from_le_bytes([d[1], d[2]]);
        let seq = cursor[sender].wrapping_add(delta as i32 as u32);
        let len = u32::from(d[3] % 64);
        let ack = cursor[1 - sender].wrapping_add(d[4] as i8 as i32 as u32);
        let ports = [40000 + pair, 502 + pair];
        let start = seq.wrapping_add(u32::from(flags & SYN != 0));
        payload.clear();
        payload.extend((0..len).map(|i| pattern(side(ports[sender]), start.wrapping_add(i))));
        cursor[sender] = start.wrapping_add(len);
        let t = TcpSummary {
            src_port: ports[sender],
            dst_port: ports[1 - sender],
            seq,
            ack,
            flags,
            ..TcpSummary::default()
        };
        let addrs = [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        ];
        let pkt = PacketMeta {
            timestamp_ns: ts,
            wire_len: 54 + len,
            vlans: Vlans::default(),
            src: addrs[sender],
            dst: addrs[1 - sender],
            protocol: 6,
            src_port: ports[sender],
            dst_port: ports[1 - sender],
            tcp: Some(&t),
            payload: &payload,
        };
        let (id, _) = table.process(&pkt, |_| (), &mut rec);
        pos.entry((id, ports[sender])).or_insert((start, false));
        check(&mut rec, &mut pos);
        let st = table.stats();
        assert!(st.reassembly_bytes_buffered <= cfg.max_buffered_total as u64);
        if d[0] & 0x80 != 0 {
            table.expire(ts, &mut rec);
            check(&mut rec, &mut pos);
        }

        // The same segment through a standalone reassembler (only SYN and FIN matter there):
        // checks the per-stream caps, which the flow table does not expose.
        let s = &mut solo[sender];
        let sp = solo_pos[sender].get_or_insert(start);
        let key = side(ports[sender]);
        s.segment(
            seq,
            flags & SYN != 0,
            flags & FIN != 0,
            &payload,
            &cfg,
            &mut solo_budget,
            &mut |c| match c {
                StreamChunk::Data(b) => {
                    for (i, x) in b.iter().enumerate() {
                        assert_eq!(*x, pattern(key, sp.wrapping_add(i as u32)));
                    }
                    *sp = sp.wrapping_add(b.len() as u32);
                }
                StreamChunk::Gap(n) => *sp = sp.wrapping_add(n),
                StreamChunk::End => {}
            },
        );
        assert!(s.buffered() <= cfg.max_buffered_per_stream);
        assert!(solo_budget.used() <= cfg.max_buffered_total);
    }
    table.flush(&mut rec);
    check(&mut rec, &mut pos);
    let st = table.stats();
    assert_eq!(st.reassembly_bytes_buffered, 0);
    assert_eq!(st.active, 0);
}

fn defrag_mode(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let cfg = DefragConfig {
        max_datagrams: 1 + usize::from(data[0] % 4),
        max_bytes_total: 64 + usize::from(data[1]) * 8,
        max_datagram_len: 65535,
        max_fragments_per_datagram: 1 + usize::from(data[2] % 16),
        timeout_ns: 10_000,
    };
    let mut df = Defragmenter::new(cfg);
    let mut dirty = [false; 4];
    let mut ts = 0i64;
    let mut buf = Vec::new();
    for d in data[3..].chunks_exact(5) {
        let id = usize::from(d[0] & 3);
        let mf = d[0] & 4 != 0;
        let corrupt = d[0] & 8 != 0;
        ts += if d[0] & 0x10 != 0 { 6_000 } else { 10 };
        let offset = u16::from_le_bytes([d[1], d[2]]) & !7;
        let len = usize::from(d[3]) * if d[0] & 0x20 != 0 { 64 } else { 1 };
        buf.clear();
        buf.extend((0..len).map(|i| {
            let b = pattern(id as u32, u32::from(offset) + i as u32);
            if corrupt {
                b ^ d[4] | 1
            } else {
                b
            }
        }));
        dirty[id] |= corrupt;
        let ip = Ipv4Summary {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: 17,
            ttl: 64,
            identification: id as u16,
            dont_fragment: false,
            more_fragments: mf,
            fragment_offset: offset,
            header_len: 20,
            total_len: 0,
            checksum_ok: None,
            options: &[],
            payload: &buf,
        };
        if let Some(r) = df.push_v4(ts, &ip, Vlans::default(), 100) {
            assert!(r.payload.len() <= cfg.max_datagram_len);
            assert!(r.fragments >= 1);
            if !dirty[id] {
                for (o, b) in r.payload.iter().enumerate() {
                    assert_eq!(*b, pattern(id as u32, o as u32));
                }
            }
            dirty[id] = false;
        }
        let st = df.stats();
        assert!(st.pending <= cfg.max_datagrams as u64);
        assert!(st.bytes_buffered <= cfg.max_bytes_total as u64);
    }
    df.expire(i64::MAX);
    assert_eq!(df.stats().bytes_buffered, 0);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((m, rest)) if m & 1 == 0 => tcp_mode(rest),
        Some((_, rest)) => defrag_mode(rest),
        None => {}
    }
});
