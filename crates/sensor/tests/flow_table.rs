//! Flow table and TCP reassembly, driven through `FlowTable::process` with hand-built packets.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ironward_sensor::flow::{
    Direction, EndReason, FlowConfig, FlowHandler, FlowInfo, FlowTable, Orientation, PacketMeta,
    TcpState,
};
use ironward_sensor::reassembly::{ReassemblyConfig, StreamChunk};
use ironward_wire::{TcpSummary, Vlans};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const SEC: i64 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Datagram(u64, Direction, Vec<u8>),
    Data(u64, Direction, Vec<u8>),
    Gap(u64, Direction, u32),
    End(u64, Direction),
    FlowEnd(u64, EndReason),
}

#[derive(Default)]
struct Rec {
    events: Vec<Ev>,
    ended: Vec<FlowInfo>,
}

impl Rec {
    /// Concatenated data of one direction of one flow (gaps ignored).
    fn stream(&self, id: u64, dir: Direction) -> Vec<u8> {
        let mut v = Vec::new();
        for e in &self.events {
            if let Ev::Data(i, d, b) = e {
                if *i == id && *d == dir {
                    v.extend_from_slice(b);
                }
            }
        }
        v
    }

    /// Chunks of one direction with consecutive data merged.
    fn chunks(&self, id: u64, dir: Direction) -> Vec<Ev> {
        let mut out: Vec<Ev> = Vec::new();
        for e in &self.events {
            match e {
                Ev::Data(i, d, b) if *i == id && *d == dir => match out.last_mut() {
                    Some(Ev::Data(_, _, prev)) => prev.extend_from_slice(b),
                    _ => out.push(e.clone()),
                },
                Ev::Gap(i, d, _) | Ev::End(i, d) if *i == id && *d == dir => out.push(e.clone()),
                _ => {}
            }
        }
        out
    }

    fn gaps(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Ev::Gap(..)))
            .count()
    }
}

/// The per-flow state counts handler calls, to check that the state is threaded through.
impl FlowHandler<u32> for Rec {
    fn on_datagram(&mut self, flow: &FlowInfo, state: &mut u32, dir: Direction, payload: &[u8]) {
        *state += 1;
        self.events
            .push(Ev::Datagram(flow.id, dir, payload.to_vec()));
    }

    fn on_stream(
        &mut self,
        flow: &FlowInfo,
        state: &mut u32,
        dir: Direction,
        chunk: StreamChunk<'_>,
    ) {
        *state += 1;
        self.events.push(match chunk {
            StreamChunk::Data(d) => {
                assert!(!d.is_empty(), "empty data chunk");
                Ev::Data(flow.id, dir, d.to_vec())
            }
            StreamChunk::Gap(n) => Ev::Gap(flow.id, dir, n),
            StreamChunk::End => Ev::End(flow.id, dir),
        });
    }

