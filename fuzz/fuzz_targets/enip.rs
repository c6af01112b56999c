//! Fuzzes the EtherNet/IP and CIP parsers (encapsulation header, CPF items, ListIdentity
//! identity item, CIP requests and responses, EPATH segments and their text, service bodies,
//! Forward Open, Unconnected Send, Multiple Service Packet walk, Identity attributes) and the
//! dissector over TCP (messages split across and coalesced within chunks, skipped by length,
//! nested Unconnected Send / Multiple Service Packet) and UDP (see `common/dissect.rs`). The
//! first byte picks the mode.
#![no_main]

use ironward_proto::enip::cip::{self, ForwardOpen, Identity, Request, Response, Segments, Target};
use ironward_proto::enip::{self, CpfItems, EnipDissector, Header, IdentityItem};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = Header::parse(data) {
        assert!(header.total_len() <= enip::HEADER_LEN + enip::MAX_ENCAPSULATED);
    }
    assert!(CpfItems::new(data).count() <= enip::MAX_CPF_ITEMS);
    let _ = IdentityItem::parse(data);
    let _ = Identity::parse(data);
    assert!(Segments::new(data).count() <= cip::MAX_SEGMENTS);
    let mut text = ValueBuf::<256>::new();
    cip::write_path(&mut text, data);
    let target = Target::of(data);
    if let Ok(request) = Request::parse(data) {
        let target = Target::of(request.path);
        let _ = cip::classify(request.service, &target);
        let mut body = ValueBuf::<256>::new();
        cip::write_body(&mut body, request.service, &target, request.data);
    }
    if let Ok(response) = Response::parse(data) {
        let _ = (response.failed(), response.extended_status());
    }
    for large in [false, true] {
        let _ = ForwardOpen::parse(data, large);
    }
    let _ = cip::UnconnectedSend::parse(data);
    assert!(cip::embedded(data).count() <= cip::MAX_SERVICES);
    let _ = (target, enip::looks_like_enip(data));
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let transport = if first & 2 == 0 { Transport::Tcp } else { Transport::Udp };
    let meta = dissect::flow(transport, enip::PORT);
    let mut dissector = EnipDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
