//! The interface application-protocol dissectors plug into.
//!
//! A [`Dissector`] owns the per-flow state of one protocol. The engine asks the
//! [`DissectorRegistry`] for one when a flow starts, then calls it with every datagram (UDP and
//! other non-TCP protocols) or every in-order stream chunk (TCP, after reassembly: data, gaps and
//! the end of each direction). Dissectors return what they learned through [`Observations`]:
//! [`Fact`]s about devices and [`Event`]s about operations.
//!
//! Dissectors see attacker-controlled bytes: they must be bounded in time and memory per call
//! and per flow, and must never panic.

use ironward_model::{Event, Fact};

use crate::flow::{Direction, FlowInfo};
use crate::reassembly::StreamChunk;

/// Facts and events produced by dissectors, collected by the engine after each call.
///
/// The buffers are reused from call to call, so producing nothing costs nothing.
#[derive(Debug, Default)]
pub struct Observations {
    facts: Vec<Fact>,
    events: Vec<Event>,
}

impl Observations {
    /// Records a fact about a device.
    pub fn fact(&mut self, fact: Fact) {
        self.facts.push(fact);
    }

    /// Records an operation.
    pub fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Whether nothing was recorded since the last drain.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.events.is_empty()
    }

    /// Takes the recorded facts, keeping the buffer's capacity.
    pub fn drain_facts(&mut self) -> std::vec::Drain<'_, Fact> {
        self.facts.drain(..)
    }

    /// Takes the recorded events, keeping the buffer's capacity.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }
}

/// One protocol's view of one flow.
pub trait Dissector: Send {
    /// Lower-case protocol name (`modbus`, `dns`, ...), used for connections and services.
    fn protocol(&self) -> &'static str;

    /// A datagram of a non-TCP flow.
    fn on_datagram(
        &mut self,
        flow: &FlowInfo,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    );

    /// The next in-order piece of one direction of a TCP stream.
    fn on_stream(
        &mut self,
        flow: &FlowInfo,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    );

    /// The flow ended (closed, idle, evicted or end of input).
    fn on_end(&mut self, flow: &FlowInfo, out: &mut Observations) {
        let _ = (flow, out);
    }
}

/// Chooses the dissector for a new flow.
pub trait DissectorFactory: Send {
    /// A dissector for this flow, or `None` when the factory's protocol does not apply.
    fn select(&self, flow: &FlowInfo) -> Option<Box<dyn Dissector>>;
}

/// The ordered list of dissector factories; the first that accepts a flow gets it.
#[derive(Default)]
pub struct DissectorRegistry {
    factories: Vec<Box<dyn DissectorFactory>>,
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

    /// Whether no factory is registered.
    pub fn is_empty(&self) -> bool {
        self.factories.is_empty()
    }

    /// The dissector for a new flow, if any factory accepts it.
    pub fn select(&self, flow: &FlowInfo) -> Option<Box<dyn Dissector>> {
        self.factories
            .iter()
            .find_map(|factory| factory.select(flow))
    }
}

impl std::fmt::Debug for DissectorRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DissectorRegistry")
            .field("factories", &self.factories.len())
            .finish()
    }
}
