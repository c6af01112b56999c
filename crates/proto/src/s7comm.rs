//! Siemens S7comm (protocol id 0x32) over ISO-TSAP.
//! (Being written: the session currently recognises the protocol and names the flow.)

use crate::iso_tsap::TsduHandler;
use crate::{Direction, FlowMeta, Observations};

/// One s7comm association.
#[derive(Debug, Default)]
pub struct Session;

impl TsduHandler for Session {
    const PROTOCOL: &'static str = "s7comm";

    fn recognises(tsdu: &[u8]) -> bool {
        tsdu.first() == Some(&0x32)
    }

    fn on_tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    ) {
        let _ = (flow, direction, tsdu, out);
    }
}
