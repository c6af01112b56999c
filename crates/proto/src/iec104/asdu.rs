//! The application service data unit (ASDU) of IEC 60870-5-101 and -104, shared by both
//! dissectors: data unit identifier (type id, variable structure qualifier, cause of
//! transmission with its P/N and test bits, originator address, common address) and the
//! information objects (address and element), walked with bounds.
//!
//! The field sizes differ: IEC 104 fixes them (two-byte cause of transmission with originator
//! address, two-byte common address, three-byte information object address: [`IEC104`]);
//! IEC 101 links choose them per installation ([`AsduParams`]). Element sizes come from the
//! type id table ([`type_info`]); a type id outside it is kept as a number and its objects are
//! not walked. At most [`MAX_OBJECTS`] objects exist in one ASDU (the 7-bit count).
//!
//! Nothing here allocates; descriptions of commands are written into a caller's buffer.

use std::fmt::Write;

use ironward_model::EventCategory;

/// Most information objects in one ASDU (the variable structure qualifier's 7-bit count).
pub const MAX_OBJECTS: usize = 127;

/// Sizes of the variable fields of the data unit identifier and object addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsduParams {
    /// Cause of transmission: 1 byte, or 2 with the originator address.
    pub cot_size: u8,
    /// Common address of the ASDU: 1 or 2 bytes.
    pub ca_size: u8,
    /// Information object address: 1, 2 or 3 bytes.
    pub ioa_size: u8,
}

/// The sizes IEC 60870-5-104 fixes.
pub const IEC104: AsduParams = AsduParams {
    cot_size: 2,
    ca_size: 2,
    ioa_size: 3,
};

/// Why an ASDU could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsduError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts, from the start of the ASDU.
        offset: usize,
    },
    /// The parameters name a size the standard does not allow.
    BadParams,
    /// The variable structure qualifier counts no object.
    NoObjects,
}

impl std::fmt::Display for AsduError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "ASDU truncated at {field} (offset {offset})")
            }
            Self::BadParams => f.write_str("ASDU field sizes out of range"),
            Self::NoObjects => f.write_str("ASDU with no information object"),
        }
    }
}

impl std::error::Error for AsduError {}

/// What a type id is for, which decides the event category and who is expected to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    /// Process information in monitor direction (M_*): aggregated, never per value.
    Monitor,
    /// End of initialisation (M_EI_NA_1).
    EndOfInit,
    /// Process commands (C_SC … C_BO, with or without time tag).
    Command,
    /// General and counter interrogation, read command.
    Interrogation,
    /// Clock synchronisation and delay acquisition.
    Clock,
    /// Test command.
    Test,
    /// Reset process.
    Reset,
    /// Parameter loading and activation (P_*).
    Parameter,
    /// File transfer (F_*).
    File,
}

/// One type id of the companion standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type id.
    pub id: u8,
    /// The standard's name (`C_SC_NA_1`).
    pub name: &'static str,
    /// The name as an event operation (`c_sc_na_1`).
    pub operation: &'static str,
    /// Element size in bytes after the object address (`None`: variable, F_SG_NA_1).
    pub size: Option<u8>,
    /// What it is for.
    pub kind: TypeKind,
}

impl TypeInfo {
    /// The event category of an operation with this type.
    pub fn category(&self) -> EventCategory {
        match self.kind {
            TypeKind::Monitor | TypeKind::Interrogation => EventCategory::Read,
            TypeKind::EndOfInit => EventCategory::Other,
            TypeKind::Command => EventCategory::ControlCommand,
            TypeKind::Clock => EventCategory::TimeSync,
            TypeKind::Test => EventCategory::Diagnostics,
            TypeKind::Reset => EventCategory::ModeChange,
            TypeKind::Parameter => EventCategory::ConfigurationChange,
            TypeKind::File => EventCategory::ProgramUpload,
        }
    }
}

macro_rules! types {
    ($($id:literal $name:ident $op:ident $size:expr, $kind:ident;)*) => {
        /// Every type id known, by id.
        const TYPES: &[TypeInfo] = &[$(TypeInfo {
            id: $id,
            name: stringify!($name),
            operation: stringify!($op),
            size: $size,
            kind: TypeKind::$kind,
        }),*];
    };
}

