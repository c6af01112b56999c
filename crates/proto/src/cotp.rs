//! ISO transport over TCP: TPKT records (RFC 1006) carrying COTP TPDUs (ISO 8073 class 0), the
//! layers under S7comm, S7comm-plus, IEC 61850 MMS and ICCP on port 102.
//!
//! [`CotpReader`] turns one direction of a TCP stream into transport service data units: it
//! frames TPKT records across segment boundaries (several records per segment, records split
//! over segments), parses each COTP header, and joins DT TPDUs up to the one with the EOT flag.
//! Connection requests and confirms are handed over as they come (they carry the TSAPs). Every
//! buffer is bounded: a record longer than TPKT allows or a TSDU longer than the reader's limit
//! ends the direction.

use std::fmt;

use crate::session::StreamChunk;

/// TPKT version byte.
pub const TPKT_VERSION: u8 = 3;

/// TPKT header length.
pub const TPKT_HEADER_LEN: usize = 4;

/// COTP TPDU codes (high nibble of the second header byte).
pub mod tpdu {
    /// Connection request.
    pub const CR: u8 = 0xe0;
    /// Connection confirm.
    pub const CC: u8 = 0xd0;
    /// Disconnect request.
    pub const DR: u8 = 0x80;
    /// Disconnect confirm.
    pub const DC: u8 = 0xc0;
    /// Data.
    pub const DT: u8 = 0xf0;
    /// Expedited data.
    pub const ED: u8 = 0x10;
    /// TPDU error.
    pub const ER: u8 = 0x70;
}

/// Why a TPKT record or COTP TPDU was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CotpError {
    /// The record does not start with TPKT version 3.
    NotTpkt {
        /// The first byte.
        version: u8,
    },
    /// The TPKT length is below the header plus a COTP length byte.
    BadTpktLength(u16),
    /// The COTP header is longer than the record.
    Truncated {
        /// What was being read.
        field: &'static str,
    },
}

impl fmt::Display for CotpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTpkt { version } => write!(f, "TPKT: version {version}, expected 3"),
            Self::BadTpktLength(len) => write!(f, "TPKT: length {len} shorter than a header"),
            Self::Truncated { field } => write!(f, "COTP: truncated {field}"),
        }
    }
}

impl std::error::Error for CotpError {}

/// Whether `bytes` start like a TPKT record holding a COTP TPDU (for recognising port-102
/// traffic by content).
pub fn looks_like_tpkt(bytes: &[u8]) -> bool {
    let [version, _, hi, lo, li, code, ..] = *bytes else {
        return false;
    };
    let len = u16::from_be_bytes([hi, lo]);
    version == TPKT_VERSION
        && len >= 7
        && usize::from(li) + 5 <= usize::from(len)
        && matches!(
            code & 0xf0,
            tpdu::CR | tpdu::CC | tpdu::DT | tpdu::DR | tpdu::DC | tpdu::ED | tpdu::ER
        )
}

/// The length of the TPKT record starting at `bytes`, once its header is complete.
pub fn tpkt_len(bytes: &[u8]) -> Result<Option<usize>, CotpError> {
    let [version, _, hi, lo, ..] = *bytes else {
        return Ok(None);
    };
    if version != TPKT_VERSION {
        return Err(CotpError::NotTpkt { version });
    }
    let len = u16::from_be_bytes([hi, lo]);
    if usize::from(len) < TPKT_HEADER_LEN + 2 {
        return Err(CotpError::BadTpktLength(len));
    }
    Ok(Some(usize::from(len)))
}

/// Connection set-up parameters of a CR or CC TPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Connect<'a> {
    /// Destination reference.
    pub dst_ref: u16,
    /// Source reference.
    pub src_ref: u16,
    /// Protocol class (0 for RFC 1006).
    pub class: u8,
    /// Calling TSAP (parameter 0xc1).
    pub calling_tsap: Option<&'a [u8]>,
    /// Called TSAP (parameter 0xc2).
    pub called_tsap: Option<&'a [u8]>,
    /// TPDU size code (parameter 0xc0): the size is 2^code bytes.
    pub tpdu_size: Option<u8>,
}

