//! Fuzzes the CDP TLV walk (with the address lists) and the CDP frame dissector: the parser on
//! the raw input, then the dissector on the same bytes as an LLC/SNAP CDP frame.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::cdp::{self, CdpDissector, CdpPacket, Tlv};
use ironward_proto::observations::MAX_VALUE_LEN;
use ironward_proto::{FrameDissector, LinkFrame, Observations};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = CdpPacket::parse(data) {
        let mut steps = 0usize;
        for tlv in packet.tlvs() {
            steps += 1;
            // Each TLV takes at least its four-byte header.
            assert!(steps <= data.len() / 4);
            match tlv {
                Ok(Tlv::Addresses(list) | Tlv::ManagementAddresses(list)) => {
                    let mut addresses = 0usize;
                    for address in list.iter() {
                        addresses += 1;
                        // Each address takes at least four bytes of the TLV.
                        assert!(addresses <= data.len() / 4 + 1);
                        if address.is_err() {
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    let frame = LinkFrame {
        src_mac: MacAddress([0x00, 0x19, 0x06, 0xea, 0xb8, 0x85]),
        dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
        vlan: None,
        ethertype: cdp::SNAP_PROTOCOL,
        snap_oui: Some(cdp::SNAP_OUI),
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    assert!(CdpDissector.on_frame(&frame, &mut out));
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty() && fact.value.len() <= MAX_VALUE_LEN);
    }
});