// Element sizes (after the object address) from IEC 60870-5-101 clause 7.3.
types! {
    1 M_SP_NA_1 m_sp_na_1 Some(1), Monitor;
    2 M_SP_TA_1 m_sp_ta_1 Some(4), Monitor;
    3 M_DP_NA_1 m_dp_na_1 Some(1), Monitor;
    4 M_DP_TA_1 m_dp_ta_1 Some(4), Monitor;
    5 M_ST_NA_1 m_st_na_1 Some(2), Monitor;
    6 M_ST_TA_1 m_st_ta_1 Some(5), Monitor;
    7 M_BO_NA_1 m_bo_na_1 Some(5), Monitor;
    8 M_BO_TA_1 m_bo_ta_1 Some(8), Monitor;
    9 M_ME_NA_1 m_me_na_1 Some(3), Monitor;
    10 M_ME_TA_1 m_me_ta_1 Some(6), Monitor;
    11 M_ME_NB_1 m_me_nb_1 Some(3), Monitor;
    12 M_ME_TB_1 m_me_tb_1 Some(6), Monitor;
    13 M_ME_NC_1 m_me_nc_1 Some(5), Monitor;
    14 M_ME_TC_1 m_me_tc_1 Some(8), Monitor;
    15 M_IT_NA_1 m_it_na_1 Some(5), Monitor;
    16 M_IT_TA_1 m_it_ta_1 Some(8), Monitor;
    17 M_EP_TA_1 m_ep_ta_1 Some(6), Monitor;
    18 M_EP_TB_1 m_ep_tb_1 Some(7), Monitor;
    19 M_EP_TC_1 m_ep_tc_1 Some(7), Monitor;
    20 M_PS_NA_1 m_ps_na_1 Some(5), Monitor;
    21 M_ME_ND_1 m_me_nd_1 Some(2), Monitor;
    30 M_SP_TB_1 m_sp_tb_1 Some(8), Monitor;
    31 M_DP_TB_1 m_dp_tb_1 Some(8), Monitor;
    32 M_ST_TB_1 m_st_tb_1 Some(9), Monitor;
    33 M_BO_TB_1 m_bo_tb_1 Some(12), Monitor;
    34 M_ME_TD_1 m_me_td_1 Some(10), Monitor;
    35 M_ME_TE_1 m_me_te_1 Some(10), Monitor;
    36 M_ME_TF_1 m_me_tf_1 Some(12), Monitor;
    37 M_IT_TB_1 m_it_tb_1 Some(12), Monitor;
    38 M_EP_TD_1 m_ep_td_1 Some(10), Monitor;
    39 M_EP_TE_1 m_ep_te_1 Some(11), Monitor;
    40 M_EP_TF_1 m_ep_tf_1 Some(11), Monitor;
    45 C_SC_NA_1 c_sc_na_1 Some(1), Command;
    46 C_DC_NA_1 c_dc_na_1 Some(1), Command;
    47 C_RC_NA_1 c_rc_na_1 Some(1), Command;
    48 C_SE_NA_1 c_se_na_1 Some(3), Command;
    49 C_SE_NB_1 c_se_nb_1 Some(3), Command;
    50 C_SE_NC_1 c_se_nc_1 Some(5), Command;
    51 C_BO_NA_1 c_bo_na_1 Some(4), Command;
    58 C_SC_TA_1 c_sc_ta_1 Some(8), Command;
    59 C_DC_TA_1 c_dc_ta_1 Some(8), Command;
    60 C_RC_TA_1 c_rc_ta_1 Some(8), Command;
    61 C_SE_TA_1 c_se_ta_1 Some(10), Command;
    62 C_SE_TB_1 c_se_tb_1 Some(10), Command;
    63 C_SE_TC_1 c_se_tc_1 Some(12), Command;
    64 C_BO_TA_1 c_bo_ta_1 Some(11), Command;
    70 M_EI_NA_1 m_ei_na_1 Some(1), EndOfInit;
    100 C_IC_NA_1 c_ic_na_1 Some(1), Interrogation;
    101 C_CI_NA_1 c_ci_na_1 Some(1), Interrogation;
    102 C_RD_NA_1 c_rd_na_1 Some(0), Interrogation;
    103 C_CS_NA_1 c_cs_na_1 Some(7), Clock;
    104 C_TS_NA_1 c_ts_na_1 Some(2), Test;
    105 C_RP_NA_1 c_rp_na_1 Some(1), Reset;
    106 C_CD_NA_1 c_cd_na_1 Some(2), Clock;
    107 C_TS_TA_1 c_ts_ta_1 Some(9), Test;
    110 P_ME_NA_1 p_me_na_1 Some(3), Parameter;
    111 P_ME_NB_1 p_me_nb_1 Some(3), Parameter;
    112 P_ME_NC_1 p_me_nc_1 Some(5), Parameter;
    113 P_AC_NA_1 p_ac_na_1 Some(1), Parameter;
    120 F_FR_NA_1 f_fr_na_1 Some(6), File;
    121 F_SR_NA_1 f_sr_na_1 Some(7), File;
    122 F_SC_NA_1 f_sc_na_1 Some(4), File;
    123 F_LS_NA_1 f_ls_na_1 Some(5), File;
    124 F_AF_NA_1 f_af_na_1 Some(4), File;
    125 F_SG_NA_1 f_sg_na_1 None, File;
    126 F_DR_TA_1 f_dr_ta_1 Some(13), File;
    127 F_SC_NB_1 f_sc_nb_1 Some(16), File;
}

