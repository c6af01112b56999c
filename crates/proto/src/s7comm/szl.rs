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
    /// Reads a 28-byte record.
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        let [x0, x1, rest @ ..] = record else {
            return None;
        };
        let mlfb = rest.get(..20)?;
        let [t0, t1, g0, g1, e0, e1, ..] = *rest.get(20..)? else {
            return None;
        };
        Some(Self {
            index: u16::from_be_bytes([*x0, *x1]),
            mlfb,
            module_type: u16::from_be_bytes([t0, t1]),
            ausbg: u16::from_be_bytes([g0, g1]),
            ausbe: u16::from_be_bytes([e0, e1]),
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
    fn module_identification_versions() {
        let mut rec = vec![0, 7];
        rec.extend_from_slice(&[b' '; 20]);
        rec.extend_from_slice(&[0x00, 0xc0, 0x56, 0x03, 0x02, 0x06]);
        let m = ModuleId::parse(&rec).unwrap();
        assert_eq!(m.index, 7);
        assert_eq!(m.version().as_str(), "V3.2.6");
        assert!(ModuleId::parse(&rec[..27]).is_none());
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
