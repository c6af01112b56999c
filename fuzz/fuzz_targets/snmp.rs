//! Fuzzes the SNMP BER decoder and message parser (v1/v2c/v3, v1 trap headers, varbinds and
//! their OIDs) on the raw input, then the dissector on the same bytes as whole datagrams or as
//! records (see `common/dissect.rs`) on the agent and the trap port.
#![no_main]

use ironward_proto::snmp::{self, ber, Message, SnmpDissector};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = snmp::parse(data) {
        let pdu = match &message {
            Message::Community(message) => {
                let _ = message.uses_default_community();
                Some(&message.pdu)
            }
            Message::V3(message) => {
                let _ = snmp::engine_enterprise(message.engine_id);
                message.pdu.as_ref()
            }
        };
        if let Some(pdu) = pdu {
            let mut varbinds = 0usize;
            for varbind in pdu.varbinds() {
                varbinds += 1;
                // Each varbind takes at least a two-byte header.
                assert!(varbinds <= data.len() / 2);
                let Ok(varbind) = varbind else { break };
                assert!(varbind.name.arcs().count() <= varbind.name.as_bytes().len() + 1);
                if varbind.value.tag == ber::OBJECT_IDENTIFIER {
                    if let Ok(oid) = varbind.value.oid("value") {
                        let _ = oid.arc_after(&[0x2b, 6, 1, 4, 1]);
                    }
                }
            }
        }
    }
    // The BER reader on arbitrary input, as deep as it lets itself go.
    let mut reader = ber::Reader::new(data);
    let mut depth = 0;
    while let Ok(element) = reader.read("fuzz") {
        let _ = element.integer("fuzz");
        let _ = element.oid("fuzz");
        match element.contents("fuzz") {
            Ok(inner) => {
                depth += 1;
                assert!(depth <= ber::MAX_DEPTH);
                reader = inner;
            }
            Err(_) => break,
        }
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    for port in [snmp::AGENT_PORT, snmp::TRAP_PORT] {
        let meta = dissect::flow(Transport::Udp, port);
        let mut dissector = SnmpDissector::default();
        if first & 1 == 0 {
            dissect::drive_whole(&mut dissector, meta, rest);
        } else {
            dissect::drive(&mut dissector, meta, rest);
        }
    }
});
