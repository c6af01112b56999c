//! Fuzzes the S7comm parsers (PDU header, item addresses, data items, userdata parameters, block
//! names, SZL lists and records) and the session behind the port-102 dispatcher (TPKT/COTP
//! framing, PDUs split and coalesced, fragmented SZL answers, block transfers), on the raw input
//! and as whole stream chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_proto::iso_tsap::{IsoTsapDissector, TsduHandler};
use ironward_proto::s7comm::szl::{Component, ModuleId, SzlList};
use ironward_proto::s7comm::{self, BlockName, DataItems, ItemSpecs, Pdu, Session, UserdataParam};
use ironward_proto::{Direction, Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = Pdu::parse(data) {
        assert!(pdu.param.len() + pdu.data.len() <= data.len());
        let (items, _) = ItemSpecs::new(pdu.param);
        assert!(items.count() <= 255);
        for item in DataItems::new(pdu.data) {
            assert!(item.value.len() <= pdu.data.len());
        }
        let _ = UserdataParam::parse(pdu.param);
    }
    let _ = BlockName::from_file_name(data);
    if let Ok(list) = SzlList::parse(data) {
        for record in list.records() {
            let _ = ModuleId::parse(record).map(|m| m.version());
            let _ = Component::parse(record);
        }
    }
    let _ = s7comm::mlfb_model(&String::from_utf8_lossy(data));
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 102);
    match first % 3 {
        0 => {
            // S7 PDUs straight to the session, alternating directions.
            let mut session = Session::default();
            let mut out = Observations::default();
            for (i, pdu) in rest.split(|&b| b == 0xfe).enumerate() {
                let direction = if i % 2 == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                session.on_tsdu(&meta, direction, pdu, &mut out);
            }
            session.on_end(&meta, &mut out);
            out.drain_facts().for_each(drop);
        }
        1 => dissect::drive_whole(&mut IsoTsapDissector::default(), meta, rest),
        _ => dissect::drive(&mut IsoTsapDissector::default(), meta, rest),
    }
});
