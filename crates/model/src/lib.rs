/*!
Ironward's domain vocabulary, shared by the sensor and (later) the console.

Devices are built by merging [`Fact`]s, each of which names its [`Source`], so that every
attribute shown to a user can say where it came from and stronger evidence can win. The
[`report::AnalysisReport`] is the JSON document `ironward analyze --format json` prints: a stable
contract whose keys are only ever added, never renamed.

This crate holds no logic beyond constructors, validation and serialisation.
*/

pub mod address;
pub mod alert;
pub mod alert_capture;
pub mod batch;
pub mod device;
pub mod event;
pub mod fact;
pub mod finding;
pub mod mac;
pub mod report;
pub mod time;

pub use alert::{Alert, AlertEngine, Evidence, Severity, Technique};
pub use alert_capture::AlertCapture;
pub use batch::{Batch, BatchError, BatchErrorKind, SensorHealth};
pub use device::{Conflict, Device, DeviceId, DeviceKey, Protocols, ReportedFact, Service};
pub use event::{Event, EventCategory, EventEndpoint};
pub use fact::{Attribute, Fact, Provenance, Source, HEARSAY_CONFIDENCE};
pub use finding::Finding;
pub use mac::MacAddress;
pub use report::{AnalysisReport, Connection, Stats};
pub use time::Timestamp;