    fn on_flow_end(&mut self, flow: &FlowInfo, _state: u32, reason: EndReason) {
        self.events.push(Ev::FlowEnd(flow.id, reason));
        self.ended.push(flow.clone());
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

struct Net {
    table: FlowTable<u32>,
    rec: Rec,
    ts: i64,
}

impl Net {
    fn new(cfg: FlowConfig) -> Net {
        Net {
            table: FlowTable::new(cfg),
            rec: Rec::default(),
            ts: 0,
        }
    }

    fn huge_timeouts() -> Net {
        Net::new(FlowConfig {
            tcp_idle_ns: i64::MAX / 2,
            ..FlowConfig::default()
        })
    }

    /// A TCP segment from `from` to `to` (endpoints as (last octet, port)).
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        from: (u8, u16),
        to: (u8, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        data: &[u8],
    ) -> (u64, Direction) {
        self.ts += 1000;
        let t = TcpSummary {
            src_port: from.1,
            dst_port: to.1,
            seq,
            ack,
            flags,
            window: 65535,
            ..TcpSummary::default()
        };
        let pkt = PacketMeta {
            timestamp_ns: self.ts,
            wire_len: 54 + data.len() as u32,
            vlans: Vlans::default(),
            src: ip(from.0),
            dst: ip(to.0),
            protocol: 6,
            src_port: from.1,
            dst_port: to.1,
            tcp: Some(&t),
            payload: data,
        };
        self.table.process(&pkt, |_| 0, &mut self.rec)
    }

    fn udp(&mut self, from: (u8, u16), to: (u8, u16), data: &[u8]) -> (u64, Direction) {
        self.ts += 1000;
        let pkt = PacketMeta {
            timestamp_ns: self.ts,
            wire_len: 42 + data.len() as u32,
            vlans: Vlans::default(),
            src: ip(from.0),
            dst: ip(to.0),
            protocol: 17,
            src_port: from.1,
            dst_port: to.1,
            tcp: None,
            payload: data,
        };
        self.table.process(&pkt, |_| 0, &mut self.rec)
    }

    fn flush(&mut self) {
        self.table.flush(&mut self.rec);
    }

    fn info(&self, id: u64) -> FlowInfo {
        self.rec
            .ended
            .iter()
            .find(|f| f.id == id)
            .cloned()
            .expect("flow ended")
    }
}

const C: (u8, u16) = (1, 40000);
const S: (u8, u16) = (2, 5555);
use Direction::{ClientToServer as C2S, ServerToClient as S2C};

/// SYN, SYN+ACK, ACK with ISNs 1000 (client) and 5000 (server).
fn handshake(n: &mut Net) -> u64 {
    let (id, dir) = n.tcp(C, S, 1000, 0, SYN, b"");
    assert_eq!(dir, C2S);
    assert_eq!(n.tcp(S, C, 5000, 1001, SYN | ACK, b"").1, S2C);
    n.tcp(C, S, 1001, 5001, ACK, b"");
    id
}

#[test]
fn handshake_orientation_and_close() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK | PSH, b"hello");
    n.tcp(S, C, 5001, 1006, ACK | PSH, b"world!");
    n.tcp(C, S, 1006, 5007, FIN | ACK, b"");
    n.tcp(S, C, 5007, 1007, FIN | ACK, b"");
    n.tcp(C, S, 1007, 5008, ACK, b"");
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![Ev::Data(id, C2S, b"hello".to_vec()), Ev::End(id, C2S)]
    );
    assert_eq!(
        n.rec.chunks(id, S2C),
        vec![Ev::Data(id, S2C, b"world!".to_vec()), Ev::End(id, S2C)]
    );
    // Closed flows linger, then end as Closed.
    n.table.expire(n.ts + 11 * SEC, &mut n.rec);
    let info = n.info(id);
    assert_eq!(info.client, SocketAddr::new(ip(1), 40000));
    assert_eq!(info.server, SocketAddr::new(ip(2), 5555));
    assert_eq!(info.orientation, Orientation::Handshake);
    assert_eq!(info.tcp_state, Some(TcpState::Closed));
    assert_eq!(info.packets, [5, 3]);
    assert_eq!(info.bytes, [5 * 54 + 5, 3 * 54 + 6]);
    assert_eq!(
        n.rec.events.last(),
        Some(&Ev::FlowEnd(id, EndReason::Closed))
    );
    assert_eq!(n.table.stats().active, 0);
    assert_eq!(n.table.stats().flows_closed, 1);
}

#[test]
fn tcp_states_through_handshake() {
    let mut n = Net::huge_timeouts();
    n.tcp(C, S, 1000, 0, SYN, b"");
    n.tcp(S, C, 5000, 1001, SYN | ACK, b"");
    n.flush();
    assert_eq!(n.info(1).tcp_state, Some(TcpState::SynReceived));
    let mut n = Net::huge_timeouts();
    handshake(&mut n);
    n.flush();
    assert_eq!(n.info(1).tcp_state, Some(TcpState::Established));
}

