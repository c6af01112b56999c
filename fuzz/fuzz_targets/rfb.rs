//! Fuzzes the RFB (VNC) parsers (ProtocolVersion, security offers of every handshake,
//! ServerInit) and the dissector's handshake state machine, on the raw input and as whole
//! stream chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::rfb::{
    self, Handshake, ProtocolVersion, RfbDissector, SecurityOffer, ServerInit,
};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = ProtocolVersion::parse(data) {
        assert_eq!(v.text.len(), 11);
    }
    for handshake in [Handshake::V33, Handshake::V37, Handshake::V38] {
        if let Ok((offer, len)) = SecurityOffer::parse(data, handshake) {
            assert!(len <= data.len());
            if let SecurityOffer::Types(types) = offer {
                assert!(!types.is_empty());
            }
        }
    }
    if let Ok(init) = ServerInit::parse(data) {
        assert!(init.name.len() <= rfb::MAX_NAME);
        assert!(init.display_name().len() <= init.name.len());
    }
    let _ = rfb::parse_security_result(data);
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 5900);
    let mut dissector = RfbDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
