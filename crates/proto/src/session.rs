//! What a dissector knows about the flow it dissects: its endpoints, the time of the packet
//! being dissected, and which way that packet goes.

use std::net::{IpAddr, SocketAddr};

use ironward_model::{DeviceKey, Timestamp};

/// Direction of a packet within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server (index 0).
    ClientToServer = 0,
    /// From the server to the client (index 1).
    ServerToClient = 1,
}

impl Direction {
    /// Index into per-direction arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
}

/// What the TCP reassembler delivers, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamChunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// This many bytes are missing (never captured) before the next chunk.
    Gap(u32),
    /// The stream ended (FIN or RST) and everything before the end was delivered.
    End,
}

/// Transport of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP (payload arrives as a reassembled stream).
    Tcp,
    /// UDP (payload arrives as datagrams).
    Udp,
    /// Another IP protocol, by number.
    Other(u8),
}

/// The flow a dissector works on, as of the packet being dissected. Built by the sensor for
/// every call; small and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// The flow's id, unique within one analysis.
    pub id: u64,
    /// Transport protocol.
    pub transport: Transport,
    /// The endpoint that opened the flow.
    pub client: SocketAddr,
    /// The endpoint it opened it to (for UDP to a group address, the group).
    pub server: SocketAddr,
    /// Capture time of the packet being dissected.
    pub now: Timestamp,
    /// Number of that packet in the input (1-based, as Wireshark counts frames).
    pub frame: u64,
}

impl FlowMeta {
    /// The sender of a packet going in `direction`.
    pub fn source(&self, direction: Direction) -> SocketAddr {
        match direction {
            Direction::ClientToServer => self.client,
            Direction::ServerToClient => self.server,
        }
    }

    /// The receiver of a packet going in `direction`.
    pub fn destination(&self, direction: Direction) -> SocketAddr {
        self.source(direction.reverse())
    }

    /// The device that sent a packet going in `direction`, keyed by address (the sensor maps it
    /// to the MAC that owns the address when the analysis ends).
    pub fn sender(&self, direction: Direction) -> DeviceKey {
        DeviceKey::Ip(self.source(direction).ip())
    }

    /// The device a packet going in `direction` was sent to.
    pub fn receiver(&self, direction: Direction) -> DeviceKey {
        DeviceKey::Ip(self.destination(direction).ip())
    }

    /// The client's device.
    pub fn client_device(&self) -> DeviceKey {
        DeviceKey::Ip(self.client.ip())
    }

    /// The server's device.
    pub fn server_device(&self) -> DeviceKey {
        DeviceKey::Ip(self.server.ip())
    }

    /// Whether the server address is a unicast host (not multicast or broadcast).
    pub fn server_is_unicast(&self) -> bool {
        match self.server.ip() {
            IpAddr::V4(ip) => !ip.is_multicast() && !ip.is_broadcast() && ip.octets()[3] != 255,
            IpAddr::V6(ip) => !ip.is_multicast(),
        }
    }
}