#[test]
fn syn_ack_first_then_late_syn_joins() {
    let mut n = Net::huge_timeouts();
    let (id, dir) = n.tcp(S, C, 5000, 1001, SYN | ACK, b"");
    assert_eq!(dir, S2C);
    let (id2, dir2) = n.tcp(C, S, 1000, 0, SYN, b"");
    assert_eq!((id2, dir2), (id, C2S));
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abc");
    assert_eq!(n.info(id).client.port(), 40000);
}

#[test]
fn mid_stream_pickup_with_well_known_port() {
    let mut n = Net::huge_timeouts();
    let plc = (2, 502);
    // First packet is a response from the Modbus server.
    let (id, dir) = n.tcp(plc, C, 777, 300, ACK | PSH, b"resp1");
    assert_eq!(dir, S2C);
    n.tcp(C, plc, 300, 782, ACK | PSH, b"req2");
    n.tcp(plc, C, 782, 304, ACK | PSH, b"resp2");
    n.flush();
    let info = n.info(id);
    assert_eq!(info.orientation, Orientation::WellKnownPort);
    assert_eq!(info.server.port(), 502);
    assert_eq!(info.tcp_state, Some(TcpState::MidStream));
    assert_eq!(n.rec.stream(id, S2C), b"resp1resp2");
    assert_eq!(n.rec.stream(id, C2S), b"req2");
    assert_eq!(n.rec.gaps(), 0);
    assert_eq!(
        n.rec.events.last(),
        Some(&Ev::FlowEnd(id, EndReason::Flushed))
    );
}

#[test]
fn udp_orientation() {
    let mut n = Net::huge_timeouts();
    // DNS response seen first: the port-53 side is still the server.
    let (a, d) = n.udp((2, 53), (1, 33000), b"answer");
    assert_eq!(d, S2C);
    // Two ephemeral ports: the first sender is the client.
    let (b, d) = n.udp((1, 50000), (2, 50001), b"x");
    assert_eq!(d, C2S);
    assert_eq!(n.udp((2, 50001), (1, 50000), b"y"), (b, S2C));
    // Two service ports: the lower one is the server.
    let (c, d) = n.udp((1, 502), (2, 161), b"z");
    assert_eq!(d, C2S);
    n.flush();
    assert_eq!(n.info(a).orientation, Orientation::WellKnownPort);
    assert_eq!(n.info(b).orientation, Orientation::FirstPacket);
    assert_eq!(n.info(c).server.port(), 161);
    assert_eq!(
        n.rec.events[..2],
        [
            Ev::Datagram(a, S2C, b"answer".to_vec()),
            Ev::Datagram(b, C2S, b"x".to_vec())
        ]
    );
}

#[test]
fn retransmission_delivered_once() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abcd");
    n.tcp(C, S, 1001, 5001, ACK, b"abcd");
    n.tcp(C, S, 1003, 5001, ACK, b"cd");
    n.tcp(C, S, 1005, 5001, ACK, b"e");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abcde");
}

#[test]
fn overlap_after_delivery_keeps_first_and_adds_tail() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abcd");
    n.tcp(C, S, 1003, 5001, ACK, b"XXef");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abcdef");
}

#[test]
fn overlap_out_of_order_first_received_wins() {
    // The later segment arrives first and is buffered; the earlier one overlaps it.
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1005, 5001, ACK, b"EFGH");
    n.tcp(C, S, 1001, 5001, ACK, b"abcdxx");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abcdEFGH");
    // And the other order: the early segment first.
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1003, 5001, ACK, b"cdEF");
    n.tcp(C, S, 1005, 5001, ACK, b"xxgh");
    n.tcp(C, S, 1001, 5001, ACK, b"ab");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abcdEFgh");
    assert_eq!(n.rec.gaps(), 0);
}

