//! System status lists (SZL, "System-Zustandsliste"): the diagnostic tables an S7 CPU answers in
//! userdata "read SZL" responses. Read here: the list header (id, index, record length and
//! count) and the records of the lists that identify a controller — 0x0011/0x0111 module
//! identification (order number, hardware and firmware versions), 0x001C/0x011C component
//! identification (station and module names, plant id, serial number, module type name) and
//! 0x0424 current mode (the CPU state).

use super::S7Error;

/// Most records read from one list (a list longer than this is cut; identity lists have ten).
pub const MAX_SZL_RECORDS: usize = 64;

/// An SZL partial list as it comes in a read-SZL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SzlList<'a> {
    /// SZL id (the low byte names the list, the high byte the extract).
    pub id: u16,
    /// SZL index.
    pub index: u16,
    /// Length of one record.
    pub record_len: u16,
    /// Number of records the list says it holds.
    pub count: u16,
    records: &'a [u8],
}

impl<'a> SzlList<'a> {
    /// Parses the list header and keeps the records that follow.
    pub fn parse(payload: &'a [u8]) -> Result<Self, S7Error> {
        let [i0, i1, x0, x1, l0, l1, c0, c1, records @ ..] = payload else {
            return Err(S7Error::Truncated {
                field: "SZL header",
                offset: 0,
            });
        };
        Ok(Self {
            id: u16::from_be_bytes([*i0, *i1]),
            index: u16::from_be_bytes([*x0, *x1]),
            record_len: u16::from_be_bytes([*l0, *l1]),
            count: u16::from_be_bytes([*c0, *c1]),
            records,
        })
    }

    /// The list number without the extract (`0x11` for 0x0011 and 0x0111).
    pub fn list(&self) -> u8 {
        (self.id & 0xff) as u8
    }

    /// The whole records present (at most the count given and [`MAX_SZL_RECORDS`]).
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let len = usize::from(self.record_len);
        let count = usize::from(self.count).min(MAX_SZL_RECORDS);
        let records = self.records;
        (0..count).map_while(move |i| {
            if len == 0 {
                return None;
            }
            records.get(i * len..(i + 1) * len)
        })
    }
}

/// A module identification record (SZL 0x0011 / 0x0111).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleId<'a> {
    /// 0x0001 module, 0x0006 basic hardware, 0x0007 basic firmware, 0x0081 firmware extension.
    pub index: u16,
    /// Order number (MLFB), space padded.
    pub mlfb: &'a [u8],
    /// Module type id.
    pub module_type: u16,
    /// Version of the module or release of the operating system.
    pub ausbg: u16,
    /// Release of the PG description file (or the rest of a `V` version).
    pub ausbe: u16,
}

impl<'a> ModuleId<'a> {
    /// Reads a 28-byte record. Shorter records that still hold the order number (some S7
    /// server emulations send 26 bytes) are read with the version words as 0.
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let [x0, x1, rest @ ..] = record else {
            return None;
        };
        let mlfb = rest.get(..20)?;
        let word = |at: usize| {
            rest.get(at..at + 2)
                .map_or(0, |w| u16::from_be_bytes([w[0], w[1]]))
        };
        Some(Self {
            index: u16::from_be_bytes([*x0, *x1]),
            mlfb,
            module_type: word(20),
            ausbg: if rest.len() >= 26 { word(22) } else { 0 },
            ausbe: if rest.len() >= 26 { word(24) } else { 0 },
        })
    }

    /// The version as the CPU shows it: `V3.2.6` when coded as `'V'`, major, minor, patch;
    /// else the plain number of `ausbg`.
    pub fn version(&self) -> crate::value::ValueBuf<16> {
        use std::fmt::Write as _;
        let mut out = crate::value::ValueBuf::new();
        let [hi, lo] = self.ausbg.to_be_bytes();
        let [minor, patch] = self.ausbe.to_be_bytes();
        let _ = if hi == b'V' {
            write!(out, "V{lo}.{minor}.{patch}")
        } else {
            write!(out, "{}", self.ausbg)
        };
        out
    }
}

/// A component identification record (SZL 0x001C / 0x011C): an index and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component<'a> {
    /// 1 station name, 2 module name, 3 plant id, 4 copyright, 5 serial number, 7 module type
    /// name, 8 memory card serial number, 0x0b location id.
    pub index: u16,
    /// The text, cut at its first NUL (padding spaces are trimmed when reported).
    pub text: &'a [u8],
}

impl<'a> Component<'a> {
    /// Reads a 34-byte record; `None` for the binary records (9, 0x0a) and unknown ones.
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let [x0, x1, rest @ ..] = record else {
            return None;
        };
        let index = u16::from_be_bytes([*x0, *x1]);
        let width = match index {
            1 | 2 | 5 => 24,
            4 => 26,
            3 | 7 | 8 | 0x0b => 32,
            _ => return None,
        };
        let field = rest.get(..width.min(rest.len()))?;
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        Some(Self {
            index,
            text: &field[..end],
        })
    }
}

/// The mode a 0x0424 record reports: (requested/current mode, previous mode), from `bzu-id`.
pub fn mode(record: &[u8]) -> Option<(u8, u8)> {
    let bzu = *record.get(3)?;
    Some((bzu & 0x0f, bzu >> 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_module_records_keep_the_order_number() {
        // python-snap7's server: a 26-byte record (index, MLFB, then four bytes).
        let mut record = vec![0x00, 0x01];
        record.extend_from_slice(b"6ES7 315-2EH14-0AB0\0");
        record.extend_from_slice(&[0x00, 0x00, 0x03, 0x03]);
        let m = ModuleId::parse(&record).unwrap();
        assert_eq!(m.index, 1);
        assert_eq!(m.mlfb.trim_ascii_end(), b"6ES7 315-2EH14-0AB0\0");
        assert_eq!((m.ausbg, m.ausbe), (0, 0));
        assert!(ModuleId::parse(&record[..21]).is_none());
    }

    #[test]
    fn module_identification_versions() {
        let mut rec = vec![0, 7];
        rec.extend_from_slice(&[b' '; 20]);
        rec.extend_from_slice(&[0x00, 0xc0, 0x56, 0x03, 0x02, 0x06]);
        let m = ModuleId::parse(&rec).unwrap();
        assert_eq!(m.index, 7);
        assert_eq!(m.version().as_str(), "V3.2.6");
        // A cut record keeps its order number but no version.
        assert_eq!(ModuleId::parse(&rec[..27]).unwrap().ausbg, 0);
    }

    #[test]
    fn list_records_are_bounded() {
        let payload = [0x00, 0x1c, 0, 0, 0, 34, 0xff, 0xff, 0, 1];
        let list = SzlList::parse(&payload).unwrap();
        assert_eq!(list.list(), 0x1c);
        assert_eq!(list.records().count(), 0);
        let zero_len = [0x00, 0x1c, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(SzlList::parse(&zero_len).unwrap().records().count(), 0);
        assert!(SzlList::parse(&payload[..7]).is_err());
    }
}
