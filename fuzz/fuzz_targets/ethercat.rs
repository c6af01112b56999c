//! Fuzzes the EtherCAT parser (header, datagram chain) and both dissectors: the frame
//! dissector on the raw input as an 0x88a4 payload, the UDP one on the input as datagrams
//! (records, or whole in both directions; see `common/dissect.rs`). The first byte picks the
//! UDP mode.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::ethercat::{self, EthercatFrameDissector, EthercatUdpDissector, Frame};
use ironward_proto::{FrameDissector, LinkFrame, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::parse(data) {
        assert!(frame.datagrams().count() <= ethercat::MAX_DATAGRAMS + 1);
    }
    let frame = LinkFrame {
        src_mac: MacAddress([0x00, 0x01, 0x05, 0x00, 0x00, 0x01]),
        dst_mac: MacAddress([0xff; 6]),
        vlan: None,
        ethertype: ethercat::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    assert!(EthercatFrameDissector.on_frame(&frame, &mut out));
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Udp, ethercat::PORT);
    let mut dissector = EthercatUdpDissector;
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