/// One COTP TPDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tpdu<'a> {
    /// Connection request.
    ConnectionRequest(Connect<'a>),
    /// Connection confirm.
    ConnectionConfirm(Connect<'a>),
    /// Data: a piece of a TSDU; `last` when the EOT flag is set.
    Data {
        /// The EOT flag: this piece ends the TSDU.
        last: bool,
        /// The user data.
        payload: &'a [u8],
    },
    /// Any other TPDU (disconnect, error, expedited data), by code.
    Other {
        /// The TPDU code (high nibble).
        code: u8,
    },
}

/// Parses the COTP TPDU that fills a TPKT record's payload (`bytes` after the 4-byte header).
pub fn parse_tpdu(bytes: &[u8]) -> Result<Tpdu<'_>, CotpError> {
    let Some((&li, rest)) = bytes.split_first() else {
        return Err(CotpError::Truncated {
            field: "length indicator",
        });
    };
    let header = rest
        .get(..usize::from(li))
        .ok_or(CotpError::Truncated { field: "header" })?;
    let payload = &rest[usize::from(li)..];
    let Some(&code) = header.first() else {
        return Err(CotpError::Truncated { field: "TPDU code" });
    };
    match code & 0xf0 {
        tpdu::DT => {
            let nr = *header.get(1).ok_or(CotpError::Truncated {
                field: "TPDU number",
            })?;
            Ok(Tpdu::Data {
                last: nr & 0x80 != 0,
                payload,
            })
        }
        c @ (tpdu::CR | tpdu::CC) => {
            let fixed = header.get(1..6).ok_or(CotpError::Truncated {
                field: "connection header",
            })?;
            let mut connect = Connect {
                dst_ref: u16::from_be_bytes([fixed[0], fixed[1]]),
                src_ref: u16::from_be_bytes([fixed[2], fixed[3]]),
                class: fixed[4] >> 4,
                ..Connect::default()
            };
            let mut params = &header[6..];
            while let [kind, len, tail @ ..] = params {
                let Some(value) = tail.get(..usize::from(*len)) else {
                    break;
                };
                match kind {
                    0xc0 => connect.tpdu_size = value.first().copied(),
                    0xc1 => connect.calling_tsap = Some(value),
                    0xc2 => connect.called_tsap = Some(value),
                    _ => {}
                }
                params = &tail[usize::from(*len)..];
            }
            Ok(if c == tpdu::CR {
                Tpdu::ConnectionRequest(connect)
            } else {
                Tpdu::ConnectionConfirm(connect)
            })
        }
        code => Ok(Tpdu::Other { code }),
    }
}

/// A rule of RFC 1006 or ISO 8073 class 0 that a record breaks while still being readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CotpViolation {
    /// The TPKT reserved byte (the second) is not 0.
    TpktReserved(u8),
    /// A class 0 DT TPDU whose length indicator is not 2 (code and EOT/number only).
    DataHeaderLength(u8),
}

impl fmt::Display for CotpViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TpktReserved(b) => write!(f, "TPKT reserved byte 0x{b:02x}, must be 0"),
            Self::DataHeaderLength(li) => {
                write!(f, "COTP DT length indicator {li}, class 0 has 2")
            }
        }
    }
}

/// The first rule a whole TPKT record (header included) breaks, if any.
pub fn check_record(record: &[u8]) -> Option<CotpViolation> {
    let [_, reserved, _, _, li, code, ..] = *record else {
        return None;
    };
    if reserved != 0 {
        return Some(CotpViolation::TpktReserved(reserved));
    }
    (code & 0xf0 == tpdu::DT && li != 2).then_some(CotpViolation::DataHeaderLength(li))
}

