//! The interface application-protocol dissectors plug into, defined by `ironward_proto` (where
//! the dissectors live) and re-exported here for the sensor's users.

pub use ironward_proto::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, FrameDissector, LinkFrame,
    Observations, StreamChunk, Transport,
};