/// The type id's description, when the companion standards define it.
pub fn type_info(id: u8) -> Option<&'static TypeInfo> {
    TYPES
        .binary_search_by_key(&id, |t| t.id)
        .ok()
        .and_then(|i| TYPES.get(i))
}

/// F_SG_NA_1: a file segment (the one variable-size element).
pub const F_SG_NA_1: u8 = 125;
/// F_LS_NA_1: last section or segment.
pub const F_LS_NA_1: u8 = 123;

/// Cause of transmission: activation.
pub const COT_ACT: u8 = 6;
/// Cause of transmission: activation confirmation.
pub const COT_ACTCON: u8 = 7;
/// Cause of transmission: deactivation.
pub const COT_DEACT: u8 = 8;
/// Cause of transmission: deactivation confirmation.
pub const COT_DEACTCON: u8 = 9;

/// The short name of a cause of transmission (6 bits), as the standard abbreviates it.
pub fn cause_name(cause: u8) -> &'static str {
    match cause {
        1 => "per/cyc",
        2 => "back",
        3 => "spont",
        4 => "init",
        5 => "req",
        6 => "act",
        7 => "actcon",
        8 => "deact",
        9 => "deactcon",
        10 => "actterm",
        11 => "retrem",
        12 => "retloc",
        13 => "file",
        20 => "inrogen",
        21..=36 => "inro",
        37 => "reqcogen",
        38..=41 => "reqco",
        44 => "unknown type id",
        45 => "unknown cause",
        46 => "unknown common address",
        47 => "unknown object address",
        _ => "cause",
    }
}

/// Whether a cause of transmission reports the outstation's refusal of an unknown type, cause,
/// common address or object address.
pub fn is_unknown_cause(cause: u8) -> bool {
    (44..=47).contains(&cause)
}

/// A parsed ASDU: the data unit identifier, and its objects as raw bytes walked on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asdu<'a> {
    /// Type identification.
    pub type_id: u8,
    /// Objects are a sequence of elements after one address (SQ = 1).
    pub sequence: bool,
    /// Number of objects or elements.
    pub count: u8,
    /// Cause of transmission (6 bits).
    pub cause: u8,
    /// P/N bit: negative confirmation.
    pub negative: bool,
    /// Test bit.
    pub test: bool,
    /// Originator address (with a two-byte cause of transmission).
    pub originator: Option<u8>,
    /// Common address of the ASDU (station address).
    pub common_address: u16,
    /// The bytes of the information objects.
    pub objects: &'a [u8],
    /// The field sizes it was read with.
    pub params: AsduParams,
}