#[test]
fn out_of_order_then_fill() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1007, 5001, ACK, b"ghi");
    n.tcp(C, S, 1004, 5001, ACK, b"def");
    assert!(n.rec.stream(id, C2S).is_empty());
    assert_eq!(n.table.stats().reassembly_bytes_buffered, 6);
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    assert_eq!(n.rec.stream(id, C2S), b"abcdefghi");
    assert_eq!(n.table.stats().reassembly_bytes_buffered, 0);
}

#[test]
fn permanent_hole_is_gap_at_flush() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.tcp(C, S, 1010, 5001, ACK, b"jk");
    n.flush();
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![
            Ev::Data(id, C2S, b"abc".to_vec()),
            Ev::Gap(id, C2S, 6),
            Ev::Data(id, C2S, b"jk".to_vec())
        ]
    );
    let info = n.info(id);
    assert_eq!(info.gaps, [6, 0]);
    let st = n.table.stats();
    assert_eq!(st.streams_with_gaps, 1);
    assert_eq!(st.gap_bytes, 6);
    // The End of flow comes after the data.
    assert_eq!(
        n.rec.events.last(),
        Some(&Ev::FlowEnd(id, EndReason::Flushed))
    );
}

#[test]
fn ack_beyond_hole_releases_data() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.tcp(C, S, 1010, 5001, ACK, b"jk");
    n.tcp(S, C, 5001, 1012, ACK, b"");
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![
            Ev::Data(id, C2S, b"abc".to_vec()),
            Ev::Gap(id, C2S, 6),
            Ev::Data(id, C2S, b"jk".to_vec())
        ]
    );
    // More in-order data continues normally.
    n.tcp(C, S, 1012, 5001, ACK, b"l");
    assert_eq!(n.rec.stream(id, C2S), b"abcjkl");
}

#[test]
fn ack_before_data_does_not_fabricate_gap() {
    // SPAN reordering: the server's ACK is captured before the data it acknowledges.
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(S, C, 5001, 1004, ACK, b"");
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abc");
    assert_eq!(n.rec.gaps(), 0);
}

#[test]
fn fin_waits_for_missing_data() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1004, 5001, FIN | ACK, b"def");
    assert!(n.rec.chunks(id, C2S).is_empty());
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![Ev::Data(id, C2S, b"abcdef".to_vec()), Ev::End(id, C2S)]
    );
}

#[test]
fn ack_of_fin_gives_up_hole() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1004, 5001, FIN | ACK, b"def");
    n.tcp(S, C, 5001, 1008, ACK, b"");
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![
            Ev::Gap(id, C2S, 3),
            Ev::Data(id, C2S, b"def".to_vec()),
            Ev::End(id, C2S)
        ]
    );
}

#[test]
fn rst_ends_both_directions() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.tcp(S, C, 5005, 1004, ACK, b"late");
    n.tcp(S, C, 5009, 1004, RST | ACK, b"");
    assert_eq!(
        n.rec.chunks(id, S2C),
        vec![
            Ev::Gap(id, S2C, 4),
            Ev::Data(id, S2C, b"late".to_vec()),
            Ev::End(id, S2C)
        ]
    );
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![Ev::Data(id, C2S, b"abc".to_vec()), Ev::End(id, C2S)]
    );
    // Data after the reset is ignored; the flow is Reset.
    n.tcp(C, S, 1004, 5001, ACK, b"zzz");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abc");
    assert_eq!(n.info(id).tcp_state, Some(TcpState::Reset));
}

#[test]
fn sequence_wraps_at_2_32() {
    let mut n = Net::huge_timeouts();
    let isn = u32::MAX - 3;
    let (id, _) = n.tcp(C, S, isn, 0, SYN, b"");
    n.tcp(S, C, 9, isn.wrapping_add(1), SYN | ACK, b"");
    // 3 bytes before the wrap, then across it, then out of order after it.
    n.tcp(C, S, isn.wrapping_add(1), 10, ACK, b"abc");
    n.tcp(C, S, 3, 10, ACK, b"ghi");
    n.tcp(C, S, 0, 10, ACK, b"def");
    n.tcp(C, S, 6, 10, FIN | ACK, b"");
    assert_eq!(n.rec.stream(id, C2S), b"abcdefghi");
    assert_eq!(n.rec.chunks(id, C2S).last(), Some(&Ev::End(id, C2S)));
    assert_eq!(n.rec.gaps(), 0);
}

