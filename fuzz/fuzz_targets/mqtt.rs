//! Fuzzes the MQTT parsers (fixed header, CONNECT with MQTT 5 properties, CONNACK, property
//! walker, content check) and the dissector's packet framing (packets split across and
//! coalesced within chunks, skipped by length), on the raw input and as whole stream chunks or
//! records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::mqtt::{self, ConnAck, Connect, FixedHeader, MqttDissector, Properties};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = FixedHeader::parse(data) {
        assert!((2..=5).contains(&header.header_len));
    }
    if let Ok(connect) = Connect::parse(data) {
        assert!(connect.client_id.len() <= data.len());
        let _ = connect.version_name();
    }
    for level in [None, Some(4), Some(5)] {
        if let Ok(ack) = ConnAck::parse(data, level) {
            let _ = ack.reason(level);
        }
    }
    assert!(Properties::new(data).count() <= mqtt::MAX_PROPERTIES);
    let _ = mqtt::looks_like_connect(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 1883);
    let mut dissector = MqttDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