impl<'a> Asdu<'a> {
    /// Reads an ASDU that fills `input`.
    pub fn parse(input: &'a [u8], params: AsduParams) -> Result<Self, AsduError> {
        if !(1..=2).contains(&params.cot_size)
            || !(1..=2).contains(&params.ca_size)
            || !(1..=3).contains(&params.ioa_size)
        {
            return Err(AsduError::BadParams);
        }
        let head_len = 2 + usize::from(params.cot_size) + usize::from(params.ca_size);
        let head = input.get(..head_len).ok_or(AsduError::Truncated {
            field: "data unit identifier",
            offset: 0,
        })?;
        let (type_id, vsq, cot) = match head {
            [t, v, c, ..] => (*t, *v, *c),
            _ => {
                return Err(AsduError::Truncated {
                    field: "data unit identifier",
                    offset: 0,
                })
            }
        };
        let originator = (params.cot_size == 2).then(|| head.get(3).copied().unwrap_or(0));
        let ca_at = 2 + usize::from(params.cot_size);
        let common_address = le(head.get(ca_at..head_len).unwrap_or_default()) as u16;
        let count = vsq & 0x7f;
        if count == 0 {
            return Err(AsduError::NoObjects);
        }
        Ok(Self {
            type_id,
            sequence: vsq & 0x80 != 0,
            count,
            cause: cot & 0x3f,
            negative: cot & 0x40 != 0,
            test: cot & 0x80 != 0,
            originator,
            common_address,
            objects: input.get(head_len..).unwrap_or_default(),
            params,
        })
    }

    /// The type's description, if known.
    pub fn info(&self) -> Option<&'static TypeInfo> {
        type_info(self.type_id)
    }

    /// The information objects (address and element), in order; empty for an unknown type.
    pub fn objects(&self) -> Objects<'a> {
        Objects {
            rest: self.objects,
            offset: 0,
            left: if self.info().is_some() { self.count } else { 0 },
            sequence: self.sequence,
            next_address: None,
            type_id: self.type_id,
            size: self.info().and_then(|t| t.size),
            ioa_size: usize::from(self.params.ioa_size),
        }
    }

    /// Whether the object bytes are exactly what the type and count call for (the check that
    /// tells IEC 101 field sizes apart).
    pub fn fits_exactly(&self) -> bool {
        let mut objects = self.objects();
        let mut walked = 0;
        for object in objects.by_ref() {
            if object.is_err() {
                return false;
            }
            walked += 1;
        }
        walked == usize::from(self.count) && objects.rest.is_empty() && self.info().is_some()
    }
}

/// One information object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoObject<'a> {
    /// Information object address.
    pub address: u32,
    /// The information element(s), without the address.
    pub element: &'a [u8],
}

/// Iterator over the information objects of an [`Asdu`]; stops at the first error.
#[derive(Debug, Clone)]
pub struct Objects<'a> {
    rest: &'a [u8],
    offset: usize,
    left: u8,
    sequence: bool,
    next_address: Option<u32>,
    type_id: u8,
    size: Option<u8>,
    ioa_size: usize,
}

impl<'a> Iterator for Objects<'a> {
    type Item = Result<InfoObject<'a>, AsduError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let address = match self.next_address {
            Some(address) if self.sequence => address,
            _ => {
                let Some(bytes) = self.rest.get(..self.ioa_size) else {
                    return Some(self.fail("information object address"));
                };
                let address = le(bytes);
                self.take(self.ioa_size);
                address
            }
        };
        self.next_address = Some(address.wrapping_add(1));
        let size = match self.size {
            Some(size) => usize::from(size),
            // F_SG_NA_1: name of file (2), name of section (1), length of segment (1), segment.
            None if self.type_id == F_SG_NA_1 => match self.rest.get(3) {
                Some(len) => 4 + usize::from(*len),
                None => return Some(self.fail("segment length")),
            },
            None => return Some(self.fail("information element")),
        };
        let Some(element) = self.rest.get(..size) else {
            return Some(self.fail("information element"));
        };
        self.take(size);
        Some(Ok(InfoObject { address, element }))
    }
}

impl<'a> Objects<'a> {
    fn take(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
        self.offset += n;
    }

