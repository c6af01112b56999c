//! The interface dissectors plug into, and the registry that picks one for each flow.
//!
//! A [`Dissector`] owns the per-flow state of one protocol. When a flow carries its first
//! payload, the sensor asks the [`DissectorRegistry`]; each [`DissectorFactory`] in turn looks at
//! the flow's ports and at those first bytes (so that HTTP, TLS or SSH on unusual ports are
//! recognised by content) and may take the flow. The chosen dissector then gets every datagram
//! (UDP and other non-TCP protocols) or every in-order stream chunk (TCP, after reassembly:
//! data, gaps and the end of each direction), and reports through [`Observations`].
//!
//! Protocols without IP (LLDP, CDP) are [`FrameDissector`]s: they see single link-layer frames.
//!
//! Dissectors see attacker-controlled bytes: they must be bounded in time and memory per call
//! and per flow, and must never panic.

use ironward_model::{MacAddress, Timestamp};

use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk};

/// One protocol's view of one flow.
pub trait Dissector: Send {
    /// Lower-case protocol name (`dns`, `http`, ...), used for connections and services.
    fn protocol(&self) -> &'static str;

    /// A datagram of a non-TCP flow.
    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let _ = (flow, direction, payload, out);
    }

    /// The next in-order piece of one direction of a TCP stream.
    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let _ = (flow, direction, chunk, out);
    }

    /// The flow ended (closed, idle, evicted or end of input).
    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        let _ = (flow, out);
    }

    /// Whether the protocol showed the flow's first sender to be the server: on UDP with the
    /// same port at both ends (BACnet 47808, DNP3 20000, ...) the sensor takes whoever spoke
    /// first for the client, but a device answering a broadcast request over unicast speaks
    /// first and is the server. Asked when the flow ends.
    fn roles_reversed(&self) -> bool {
        false
    }
}

/// Recognises one protocol's flows.
pub trait DissectorFactory: Send + Sync {
    /// The protocol this factory dissects.
    fn protocol(&self) -> &'static str;

    /// A dissector for this flow, or `None` when the protocol does not apply. Called once per
    /// flow, with the first payload seen (in either direction: a server may speak first).
    fn select(
        &self,
        flow: &FlowMeta,
        direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>>;
}

/// A link-layer frame without IP, as handed to [`FrameDissector`]s.
#[derive(Debug, Clone, Copy)]
pub struct LinkFrame<'a> {
    /// Source MAC address.
    pub src_mac: MacAddress,
    /// Destination MAC address (often a multicast group: GOOSE, DCP Identify).
    pub dst_mac: MacAddress,
    /// The outer VLAN id, when the frame was tagged.
    pub vlan: Option<u16>,
    /// Ether type, or the SNAP protocol id for LLC/SNAP frames.
    pub ethertype: u16,
    /// SNAP organisation code (24 bits, e.g. `0x00000c` for Cisco), for LLC/SNAP frames.
    pub snap_oui: Option<u32>,
    /// Bytes after the link-layer (and LLC/SNAP) header.
    pub payload: &'a [u8],
    /// Capture time.
    pub now: Timestamp,
    /// Frame number in the input (1-based).
    pub frame: u64,
}

/// A dissector of link-layer frames without IP (LLDP, CDP). Stateless: each frame stands alone.
pub trait FrameDissector: Send + Sync {
    /// The protocol this dissects.
    fn protocol(&self) -> &'static str;

    /// Dissects the frame if it is this protocol's; returns whether it was.
    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool;
}

/// The ordered list of dissector factories (the first that accepts a flow gets it) and of frame
/// dissectors.
#[derive(Default)]
pub struct DissectorRegistry {
    factories: Vec<Box<dyn DissectorFactory>>,
    frame_dissectors: Vec<Box<dyn FrameDissector>>,
}

impl DissectorRegistry {
    /// An empty registry: flows are counted and reassembled but not dissected.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a factory after the existing ones.
    pub fn register(&mut self, factory: Box<dyn DissectorFactory>) {
        self.factories.push(factory);
    }

    /// Adds a frame dissector after the existing ones.
    pub fn register_frame(&mut self, dissector: Box<dyn FrameDissector>) {
        self.frame_dissectors.push(dissector);
    }

    /// Whether no factory and no frame dissector is registered.
    pub fn is_empty(&self) -> bool {
        self.factories.is_empty() && self.frame_dissectors.is_empty()
    }

    /// The protocols of the registered factories and frame dissectors, in order.
    pub fn protocols(&self) -> Vec<&'static str> {
        self.factories
            .iter()
            .map(|f| f.protocol())
            .chain(self.frame_dissectors.iter().map(|f| f.protocol()))
            .collect()
    }

    /// The dissector for a flow's first payload, if any factory accepts it.
    pub fn select(
        &self,
        flow: &FlowMeta,
        direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        self.factories
            .iter()
            .find_map(|factory| factory.select(flow, direction, first_payload))
    }

    /// Offers a non-IP frame to the frame dissectors; returns the protocol that took it.
    pub fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> Option<&'static str> {
        self.frame_dissectors
            .iter()
            .find(|d| d.on_frame(frame, out))
            .map(|d| d.protocol())
    }
}

impl std::fmt::Debug for DissectorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DissectorRegistry")
            .field("protocols", &self.protocols())
            .finish()
    }
}
