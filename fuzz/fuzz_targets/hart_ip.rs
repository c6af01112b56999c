//! Fuzzes the HART-IP parsers (header, HART PDU with short/long addresses, expansion bytes and
//! expanded commands, command 0 identifier, packed ASCII) and the dissector over TCP (messages
//! split across and coalesced within chunks) and UDP (see `common/dissect.rs`). The first byte
//! picks the mode.
#![no_main]

use ironward_proto::hart_ip::{self, HartIpDissector, Header, Pdu, UniqueIdentifier};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::parse(data) {
        assert!(usize::from(header.length) >= hart_ip::HEADER_LEN);
    }
    if let Ok(pdu) = Pdu::parse(data) {
        assert!(pdu.data.len() <= data.len());
        let _ = hart_ip::command(pdu.command);
    }
    if let Ok(id) = UniqueIdentifier::parse(data) {
        let _ = id.long_address();
    }
    let mut tag = ValueBuf::<64>::new();
    hart_ip::unpack_ascii(data, &mut tag);
    let _ = hart_ip::looks_like_hart_ip(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let transport = if first & 2 == 0 { Transport::Tcp } else { Transport::Udp };
    let meta = dissect::flow(transport, hart_ip::PORT);
    let mut dissector = HartIpDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
