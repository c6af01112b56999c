//! Fuzzes PROFINET IO: the RT frame dissector (cyclic data, alarms) on the raw input as an
//! 0x8892 payload, the DCE/RPC header parser, and the CM dissector on the input as datagrams
//! (records, or whole in both directions; see `common/dissect.rs`). The first byte picks the
//! mode.
#![no_main]

use ironward_model::{MacAddress, Timestamp};
use ironward_proto::pn_io::{self, Alarm, CmDissector, DceRpc, RecordHeader, RtDissector};
use ironward_proto::{pn_dcp, FrameDissector, LinkFrame, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let frame = LinkFrame {
        src_mac: MacAddress([0x00, 0xa0, 0x45, 0x6d, 0xd3, 0x43]),
        dst_mac: MacAddress([0x00, 0x09, 0x91, 0x43, 0xe0, 0x67]),
        vlan: None,
        ethertype: pn_dcp::ETHERTYPE,
        snap_oui: None,
        payload: data,
        now: Timestamp(1_700_000_000_000_000_000),
        frame: 1,
    };
    let mut out = Observations::default();
    let _ = RtDissector.on_frame(&frame, &mut out);
    let _ = Alarm::parse(data);
    let _ = RecordHeader::parse(data);
    if let Ok(rpc) = DceRpc::parse(data) {
        assert!(rpc.body.len() + pn_io::DCERPC_HEADER_LEN <= data.len());
        assert!(rpc.blocks().count() <= pn_io::MAX_BLOCKS);
        let _ = rpc.object_ids();
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Udp, pn_io::PORT);
    let mut dissector = CmDissector;
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
