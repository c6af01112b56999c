/*!
The sensor's durable uplink to the console.

A sensor runs the [`Engine`](crate::engine::Engine) over windows of capture time, cuts each
window's report into [`Batch`](ironward_model::Batch)es and writes them to a durable on-disk
[`outbox`]; an uploader thread sends them, oldest first, over HTTPS to the console, whose
certificate is [`pin`]ned at enrolment, and removes a batch only once the console answered
that it committed it. A console outage or a sensor restart therefore loses nothing, and batch
ids make a resend harmless (the console answers "duplicate").

See `docs/SENSOR.md` for the operator's view: enrolment, pinning, windows and the outbox.
*/

pub mod alert_deltas;
pub mod backoff;
pub mod client;
pub mod enrol;
pub mod files;
pub mod health;
pub mod outbox;
pub mod pin;
pub mod run;
pub mod site_sync;
pub mod ti_sync;
pub mod uploader;
pub mod windows;

pub use run::{run, CaptureSource, RunSummary, SensorConfig, SensorControl, SensorError};
