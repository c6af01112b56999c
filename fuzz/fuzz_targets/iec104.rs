//! Fuzzes the IEC 104 APDU parser, the ASDU parser shared with IEC 101 (every object walked,
//! commands described) and the dissector over TCP streams (APDUs split and coalesced, garbage
//! between them). The first byte picks the mode.
#![no_main]

use ironward_proto::iec104::asdu::{self, Asdu};
use ironward_proto::iec104::{self, Apdu, Iec104Dissector};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(apdu) = Apdu::parse(data) {
        assert!(apdu.len <= iec104::MAX_APDU && apdu.len <= data.len());
    }
    if let Ok(parsed) = Asdu::parse(data, asdu::IEC104) {
        let mut n = 0;
        for object in parsed.objects() {
            n += 1;
            assert!(n <= asdu::MAX_OBJECTS);
            let Ok(object) = object else { break };
            let mut text = ValueBuf::<160>::new();
            let _ = asdu::describe(&mut text, parsed.type_id, object.element);
        }
        let _ = parsed.fits_exactly();
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, iec104::PORT);
    let mut dissector = Iec104Dissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