#[test]
fn port_reuse_after_close_starts_new_flow() {
    let mut n = Net::huge_timeouts();
    let id1 = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, FIN | ACK, b"");
    n.tcp(S, C, 5001, 1002, FIN | ACK, b"");
    n.tcp(C, S, 1002, 5002, ACK, b"");
    // Retransmitted final ACK stays in the old flow.
    assert_eq!(n.tcp(C, S, 1002, 5002, ACK, b"").0, id1);
    let (id2, dir) = n.tcp(C, S, 90000, 0, SYN, b"");
    assert!(id2 > id1);
    assert_eq!(dir, C2S);
    assert_eq!(
        n.rec.events.last(),
        Some(&Ev::FlowEnd(id1, EndReason::Closed))
    );
    n.tcp(S, C, 7000, 90001, SYN | ACK, b"");
    n.tcp(C, S, 90001, 7001, ACK, b"new");
    n.flush();
    assert_eq!(n.rec.stream(id2, C2S), b"new");
    assert_eq!(n.table.stats().port_reuses, 1);
    assert_eq!(n.table.stats().flows_created, 2);
}

#[test]
fn port_reuse_from_other_side_while_closing() {
    let mut n = Net::huge_timeouts();
    let id1 = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, FIN | ACK, b"");
    // The old server opens a connection to the old client's port.
    let (id2, dir) = n.tcp(S, C, 123, 0, SYN, b"");
    assert_ne!(id1, id2);
    assert_eq!(dir, C2S);
    n.flush();
    assert_eq!(n.info(id2).client.port(), 5555);
}

#[test]
fn retransmitted_syn_stays_in_flow() {
    let mut n = Net::huge_timeouts();
    let (id, _) = n.tcp(C, S, 1000, 0, SYN, b"");
    assert_eq!(n.tcp(C, S, 1000, 0, SYN, b"").0, id);
    assert_eq!(n.table.stats().flows_created, 1);
}

#[test]
fn syn_after_reset_starts_new_flow_unless_it_repeats_the_isn() {
    let mut n = Net::huge_timeouts();
    let (id1, _) = n.tcp(C, S, 1000, 0, SYN, b"");
    n.tcp(S, C, 0, 1001, RST | ACK, b"");
    // The client retries the refused port with the same ISN: the same attempt (tshark agrees,
    // Sample_File_MMS_and_GOOSE.pcap port 111).
    let (retry, _) = n.tcp(C, S, 1000, 0, SYN, b"");
    assert_eq!(id1, retry);
    n.tcp(S, C, 0, 1001, RST | ACK, b"");
    let (id2, _) = n.tcp(C, S, 9000, 0, SYN, b"");
    assert_ne!(id1, id2);
}

#[test]
fn idle_expiry_per_protocol() {
    let mut n = Net::new(FlowConfig {
        tcp_idle_ns: 300 * SEC,
        udp_idle_ns: 120 * SEC,
        ..FlowConfig::default()
    });
    let (u, _) = n.udp((1, 5000), (2, 53), b"q");
    let id = handshake(&mut n);
    n.tcp(C, S, 1005, 5001, ACK, b"tail");
    let t0 = n.ts;
    n.table.expire(t0 + 100 * SEC, &mut n.rec);
    assert_eq!(n.table.stats().active, 2);
    n.table.expire(t0 + 121 * SEC, &mut n.rec);
    assert_eq!(n.table.stats().active, 1);
    assert!(n.rec.events.contains(&Ev::FlowEnd(u, EndReason::Idle)));
    n.table.expire(t0 + 301 * SEC, &mut n.rec);
    assert_eq!(n.table.stats().active, 0);
    // Buffered data was delivered (after a gap) before the flow ended.
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![Ev::Gap(id, C2S, 4), Ev::Data(id, C2S, b"tail".to_vec())]
    );
    assert_eq!(n.rec.events.last(), Some(&Ev::FlowEnd(id, EndReason::Idle)));
    assert_eq!(n.table.stats().flows_expired, 2);
    assert_eq!(n.table.stats().reassembly_bytes_buffered, 0);
}

