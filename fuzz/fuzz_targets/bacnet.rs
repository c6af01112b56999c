//! Fuzzes the BACnet/IP parsers (BVLC, NPDU, APDU headers, the tag reader with its depth and
//! count limits, character strings) on the raw input, then the dissector on the same bytes as
//! whole datagrams or as records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::bacnet::tags::{self, TagReader};
use ironward_proto::bacnet::{self, Apdu, BacnetDissector, Bvlc, Npdu};
use ironward_proto::value::ValueBuf;
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let _ = bacnet::looks_like_bvlc(data);
    if let Ok(bvlc) = Bvlc::parse(data) {
        assert!(bvlc.body.len() <= data.len());
    }
    if let Ok(npdu) = Npdu::parse(data) {
        assert!(npdu.payload.len() <= data.len());
    }
    let _ = Apdu::parse(data);
    let mut reader = TagReader::new(data);
    let mut count = 0usize;
    while let Ok(Some(tag)) = reader.next_tag() {
        count += 1;
        assert!(reader.depth() <= tags::MAX_DEPTH);
        let mut shown = ValueBuf::<64>::new();
        tags::push_value(&mut shown, &tag);
    }
    assert!(count <= tags::MAX_TAGS);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Udp, bacnet::PORT);
    let mut dissector = BacnetDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
