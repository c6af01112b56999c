//! Fuzzes the Sampled Values parser (header, savPdu, ASDUs) and the frame dissector on the
//! same bytes as an 0x88ba frame payload.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::observations::MAX_VALUE_LEN;
use ironward_proto::sv::{self, SampledValues, SvDissector, MAX_ASDUS};
use ironward_proto::{FrameDissector, LinkFrame, Observations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = SampledValues::parse(data) {
        assert!(!pdu.asdus().is_empty() && pdu.asdus().len() <= MAX_ASDUS);
    }
    let frame = LinkFrame {
        src_mac: MacAddress([0xca, 0xfe, 0xc0, 0xff, 0xee, 0x69]),
        dst_mac: MacAddress([0x01, 0x0c, 0xcd, 0x04, 0x00, 0x02]),
        vlan: Some(1),
        ethertype: sv::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    assert!(SvDissector.on_frame(&frame, &mut out));
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty() && fact.value.len() <= MAX_VALUE_LEN);
    }
});