#[test]
fn activity_postpones_expiry() {
    let mut n = Net::new(FlowConfig::default());
    let (a, _) = n.udp((1, 5000), (2, 53), b"q");
    let (b, _) = n.udp((1, 5001), (2, 53), b"q");
    n.ts += 100 * SEC;
    n.udp((1, 5000), (2, 53), b"q");
    n.table.expire(n.ts + 30 * SEC, &mut n.rec);
    assert!(n.rec.events.contains(&Ev::FlowEnd(b, EndReason::Idle)));
    assert!(!n.rec.events.contains(&Ev::FlowEnd(a, EndReason::Idle)));
}

#[test]
fn eviction_at_max_flows_is_lru() {
    let mut n = Net::new(FlowConfig {
        max_flows: 2,
        ..FlowConfig::default()
    });
    let (a, _) = n.udp((1, 1000), (2, 53), b"a");
    let (b, _) = n.udp((1, 1001), (2, 53), b"b");
    n.udp((1, 1000), (2, 53), b"a2"); // a is now more recent than b
    let (c, _) = n.udp((1, 1002), (2, 53), b"c");
    assert_eq!(
        n.rec.events.last(),
        Some(&Ev::Datagram(c, C2S, b"c".to_vec()))
    );
    assert!(n.rec.events.contains(&Ev::FlowEnd(b, EndReason::Evicted)));
    let st = n.table.stats();
    assert_eq!((st.active, st.flows_evicted, st.flows_created), (2, 1, 3));
    // a survived with its counters.
    n.flush();
    assert_eq!(n.info(a).packets, [2, 0]);
}

#[test]
fn eviction_prefers_closed_tcp() {
    let mut n = Net::new(FlowConfig {
        max_flows: 2,
        tcp_idle_ns: i64::MAX / 2,
        ..FlowConfig::default()
    });
    let (u, _) = n.udp((1, 1000), (2, 53), b"a");
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, RST, b"");
    n.udp((1, 1001), (2, 53), b"b");
    assert!(n.rec.events.contains(&Ev::FlowEnd(id, EndReason::Evicted)));
    assert!(!n.rec.events.contains(&Ev::FlowEnd(u, EndReason::Evicted)));
}

#[test]
fn per_stream_cap_forces_gaps() {
    let cap = 10;
    let mut n = Net::new(FlowConfig {
        tcp_idle_ns: i64::MAX / 2,
        reassembly: ReassemblyConfig {
            max_buffered_per_stream: cap,
            max_buffered_total: 1 << 20,
            max_segments_per_stream: 100,
        },
        ..FlowConfig::default()
    });
    let id = handshake(&mut n);
    // The first byte never arrives; 4-byte segments keep coming.
    for i in 0..10u32 {
        n.tcp(C, S, 1002 + 4 * i, 5001, ACK, b"wxyz");
        assert!(n.table.stats().reassembly_bytes_buffered <= cap as u64);
    }
    let chunks = n.rec.chunks(id, C2S);
    assert_eq!(chunks[0], Ev::Gap(id, C2S, 1));
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"wxyz".repeat(10));
    assert_eq!(n.rec.gaps(), 1);
}

