//! Fuzzes the S7comm-plus parsers (frame header, integrity part, trailer, data header, server
//! session version search) and the session behind the port-102 dispatcher, on the raw input and
//! as whole stream chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::iso_tsap::{IsoTsapDissector, TsduHandler};
use ironward_proto::s7comm_plus::{self, DataHeader, Frame, Session};
use ironward_proto::{Direction, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = Frame::parse(data) {
        assert!(frame.data.len() <= data.len());
        let _ = DataHeader::parse(frame.data);
    }
    if let Some((order, firmware)) = s7comm_plus::server_session_version(data) {
        assert!(order.len() + firmware.len() <= s7comm_plus::MAX_IDENTITY_LEN);
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 102);
    match first % 3 {
        0 => {
            let mut session = Session::default();
            let mut out = Observations::default();
            for (i, tsdu) in rest.split(|&b| b == 0xfe).enumerate() {
                let direction = if i % 2 == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                session.on_tsdu(&meta, direction, tsdu, &mut out);
            }
            out.drain_facts().for_each(drop);
        }
        1 => dissect::drive_whole(&mut IsoTsapDissector::default(), meta, rest),
        _ => dissect::drive(&mut IsoTsapDissector::default(), meta, rest),
    }
});
