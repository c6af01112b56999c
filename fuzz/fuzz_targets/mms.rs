//! Fuzzes the MMS stack: the ISO session, presentation and ACSE parsers, the MMS PDU parser,
//! the strict recogniser, and the port-102 dissector (TPKT/COTP framing, then MMS sessions) on
//! whole stream chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::iso_tsap::{IsoTsapDissector, TsduHandler};
use ironward_proto::mms::{self, iso, Session};
use ironward_proto::{Direction, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let _ = mms::parse_pdu(rest, 0);
    if let Ok(spdu) = iso::parse_spdu(rest) {
        if let Ok(iso::Ppdu::Data(pdv)) = iso::parse_ppdu(spdu.user_data, 0) {
            let _ = iso::parse_apdu(pdv.data, pdv.offset);
        }
    }
    let _ = iso::parse_apdu(rest, 0);
    let _ = Session::recognises(rest);
    let meta = dissect::flow(Transport::Tcp, 102);
    match first % 3 {
        0 => {
            let mut session = Session::default();
            let mut out = Observations::default();
            session.on_tsdu(&meta, Direction::ClientToServer, rest, &mut out);
            session.on_tsdu(&meta, Direction::ServerToClient, rest, &mut out);
        }
        1 => dissect::drive_whole(&mut IsoTsapDissector::default(), meta, rest),
        _ => dissect::drive(&mut IsoTsapDissector::default(), meta, rest),
    }
});
