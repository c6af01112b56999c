//! IEC 61850 MMS (and ICCP) over ISO session, presentation and ACSE on ISO-TSAP.
//! (Being written: the session currently recognises the protocol and names the flow.)

use crate::iso_tsap::TsduHandler;
use crate::{Direction, FlowMeta, Observations};

/// One mms association.
#[derive(Debug, Default)]
pub struct Session;

impl TsduHandler for Session {
    const PROTOCOL: &'static str = "mms";

    fn recognises(tsdu: &[u8]) -> bool {
        matches!(tsdu.first(), Some(&(0x0d | 0x01)))
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