    fn fail(&mut self, field: &'static str) -> Result<InfoObject<'a>, AsduError> {
        self.left = 0;
        Err(AsduError::Truncated {
            field,
            offset: self.offset,
        })
    }
}

/// A little-endian unsigned number of up to four bytes.
fn le(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .rev()
        .fold(0, |acc, b| (acc << 8) | u32::from(*b))
}

fn i16_at(bytes: &[u8], at: usize) -> Option<i16> {
    match bytes.get(at..at + 2)? {
        [a, b] => Some(i16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

fn f32_at(bytes: &[u8], at: usize) -> Option<f32> {
    match bytes.get(at..at + 4)? {
        [a, b, c, d] => Some(f32::from_le_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 4)? {
        [a, b, c, d] => Some(u32::from_le_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// The select/execute bit and the qualifier of a command (bits 2–6 of SCO/DCO/RCO).
fn write_qualifier(out: &mut impl Write, byte: u8) -> std::fmt::Result {
    match (byte >> 2) & 0x1f {
        0 => {}
        1 => out.write_str(", short pulse")?,
        2 => out.write_str(", long pulse")?,
        3 => out.write_str(", persistent")?,
        q => write!(out, ", qualifier {q}")?,
    }
    out.write_str(if byte & 0x80 != 0 {
        ", select"
    } else {
        ", execute"
    })
}

/// The set-point qualifier QOS: select/execute (bit 7).
fn write_qos(out: &mut impl Write, byte: u8) -> std::fmt::Result {
    let ql = byte & 0x7f;
    if ql != 0 {
        write!(out, ", qualifier {ql}")?;
    }
    out.write_str(if byte & 0x80 != 0 {
        ", select"
    } else {
        ", execute"
    })
}

/// Writes what one object of a command, interrogation, reset or parameter ASDU asks for,
/// after the type name: `C_SC_NA_1 on, select`, `group station`, `P_ME_NC_1 value 1.5,
/// threshold`. Time tags and test counters are left out (they change every time). Monitoring
/// values are never described.
pub fn describe(out: &mut impl Write, type_id: u8, element: &[u8]) -> std::fmt::Result {
    let name = type_info(type_id).map_or("type", |t| t.name);
    let first = element.first().copied().unwrap_or(0);
    match type_id {
        45 | 58 => {
            let state = if first & 1 != 0 { "on" } else { "off" };
            write!(out, "{name} {state}")?;
            write_qualifier(out, first)
        }
        46 | 59 => {
            let state = match first & 3 {
                1 => "off",
                2 => "on",
                _ => "not permitted",
            };
            write!(out, "{name} {state}")?;
            write_qualifier(out, first)
        }
        47 | 60 => {
            let state = match first & 3 {
                1 => "lower",
                2 => "higher",
                _ => "not permitted",
            };
            write!(out, "{name} {state}")?;
            write_qualifier(out, first)
        }
        48 | 61 => {
            let raw = i16_at(element, 0).unwrap_or(0);
            write!(out, "{name} value {}", f64::from(raw) / 32768.0)?;
            write_qos(out, element.get(2).copied().unwrap_or(0))
        }
        49 | 62 => {
            write!(out, "{name} value {}", i16_at(element, 0).unwrap_or(0))?;
            write_qos(out, element.get(2).copied().unwrap_or(0))
        }
        50 | 63 => {
            write!(out, "{name} value {}", f32_at(element, 0).unwrap_or(0.0))?;
            write_qos(out, element.get(4).copied().unwrap_or(0))
        }
        51 | 64 => write!(out, "{name} bits 0x{:08x}", u32_at(element, 0).unwrap_or(0)),
        100 => match first {
            20 => out.write_str("group station"),
            21..=36 => write!(out, "group {}", first - 20),
            q => write!(out, "qualifier {q}"),
        },
        101 => {
            match first & 0x3f {
                5 => out.write_str("counters general")?,
                g @ 1..=4 => write!(out, "counters group {g}")?,
                q => write!(out, "counters qualifier {q}")?,
            }
            out.write_str(match first >> 6 {
                0 => ", read",
                1 => ", freeze",
                2 => ", freeze and reset",
                _ => ", reset",
            })
        }
        105 => match first {
            1 => out.write_str("general reset"),
            2 => out.write_str("reset time-tagged events"),
            q => write!(out, "qualifier {q}"),
        },
        110..=112 => {
            match type_id {
                110 => write!(
                    out,
                    "{name} value {}",
                    f64::from(i16_at(element, 0).unwrap_or(0)) / 32768.0
                )?,
                111 => write!(out, "{name} value {}", i16_at(element, 0).unwrap_or(0))?,
                _ => write!(out, "{name} value {}", f32_at(element, 0).unwrap_or(0.0))?,
            }
            let qpm = element.last().copied().unwrap_or(0);
            out.write_str(match qpm & 0x3f {
                1 => ", threshold",
                2 => ", smoothing",
                3 => ", low limit",
                4 => ", high limit",
                _ => ", parameter",
            })
        }
        113 => {
            write!(out, "{name} ")?;
            out.write_str(match first {
                1 => "general",
                2 => "object parameter",
                3 => "object transmission",
                _ => "qualifier",
            })?;
            if first > 3 {
                write!(out, " {first}")?;
            }
            Ok(())
        }
        _ => out.write_str(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueBuf;

    #[test]
    fn table_is_sorted_and_named() {
        assert!(TYPES.windows(2).all(|w| w[0].id < w[1].id));
        for t in TYPES {
            assert_eq!(t.name.to_ascii_lowercase(), t.operation);
        }
        assert_eq!(type_info(45).unwrap().name, "C_SC_NA_1");
        assert!(type_info(22).is_none());
    }

    #[test]
    fn single_command_with_104_sizes() {
        // C_SC_NA_1, 1 object, act, OA 0, CA 1, IOA 4001, SCO on+select.
        let bytes = [45, 1, 6, 0, 1, 0, 0xa1, 0x0f, 0, 0x81];
        let asdu = Asdu::parse(&bytes, IEC104).unwrap();
        assert_eq!(
            (asdu.type_id, asdu.cause, asdu.common_address),
            (45, COT_ACT, 1)
        );
        assert!(asdu.fits_exactly());
        let object = asdu.objects().next().unwrap().unwrap();
        assert_eq!(object.address, 4001);
        let mut text = ValueBuf::<64>::new();
        describe(&mut text, 45, object.element).unwrap();
        assert_eq!(text.as_str(), "C_SC_NA_1 on, select");
    }

    #[test]
    fn sequence_of_elements_and_truncation() {
        // M_ME_NB_1, SQ, 3 elements from IOA 100.
        let mut bytes = vec![11, 0x83, 20, 0, 7, 0, 100, 0, 0];
        bytes.extend_from_slice(&[1, 0, 0, 2, 0, 0, 3, 0, 0]);
        let asdu = Asdu::parse(&bytes, IEC104).unwrap();
        let addresses: Vec<u32> = asdu.objects().map(|o| o.unwrap().address).collect();
        assert_eq!(addresses, [100, 101, 102]);
        assert!(asdu.fits_exactly());
        let cut = Asdu::parse(&bytes[..bytes.len() - 1], IEC104).unwrap();
        assert!(!cut.fits_exactly());
        assert!(cut.objects().any(|o| o.is_err()));
        assert!(Asdu::parse(&bytes[..5], IEC104).is_err());
        assert_eq!(
            Asdu::parse(&[1, 0, 3, 0, 1, 0], IEC104),
            Err(AsduError::NoObjects)
        );
    }

    #[test]
    fn setpoints_and_interrogations_are_described() {
        let mut text = ValueBuf::<64>::new();
        describe(&mut text, 50, &[0, 0, 0x48, 0x41, 0]).unwrap();
        assert_eq!(text.as_str(), "C_SE_NC_1 value 12.5, execute");
        text.clear();
        describe(&mut text, 100, &[20]).unwrap();
        assert_eq!(text.as_str(), "group station");
        text.clear();
        describe(&mut text, 46, &[0x86]).unwrap();
        assert_eq!(text.as_str(), "C_DC_NA_1 on, short pulse, select");
        text.clear();
        describe(&mut text, 101, &[0x45]).unwrap();
        assert_eq!(text.as_str(), "counters general, freeze");
    }

    #[test]
    fn file_segments_have_their_own_length() {
        // F_SG_NA_1 with 101 sizes (COT 1, CA 1, IOA 2): NOF 1, NOS 1, LOS 3.
        let bytes = [125, 1, 13, 5, 0, 0, 1, 0, 1, 3, 0xaa, 0xbb, 0xcc];
        let params = AsduParams {
            cot_size: 1,
            ca_size: 1,
            ioa_size: 2,
        };
        let asdu = Asdu::parse(&bytes, params).unwrap();
        assert!(asdu.fits_exactly());
        assert_eq!(asdu.objects().next().unwrap().unwrap().element.len(), 7);
    }
}
