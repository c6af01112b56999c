//! Fuzzes the Modbus parsers (MBAP header, request PDUs of every function, device
//! identification objects, Report Server ID, UMAS helpers, content check) and the dissector's
//! ADU framing over TCP (ADUs split across and coalesced within chunks, gaps) and UDP, on the
//! raw input and as whole stream chunks or records (see `common/dissect.rs`). The first byte
//! picks the mode.
#![no_main]

use ironward_proto::modbus::{
    self, umas, DeviceIdentification, Mbap, ModbusDissector, Request, ServerId,
};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Mbap::parse(data) {
        assert!(header.adu_len() <= modbus::MAX_ADU);
    }
    if let Ok((_, pdu)) = modbus::split_adu(data) {
        assert!(pdu.len() < modbus::MAX_ADU);
    }
    let _ = modbus::looks_like_mbap(data);
    let _ = Request::parse(data);
    if let Ok(ident) = DeviceIdentification::parse(data) {
        assert!(ident.objects().count() <= modbus::MAX_OBJECTS);
    }
    let _ = ServerId::parse(data);
    let _ = umas::read_memory_block(data);
    let _ = umas::download_block_payload(data);
    let _ = umas::upload_block_payload(data);
    let _ = umas::read_id_model(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let transport = if first & 2 == 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let port = if first & 4 == 0 { modbus::PORT } else { 5020 };
    let meta = dissect::flow(transport, port);
    let mut dissector = ModbusDissector::for_flow(&meta);
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