#[test]
fn total_cap_drops_and_counts() {
    let mut n = Net::new(FlowConfig {
        tcp_idle_ns: i64::MAX / 2,
        reassembly: ReassemblyConfig {
            max_buffered_per_stream: 100,
            max_buffered_total: 10,
            max_segments_per_stream: 100,
        },
        ..FlowConfig::default()
    });
    let id = handshake(&mut n);
    n.tcp(C, S, 1002, 5001, ACK, b"bcdefgh"); // buffered: 7
    n.tcp(C, S, 1009, 5001, ACK, b"ijklm"); // 12 > 10: dropped
    assert_eq!(n.table.stats().reassembly_overflows, 1);
    assert_eq!(n.table.stats().reassembly_bytes_buffered, 7);
    n.tcp(C, S, 1001, 5001, ACK, b"a");
    n.tcp(C, S, 1014, 5001, ACK, b"n");
    n.flush();
    assert_eq!(
        n.rec.chunks(id, C2S),
        vec![
            Ev::Data(id, C2S, b"abcdefgh".to_vec()),
            Ev::Gap(id, C2S, 5),
            Ev::Data(id, C2S, b"n".to_vec())
        ]
    );
}

#[test]
fn keepalive_and_zero_window_probe() {
    let mut n = Net::huge_timeouts();
    let id = handshake(&mut n);
    n.tcp(C, S, 1001, 5001, ACK, b"abc");
    n.tcp(S, C, 5001, 1004, ACK, b"");
    // Keep-alive: one garbage byte at next - 1, and the bare variant.
    n.tcp(C, S, 1003, 5001, ACK, b"\0");
    n.tcp(C, S, 1003, 5001, ACK, b"");
    n.tcp(S, C, 5001, 1004, ACK, b"");
    // Zero-window probe: the next byte alone, then retransmitted with what follows.
    n.tcp(C, S, 1004, 5001, ACK, b"d");
    n.tcp(S, C, 5001, 1004, ACK, b"");
    n.tcp(C, S, 1004, 5001, ACK, b"defg");
    n.flush();
    assert_eq!(n.rec.stream(id, C2S), b"abcdefg");
    assert_eq!(n.rec.gaps(), 0);
}

#[test]
fn vlans_separate_flows() {
    let mut n = Net::huge_timeouts();
    let mk = |outer| PacketMeta {
        timestamp_ns: 1,
        wire_len: 60,
        vlans: Vlans { outer, inner: None },
        src: ip(1),
        dst: ip(2),
        protocol: 17,
        src_port: 1000,
        dst_port: 53,
        tcp: None,
        payload: b"x",
    };
    let a = n.table.process(&mk(Some(10)), |_| 0, &mut n.rec).0;
    let b = n.table.process(&mk(Some(20)), |_| 0, &mut n.rec).0;
    let c = n.table.process(&mk(Some(10)), |_| 0, &mut n.rec).0;
    assert_ne!(a, b);
    assert_eq!(a, c);
}

// ---------------------------------------------------------------------------------------------
// Property-style tests with a fixed-seed PRNG.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..len).map(|_| r.next() as u8).collect()
}

/// Random segments (possibly overlapping) covering `data`, with duplicates, shuffled locally.
fn segments(r: &mut Rng, len: usize) -> Vec<(usize, usize)> {
    let mut segs = Vec::new();
    let mut off = 0;
    while off < len {
        let l = (1 + r.below(300) as usize).min(len - off);
        // Sometimes start a little earlier (overlap with previous bytes).
        let back = if r.below(4) == 0 {
            r.below(20) as usize
        } else {
            0
        }
        .min(off);
        segs.push((off - back, off + l));
        if r.below(8) == 0 {
            segs.push((off, off + l));
        }
        off += l;
    }
    // Local reordering: swap within a window of 8.
    for i in 0..segs.len() {
        let j = (i + r.below(8) as usize).min(segs.len() - 1);
        segs.swap(i, j);
    }
    segs
}

