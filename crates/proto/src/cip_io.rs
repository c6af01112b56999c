//! CIP class 0/1 implicit I/O over UDP (port 2222): the cyclic data of EtherNet/IP I/O
//! connections.
//!
//! Each datagram is a Common Packet Format list without encapsulation header: a sequenced
//! address item (connection id, encapsulation sequence number) and a connected data item (the
//! I/O data, for class 1 after a 16-bit CIP sequence count). Recognised on UDP port 2222, and
//! on any UDP port by that exact shape (two items, a sequenced address of 8 bytes, a connected
//! data item ending the datagram).
//!
//! Read: the connection id and the sequence number. A datagram repeating the last sequence
//! number of its connection (a duplicate) is not counted again; the data itself is never read.
//!
//! Facts: `Service` `cip_io` on the producer (the sender). Events: `io_data` (category Read)
//! from the producer to the consumer, detail `connection 0x<id>` only, so that the cyclic
//! packets of one connection aggregate into one event whose count is the number of packets.
//!
//! Bounds: [`crate::enip::MAX_CPF_ITEMS`] items per datagram, [`MAX_CONNECTIONS`] connections
//! tracked per flow (older ones are forgotten first).

use std::fmt::Write as _;

use ironward_model::{Attribute, EventCategory, Source};

use crate::enip::{item, CpfItems};
use crate::value::ValueBuf;
use crate::Transport;
use crate::{Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations};

/// The registered port of EtherNet/IP implicit messaging.
pub const PORT: u16 = 2222;

/// Most connections whose last sequence number is remembered per flow.
pub const MAX_CONNECTIONS: usize = 16;

/// Why a datagram is not CIP I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipIoError {
    /// No sequenced address item of 8 bytes.
    NoSequencedAddress,
    /// No connected data item.
    NoConnectedData,
}

impl std::fmt::Display for CipIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSequencedAddress => f.write_str("CIP I/O datagram without sequenced address"),
            Self::NoConnectedData => f.write_str("CIP I/O datagram without connected data"),
        }
    }
}

impl std::error::Error for CipIoError {}

/// One I/O datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoPacket<'a> {
    /// Connection id.
    pub connection: u32,
    /// Encapsulation sequence number.
    pub sequence: u32,
    /// The connected data item's bytes.
    pub data: &'a [u8],
}

impl<'a> IoPacket<'a> {
    /// Reads a datagram.
    pub fn parse(payload: &'a [u8]) -> Result<Self, CipIoError> {
        let mut address = None;
        let mut data = None;
        for it in CpfItems::new(payload) {
            match (it.type_id, it.data) {
                (item::SEQUENCED_ADDRESS, &[a, b, c, d, e, f, g, h]) => {
                    address = Some((
                        u32::from_le_bytes([a, b, c, d]),
                        u32::from_le_bytes([e, f, g, h]),
                    ));
                }
                (item::CONNECTED_DATA, bytes) => data = Some(bytes),
                _ => {}
            }
        }
        let (connection, sequence) = address.ok_or(CipIoError::NoSequencedAddress)?;
        Ok(Self {
            connection,
            sequence,
            data: data.ok_or(CipIoError::NoConnectedData)?,
        })
    }
}

/// The strict shape check used off port 2222: two items, a sequenced address of 8 bytes, then
/// a connected data item ending exactly at the end of the datagram.
pub fn looks_like_cip_io(payload: &[u8]) -> bool {
    match payload {
        [2, 0, 0x02, 0x80, 8, 0, rest @ ..] => match rest.get(8..) {
            Some([0xb1, 0, lo, hi, data @ ..]) => {
                usize::from(u16::from_le_bytes([*lo, *hi])) == data.len()
            }
            _ => false,
        },
        _ => false,
    }
}

/// Adds the CIP I/O dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(CipIoFactory));
}

/// Takes UDP flows on port 2222 and UDP flows whose first datagram has the I/O shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct CipIoFactory;

impl DissectorFactory for CipIoFactory {
    fn protocol(&self) -> &'static str {
        "cip_io"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.server.port() == PORT || flow.client.port() == PORT;
        (flow.transport == Transport::Udp && (on_port || looks_like_cip_io(first_payload)))
            .then(|| Box::<CipIoDissector>::default() as Box<dyn Dissector>)
    }
}

