//! The console's ingest input: a sensor batch (JSON) parsed and validated. A compromised or
//! broken sensor controls every byte; parsing and validation must refuse, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = serde_json::from_slice::<ironward_model::Batch>(data) {
        let _ = batch.validate();
    }
});