#[test]
fn random_segmentation_delivers_exact_stream() {
    for seed in 1..40u64 {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let len = 1 + r.below(20_000) as usize;
        let c2s = pattern(len, seed);
        let s2c = pattern(len / 2 + 1, seed + 1000);
        // ISNs near the wrap sometimes.
        let isn_c = if seed % 3 == 0 {
            u32::MAX - 100
        } else {
            r.next() as u32
        };
        let isn_s = r.next() as u32;
        let mut n = Net::huge_timeouts();
        let (id, _) = n.tcp(C, S, isn_c, 0, SYN, b"");
        n.tcp(S, C, isn_s, isn_c.wrapping_add(1), SYN | ACK, b"");
        let mut sc = segments(&mut r, c2s.len()).into_iter();
        let mut ss = segments(&mut r, s2c.len()).into_iter();
        loop {
            let pick_c = r.below(2) == 0;
            let (from, to, isn, data, seg) = if pick_c {
                (C, S, isn_c, &c2s, sc.next())
            } else {
                (S, C, isn_s, &s2c, ss.next())
            };
            let Some((a, b)) = seg else {
                if sc.len() == 0 && ss.len() == 0 {
                    break;
                }
                continue;
            };
            // No ACK flag: acknowledgements could legitimately give up reordered holes.
            let seq = isn.wrapping_add(1).wrapping_add(a as u32);
            n.tcp(from, to, seq, 0, PSH, &data[a..b]);
        }
        n.tcp(C, S, isn_c.wrapping_add(1 + c2s.len() as u32), 0, FIN, b"");
        n.flush();
        assert_eq!(n.rec.stream(id, C2S), c2s, "seed {seed}");
        assert_eq!(n.rec.stream(id, S2C), s2c, "seed {seed}");
        assert_eq!(n.rec.gaps(), 0, "seed {seed}");
        assert_eq!(n.rec.chunks(id, C2S).last(), Some(&Ev::End(id, C2S)));
        assert_eq!(n.table.stats().reassembly_bytes_buffered, 0);
    }
}

#[test]
fn random_loss_and_acks_keep_offsets_right() {
    for seed in 1..40u64 {
        let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let len = 1 + r.below(30_000) as usize;
        let data = pattern(len, seed);
        let isn = r.next() as u32;
        let mut n = Net::new(FlowConfig {
            tcp_idle_ns: i64::MAX / 2,
            reassembly: ReassemblyConfig {
                max_buffered_per_stream: 1 + r.below(4000) as usize,
                max_buffered_total: 1 + r.below(8000) as usize,
                max_segments_per_stream: 1 + r.below(16) as usize,
            },
            ..FlowConfig::default()
        });
        let (id, _) = n.tcp(C, S, isn, 0, SYN, b"");
        n.tcp(S, C, 1, isn.wrapping_add(1), SYN | ACK, b"");
        let mut sent_max = 0usize;
        for (a, b) in segments(&mut r, len) {
            sent_max = sent_max.max(b);
            if r.below(10) == 0 {
                continue; // lost by the capture
            }
            n.tcp(C, S, isn.wrapping_add(1 + a as u32), 2, ACK, &data[a..b]);
            if r.below(3) == 0 {
                let acked = r.below(sent_max as u64 + 1) as u32;
                n.tcp(S, C, 2, isn.wrapping_add(1).wrapping_add(acked), ACK, b"");
            }
        }
        n.flush();
        // Walk the chunks: every data byte must sit at its original offset.
        let mut off = 0usize;
        for e in n.rec.chunks(id, C2S) {
            match e {
                Ev::Data(_, _, d) => {
                    assert_eq!(&d[..], &data[off..off + d.len()], "seed {seed} at {off}");
                    off += d.len();
                }
                Ev::Gap(_, _, g) => off += g as usize,
                Ev::End(..) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(off <= len, "seed {seed}");
        assert_eq!(n.table.stats().reassembly_bytes_buffered, 0);
    }
}