/// Per-flow state: the last sequence number of each connection seen.
#[derive(Debug, Default)]
pub struct CipIoDissector {
    last: Vec<(u32, u32)>,
}

impl CipIoDissector {
    /// Whether `packet` repeats its connection's last sequence number; remembers it.
    fn duplicate(&mut self, packet: &IoPacket<'_>) -> bool {
        if let Some(entry) = self.last.iter_mut().find(|(c, _)| *c == packet.connection) {
            let repeated = entry.1 == packet.sequence;
            entry.1 = packet.sequence;
            return repeated;
        }
        if self.last.len() >= MAX_CONNECTIONS {
            self.last.remove(0);
        }
        self.last.push((packet.connection, packet.sequence));
        false
    }
}

impl Dissector for CipIoDissector {
    fn protocol(&self) -> &'static str {
        "cip_io"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let Ok(packet) = IoPacket::parse(payload) else {
            return;
        };
        if self.duplicate(&packet) {
            return;
        }
        out.fact(
            flow.sender(direction),
            Attribute::Service,
            "cip_io",
            Source::Enip,
            flow.now,
        );
        let mut detail = ValueBuf::<32>::new();
        let _ = write!(detail, "connection 0x{:08x}", packet.connection);
        out.event(
            flow,
            direction,
            "cip_io",
            EventCategory::Read,
            "io_data",
            detail.as_str(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    /// ndpi_cip_io.pcap, frame 1.
    const FRAME1: [u8; 30] = [
        0x02, 0x00, 0x02, 0x80, 0x08, 0x00, 0x78, 0x7b, 0x3a, 0x00, 0xe8, 0xcb, 0x5e, 0x04, 0xb1,
        0x00, 0x0c, 0x00, 0x03, 0x00, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
    ];

    fn flow(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: ([192, 168, 5, 62], port).into(),
            server: ([192, 168, 5, 50], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    #[test]
    fn parses_a_real_datagram() {
        let packet = IoPacket::parse(&FRAME1).unwrap();
        assert_eq!(packet.connection, 0x003a_7b78);
        assert_eq!(packet.sequence, 73_321_448);
        assert_eq!(packet.data.len(), 12);
        assert!(looks_like_cip_io(&FRAME1));
        assert!(!looks_like_cip_io(&FRAME1[..29]));
        assert_eq!(
            IoPacket::parse(&FRAME1[..10]),
            Err(CipIoError::NoSequencedAddress)
        );
        assert_eq!(
            IoPacket::parse(&FRAME1[..16]),
            Err(CipIoError::NoConnectedData)
        );
        assert_eq!(IoPacket::parse(&[]), Err(CipIoError::NoSequencedAddress));
    }

    #[test]
    fn cyclic_packets_aggregate_and_duplicates_do_not_count() {
        let f = flow(PORT);
        let mut d = CipIoFactory
            .select(&f, Direction::ClientToServer, &FRAME1)
            .unwrap();
        let mut out = Observations::default();
        let mut next = FRAME1;
        for seq in 0..5u32 {
            next[10..14].copy_from_slice(&(73_321_448 + seq).to_le_bytes());
            d.on_datagram(&f, Direction::ClientToServer, &next, &mut out);
        }
        // A duplicate of the last one.
        d.on_datagram(&f, Direction::ClientToServer, &next, &mut out);
        let facts: Vec<_> = out.drain_facts().map(|f| f.value.into_owned()).collect();
        assert_eq!(facts, vec!["cip_io".to_owned()]);
        let events: Vec<_> = out.drain_events().collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].operation, "io_data");
        assert_eq!(events[0].detail, "connection 0x003a7b78");
        assert_eq!(events[0].count, 5);
    }

    #[test]
    fn selection() {
        assert!(CipIoFactory
            .select(&flow(40000), Direction::ClientToServer, &FRAME1)
            .is_some());
        assert!(CipIoFactory
            .select(&flow(40000), Direction::ClientToServer, b"hello")
            .is_none());
        let mut tracker = CipIoDissector::default();
        for c in 0..(MAX_CONNECTIONS as u32 + 4) {
            let p = IoPacket {
                connection: c,
                sequence: 1,
                data: &[],
            };
            assert!(!tracker.duplicate(&p));
        }
        assert_eq!(tracker.last.len(), MAX_CONNECTIONS);
    }
}
