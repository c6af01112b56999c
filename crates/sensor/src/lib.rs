/*!
The sensor: capture sources, IP defragmentation, the flow table, TCP reassembly, the dissector
interface and per-device observation.

Data path inside the sensor:

```text
capture::Frame ─► wire::decode ─► defrag ─► flow::FlowTable ─► reassembly ─► dissect::Dissector
                                     │                                              │
                                     └────────────► observe (devices, facts) ◄──────┘
```

[`engine::Engine`] wires these stages together for one timeline of frames.
*/

pub mod capture;
pub mod defrag;
pub mod detect;
pub mod dissect;
pub mod engine;
pub mod flow;
pub mod observe;
pub mod oui;
pub mod packet_ring;
pub mod reassembly;
pub mod services;
pub mod uplink;
