/*!
The sensor: capture sources, IP defragmentation, the flow table, TCP reassembly, the dissector
interface and per-device observation.

Data path inside the sensor:

```text
capture::Frame ─► wire::decode ─► defrag ─► flow::FlowTable ─► reassembly ─► dissect::Dissector
                                     │                                              │
                                     └────────────► observe (devices, facts) ◄──────┘
```
*/

pub mod capture;
pub mod defrag;
pub mod dissect;
pub mod flow;
pub mod reassembly;
