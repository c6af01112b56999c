//! Fuzzes the PROFINET DCP parser (header and every block until the end or the first error)
//! and the frame dissector on the same bytes as an 0x8892 frame payload.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::observations::MAX_VALUE_LEN;
use ironward_proto::pn_dcp::{self, DcpDissector, Pdu, MAX_BLOCKS};
use ironward_proto::{FrameDissector, LinkFrame, Observations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = Pdu::parse(data) {
        assert!(usize::from(pdu.data_length) + 12 <= data.len());
        let blocks = pdu.blocks().count();
        assert!(blocks <= MAX_BLOCKS + 1);
    }
    let frame = LinkFrame {
        src_mac: MacAddress([0x08, 0x00, 0x06, 0x93, 0xcf, 0x32]),
        dst_mac: MacAddress([0x01, 0x0e, 0xcf, 0, 0, 0]),
        vlan: None,
        ethertype: pn_dcp::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    let _ = DcpDissector.on_frame(&frame, &mut out);
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty() && fact.value.len() <= MAX_VALUE_LEN);
    }
});
