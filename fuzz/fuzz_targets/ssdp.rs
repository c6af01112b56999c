//! Fuzzes the SSDP parser and dissector (raw datagrams, whole or as records, see
//! `common/dissect.rs`) and the UPnP description reader the HTTP dissector calls.
//!
//! Properties: an SSDP message's header values are sub-slices of the datagram; a document that
//! is not a UPnP description reports nothing; a description never reports more than its
//! bounded number of devices allow.
#![no_main]

use ironward_model::{DeviceKey, Timestamp};
use ironward_proto::ssdp::{self, SsdpDissector};
use ironward_proto::{upnp, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

/// Facts one `<device>` can report (vendor, hostname, serial, service, description, client id,
/// model, url).
const FACTS_PER_DEVICE: usize = 8;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    match first % 4 {
        0 | 1 => {
            ssdp::parse(rest, |message| {
                if let Ok(message) = message {
                    let h = message.headers;
                    for value in [h.server, h.target, h.nts, h.usn, h.location, h.user_agent]
                        .into_iter()
                        .flatten()
                    {
                        assert!(value.len() <= rest.len() + 4);
                    }
                    if let Some(uuid) = h.usn.and_then(ssdp::usn_uuid) {
                        assert!(uuid.len() > 5 && uuid.len() <= rest.len());
                    }
                }
            });
            let meta = dissect::flow(Transport::Udp, ssdp::PORT);
            if first % 4 == 0 {
                dissect::drive_whole(&mut SsdpDissector, meta, rest);
            } else {
                dissect::drive(&mut SsdpDissector, meta, rest);
            }
        }
        _ => {
            let mut out = Observations::default();
            let subject = DeviceKey::Ip([192, 0, 2, 2].into());
            let is_upnp = upnp::description_facts(rest, subject, Timestamp(1), &mut out);
            let facts: Vec<_> = out.drain_facts().collect();
            if !is_upnp {
                assert!(facts.is_empty());
            }
            assert!(facts.len() <= upnp::MAX_DEVICES * FACTS_PER_DEVICE);
            for fact in &facts {
                assert!(!fact.value.is_empty());
                assert!(fact.value.len() <= ironward_proto::observations::MAX_VALUE_LEN);
                assert_eq!(fact.subject, subject);
            }
        }
    }
});