/// What [`CotpReader`] hands to its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit<'a> {
    /// A connection request or confirm.
    Connect(Tpdu<'a>),
    /// A whole transport service data unit (the joined DT payloads up to EOT).
    Data(&'a [u8]),
    /// A record that breaks a rule but is read all the same (handed over before its content).
    Violation(CotpViolation),
}

/// Reads one direction of an ISO-on-TCP stream into [`Unit`]s.
#[derive(Debug, Default)]
pub struct CotpReader {
    /// An incomplete TPKT record.
    record: Vec<u8>,
    /// DT payloads of a TSDU not yet ended by EOT.
    tsdu: Vec<u8>,
    /// Set when the stream is not (or no longer) readable: bad framing or a bound hit.
    done: bool,
    /// After a gap: record boundaries are lost, so chunks are passed over until one starts with
    /// a plausible TPKT record (segments carry whole records in practice).
    resync: bool,
}

impl CotpReader {
    /// Whether the direction stopped (bad framing, or a unit over the bound).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next stream chunk; calls `unit` for every connection TPDU and whole TSDU.
    /// TSDUs longer than `max_tsdu` bytes end the direction. Returns the first framing error,
    /// after which the direction is done.
    pub fn feed(
        &mut self,
        chunk: StreamChunk<'_>,
        max_tsdu: usize,
        mut unit: impl FnMut(Unit<'_>),
    ) -> Result<(), CotpError> {
        if self.done {
            return Ok(());
        }
        let mut data = match chunk {
            StreamChunk::Data(bytes) => bytes,
            StreamChunk::Gap(_) => {
                // Record boundaries are lost with the missing bytes: drop what was pending and
                // wait for a chunk that starts a record.
                self.record = Vec::new();
                self.tsdu = Vec::new();
                self.resync = true;
                return Ok(());
            }
            StreamChunk::End => return Ok(()),
        };
        if self.resync {
            if !looks_like_tpkt(data) {
                return Ok(());
            }
            self.resync = false;
        }
        while !data.is_empty() {
            // Complete a buffered record first, else take whole records straight from `data`.
            let record: &[u8];
            let owned;
            if self.record.is_empty() {
                match tpkt_len(data) {
                    Ok(Some(len)) if len <= data.len() => {
                        record = &data[..len];
                        data = &data[len..];
                    }
                    Ok(_) => {
                        self.record.extend_from_slice(data);
                        return Ok(());
                    }
                    Err(e) => {
                        self.stop();
                        return Err(e);
                    }
                }
            } else {
                if self.record.len() < TPKT_HEADER_LEN {
                    let need = TPKT_HEADER_LEN - self.record.len();
                    let n = need.min(data.len());
                    self.record.extend_from_slice(&data[..n]);
                    data = &data[n..];
                }
                let len = match tpkt_len(&self.record) {
                    Ok(Some(len)) => len,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        self.stop();
                        return Err(e);
                    }
                };
                let n = (len - self.record.len()).min(data.len());
                self.record.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.record.len() < len {
                    return Ok(());
                }
                owned = std::mem::take(&mut self.record);
                record = &owned;
            }
            if let Some(violation) = check_record(record) {
                unit(Unit::Violation(violation));
            }
            let tpdu = match parse_tpdu(&record[TPKT_HEADER_LEN..]) {
                Ok(tpdu) => tpdu,
                Err(e) => {
                    self.stop();
                    return Err(e);
                }
            };
            match tpdu {
                Tpdu::Data { last, payload } => {
                    if self.tsdu.is_empty() && last {
                        unit(Unit::Data(payload));
                    } else if self.tsdu.len() + payload.len() > max_tsdu {
                        self.stop();
                        return Ok(());
                    } else {
                        self.tsdu.extend_from_slice(payload);
                        if last {
                            let whole = std::mem::take(&mut self.tsdu);
                            unit(Unit::Data(&whole));
                        }
                    }
                }
                Tpdu::ConnectionRequest(_) | Tpdu::ConnectionConfirm(_) => {
                    unit(Unit::Connect(tpdu))
                }
                Tpdu::Other { .. } => {}
            }
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.done = true;
        self.record = Vec::new();
        self.tsdu = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cotp: &[u8], payload: &[u8]) -> Vec<u8> {
        let len = (4 + cotp.len() + payload.len()) as u16;
        let mut r = vec![3, 0];
        r.extend_from_slice(&len.to_be_bytes());
        r.extend_from_slice(cotp);
        r.extend_from_slice(payload);
        r
    }

    #[test]
    fn connection_request_tsaps() {
        // CR with TPDU size 1024, calling TSAP 0x0100, called TSAP 0x0102 (S7 rack 0 slot 2).
        let cr = record(
            &[
                0x11, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2,
            ],
            &[],
        );
        assert!(looks_like_tpkt(&cr));
        let Tpdu::ConnectionRequest(c) = parse_tpdu(&cr[4..]).unwrap() else {
            panic!("not a CR");
        };
        assert_eq!(c.src_ref, 1);
        assert_eq!(c.tpdu_size, Some(10));
        assert_eq!(c.calling_tsap, Some(&[1, 0][..]));
        assert_eq!(c.called_tsap, Some(&[1, 2][..]));
    }

    #[test]
    fn records_split_and_joined_across_chunks() {
        let a = record(&[2, 0xf0, 0x00], b"hel");
        let b = record(&[2, 0xf0, 0x80], b"lo");
        let c = record(&[2, 0xf0, 0x80], b"second");
        let mut stream = a.clone();
        stream.extend_from_slice(&b);
        stream.extend_from_slice(&c);
        for cut in 0..stream.len() {
            let mut reader = CotpReader::default();
            let mut got = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                reader
                    .feed(StreamChunk::Data(piece), 1024, |u| {
                        if let Unit::Data(d) = u {
                            got.push(d.to_vec());
                        }
                    })
                    .unwrap();
            }
            assert_eq!(
                got,
                vec![b"hello".to_vec(), b"second".to_vec()],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn a_gap_drops_the_partial_record_and_resumes_at_the_next_record() {
        let whole = record(&[2, 0xf0, 0x80], b"after");
        let mut reader = CotpReader::default();
        let mut got = Vec::new();
        let mut take = |u: Unit<'_>| {
            if let Unit::Data(d) = u {
                got.push(d.to_vec());
            }
        };
        let first = record(&[2, 0xf0, 0x80], b"before the gap");
        reader
            .feed(StreamChunk::Data(&first[..9]), 1024, &mut take)
            .unwrap();
        reader.feed(StreamChunk::Gap(100), 1024, &mut take).unwrap();
        // A chunk that starts mid-record is passed over; the next record is read.
        reader
            .feed(StreamChunk::Data(b"tail of a record"), 1024, &mut take)
            .unwrap();
        reader
            .feed(StreamChunk::Data(&whole), 1024, &mut take)
            .unwrap();
        assert!(!reader.is_done());
        assert_eq!(got, vec![b"after".to_vec()]);
    }

    #[test]
    fn hostile_framing_stops_the_direction() {
        let mut reader = CotpReader::default();
        let err = reader
            .feed(StreamChunk::Data(&[4, 0, 0, 9, 1, 2, 3, 4, 5]), 64, |_| {})
            .unwrap_err();
        assert_eq!(err, CotpError::NotTpkt { version: 4 });
        assert!(reader.is_done());
        // A TSDU over the bound ends the direction without buffering it.
        let mut reader = CotpReader::default();
        let big = record(&[2, 0xf0, 0x00], &[0u8; 100]);
        reader
            .feed(
                StreamChunk::Data(&[&big[..], &big[..]].concat()),
                150,
                |_| panic!("no unit expected"),
            )
            .unwrap();
        assert!(reader.is_done());
        assert!(parse_tpdu(&[5, 0xe0, 0]).is_err());
        assert!(parse_tpdu(&[]).is_err());
    }
}
