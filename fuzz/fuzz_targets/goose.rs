//! Fuzzes the GOOSE parser (header, goosePdu fields, allData summary) and the frame
//! dissector on the same bytes as an 0x88b8 frame payload.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::goose::{self, Goose, GooseDissector, MAX_DATA_TYPES};
use ironward_proto::observations::MAX_VALUE_LEN;
use ironward_proto::{FrameDissector, LinkFrame, Observations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = Goose::parse(data) {
        assert!(!pdu.gocb_ref.is_empty());
        assert!(pdu.all_data.types().len() <= MAX_DATA_TYPES);
        assert!(pdu.all_data.entries as usize <= data.len());
    }
    let _ = goose::ied_name(data);
    let frame = LinkFrame {
        src_mac: MacAddress([0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77]),
        dst_mac: MacAddress([0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01]),
        vlan: Some(0),
        ethertype: goose::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    assert!(GooseDissector.on_frame(&frame, &mut out));
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty() && fact.value.len() <= MAX_VALUE_LEN);
    }
});
