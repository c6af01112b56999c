//! Fuzzes the OPC UA binary reader (message headers, NodeIds, Variants and DataValues with
//! their depth and array limits) on the raw input, then the dissector's framing and service
//! decoding on the same bytes as whole stream chunks or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::opcua::binary::Cursor;
use ironward_proto::opcua::{self, Header, OpcuaDissector};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let _ = Header::parse(data);
    let _ = opcua::looks_like_opcua(data);
    let mut shown = ValueBuf::<128>::new();
    let _ = Cursor::new(data).variant(0, Some(&mut shown));
    let _ = Cursor::new(data).data_value::<8>(0, None);
    let _ = Cursor::new(data).skip_diagnostic_info(0);
    let _ = Cursor::new(data).response_header();
    let _ = Cursor::new(data).request_header();
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, opcua::PORT);
    let mut dissector = OpcuaDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
