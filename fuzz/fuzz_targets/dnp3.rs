//! Fuzzes the DNP3 parsers and dissector: link frames (CRCs, length), the application header
//! and object-header walk on the raw input with and without object data (CRCs do not guard
//! them, so the fuzzer reaches every qualifier and size rule), each header's objects, and the
//! dissector on TCP streams (frames split and coalesced) and UDP datagrams. The first byte
//! picks the mode.
#![no_main]

use ironward_proto::dnp3::app::{self, AppHeader, ObjectHeaders};
use ironward_proto::dnp3::{self, Dnp3Dissector, LinkFrame};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = LinkFrame::parse(data) {
        assert!(frame.wire_len <= dnp3::MAX_FRAME && frame.wire_len <= data.len());
        assert!(frame.data().len() <= 250);
    }
    let _ = dnp3::looks_like_dnp3(data);
    let offset = AppHeader::parse(data).map_or(0, |(_, offset)| offset);
    for with_data in [false, true] {
        let mut headers = 0;
        for header in ObjectHeaders::new(data, offset, with_data) {
            headers += 1;
            assert!(headers <= app::MAX_HEADERS);
            let Ok(header) = header else { break };
            assert!(header.data.len() <= data.len());
            for (_, object) in header.objects().take(1024) {
                assert!(object.len() <= header.data.len());
            }
        }
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let mut dissector = Dnp3Dissector::default();
    let transport = if first & 2 == 0 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let meta = dissect::flow(transport, dnp3::PORT);
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
