//! Fuzzes the LLDP TLV walk and the LLDP frame dissector: the parser on the raw input (every
//! TLV until the end or the first error), then the dissector on the same bytes as an LLDP frame.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::lldp::{self, LldpDissector, Lldpdu};
use ironward_proto::observations::MAX_VALUE_LEN;
use ironward_proto::{FrameDissector, LinkFrame, Observations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = Lldpdu::parse(data) {
        let mut tlvs = 0usize;
        for tlv in pdu.tlvs() {
            tlvs += 1;
            // Each TLV takes at least its two-byte header.
            assert!(tlvs <= data.len() / 2);
            if tlv.is_err() {
                break;
            }
        }
    }
    let frame = LinkFrame {
        src_mac: MacAddress([0x00, 0x19, 0x2f, 0xa7, 0xb2, 0x8d]),
        dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
        vlan: None,
        ethertype: lldp::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    assert!(LldpDissector.on_frame(&frame, &mut out));
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty() && fact.value.len() <= MAX_VALUE_LEN);
    }
});
