//! Schneider Electric UMAS, carried in Modbus function 90 (0x5A) by Modicon M340, M580 and
//! Quantum controllers and by the Unity Pro / EcoStruxure Control Expert engineering software.
//!
//! A UMAS request's Modbus data is `[pairing key][UMAS function][data]`; a response's is
//! `[pairing key][0xFE ok | 0xFD error][data]`. This module names the UMAS functions, sorts
//! them into event categories, reads the controller's CPU module name from a Read ID answer,
//! and hashes program transfers block by block without buffering them.
//!
//! Direction naming follows the engineering station's point of view, as the issue does:
//! *download* (0x30–0x32) sends a program to the controller, *upload* (0x33–0x35) reads it
//! back. (Wireshark's UMAS dissector names these the other way round; the traffic itself — the
//! 0x34 answers carrying the project from the controller — agrees with the naming used here.)

use ironward_model::EventCategory;
use sha2::{Digest, Sha256};

/// Modbus function code that carries UMAS.
pub const FUNCTION: u8 = 0x5a;
/// UMAS response status: success.
pub const STATUS_OK: u8 = 0xfe;
/// UMAS response status: error.
pub const STATUS_ERROR: u8 = 0xfd;

/// Initialize a UMAS communication.
pub const INIT_COMM: u8 = 0x01;
/// Read the controller's identity.
pub const READ_ID: u8 = 0x02;
/// Take the controller's reservation (exclusive engineering session).
pub const TAKE_PLC_RESERVATION: u8 = 0x10;
/// Initialize a program download (station → controller).
pub const INITIALIZE_DOWNLOAD: u8 = 0x30;
/// One block of a program download.
pub const DOWNLOAD_BLOCK: u8 = 0x31;
/// End of a program download.
pub const END_DOWNLOAD: u8 = 0x32;
/// Initialize a program upload (controller → station).
pub const INITIALIZE_UPLOAD: u8 = 0x33;
/// One block of a program upload.
pub const UPLOAD_BLOCK: u8 = 0x34;
/// End of a program upload.
pub const END_UPLOAD: u8 = 0x35;
/// Start the controller (RUN).
pub const START_PLC: u8 = 0x40;
/// Stop the controller (STOP).
pub const STOP_PLC: u8 = 0x41;

/// Where the CPU module's name (length byte, then text) sits in a Read ID answer's data (after
/// the status byte): after the range, identifier, version and crash-code fields.
const READ_ID_MODEL_AT: usize = 22;

/// The UMAS header of a function-90 PDU's data (after the Modbus function code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Umas<'a> {
    /// Pairing key of the reservation (0 outside a reservation).
    pub pairing: u8,
    /// UMAS function (requests) or status 0xFE / 0xFD (responses).
    pub code: u8,
    /// What follows.
    pub data: &'a [u8],
}

impl<'a> Umas<'a> {
    /// Splits a function-90 PDU's data; `None` when shorter than the two header bytes.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        match data {
            [pairing, code, rest @ ..] => Some(Self {
                pairing: *pairing,
                code: *code,
                data: rest,
            }),
            _ => None,
        }
    }
}

/// The snake_case operation name of a UMAS function.
pub fn function_name(function: u8) -> &'static str {
    match function {
        INIT_COMM => "umas_init_comm",
        READ_ID => "umas_read_id",
        0x03 => "umas_read_project_info",
        0x04 => "umas_read_plc_info",
        0x06 => "umas_read_card_info",
        0x0a => "umas_repeat",
        TAKE_PLC_RESERVATION => "umas_take_plc_reservation",
        0x11 => "umas_release_plc_reservation",
        0x12 => "umas_keep_alive",
        0x20 => "umas_read_memory_block",
        0x21 => "umas_write_memory_block",
        0x22 => "umas_read_variables",
        0x23 => "umas_write_variables",
        0x24 => "umas_read_coils_registers",
        0x25 => "umas_write_coils_registers",
        0x26 => "umas_data_dictionary",
        INITIALIZE_DOWNLOAD => "umas_initialize_download",
        DOWNLOAD_BLOCK => "umas_download_block",
        END_DOWNLOAD => "umas_end_download",
        INITIALIZE_UPLOAD => "umas_initialize_upload",
        UPLOAD_BLOCK => "umas_upload_block",
        END_UPLOAD => "umas_end_upload",
        0x36 => "umas_backup_restore",
        0x39 => "umas_read_eth_master_data",
        START_PLC => "umas_start_plc",
        STOP_PLC => "umas_stop_plc",
        0x50 => "umas_monitor_plc",
        0x58 => "umas_check_plc",
        0x70 => "umas_read_io_object",
        0x71 => "umas_write_io_object",
        0x73 => "umas_get_status_module",
        _ => "umas_function",
    }
}

/// The event category of a UMAS function: transfers are program download/upload, start and
/// stop change the mode, reservations and keep-alives are session housekeeping.
pub fn category(function: u8) -> EventCategory {
    match function {
        INITIALIZE_DOWNLOAD | DOWNLOAD_BLOCK | END_DOWNLOAD => EventCategory::ProgramDownload,
        INITIALIZE_UPLOAD | UPLOAD_BLOCK | END_UPLOAD => EventCategory::ProgramUpload,
        START_PLC | STOP_PLC => EventCategory::ModeChange,
        0x36 => EventCategory::ConfigurationChange,
        READ_ID | 0x03 | 0x04 | 0x06 | 0x39 | 0x58 | 0x73 => EventCategory::Diagnostics,
        0x20 | 0x22 | 0x24 | 0x26 | 0x50 | 0x70 => EventCategory::Read,
        0x21 | 0x23 | 0x25 | 0x71 => EventCategory::Write,
        _ => EventCategory::Other,
    }
}

/// A Read Memory Block request's block number, offset and byte count (all little-endian).
pub fn read_memory_block(data: &[u8]) -> Option<(u16, u16, u16)> {
    match data {
        [_range, b0, b1, o0, o1, _, _, n0, n1, ..] => Some((
            u16::from_le_bytes([*b0, *b1]),
            u16::from_le_bytes([*o0, *o1]),
            u16::from_le_bytes([*n0, *n1]),
        )),
        _ => None,
    }
}

/// The payload of a Download Block request: `[2 bytes][block number][length][payload]`, the
/// length little-endian; the payload is cut to what the PDU holds.
pub fn download_block_payload(data: &[u8]) -> Option<&[u8]> {
    let [_, _, _, _, l0, l1, payload @ ..] = data else {
        return None;
    };
    let len = usize::from(u16::from_le_bytes([*l0, *l1]));
    Some(payload.get(..len).unwrap_or(payload))
}

/// The payload of an Upload Block answer (data after the 0xFE status): `[last-block flag]
/// [reserved][length][payload]`, the length little-endian. Returns (last block, payload).
pub fn upload_block_payload(data: &[u8]) -> Option<(bool, &[u8])> {
    let [last, _, l0, l1, payload @ ..] = data else {
        return None;
    };
    let len = usize::from(u16::from_le_bytes([*l0, *l1]));
    Some((*last == 1, payload.get(..len).unwrap_or(payload)))
}

/// The CPU module's name in a Read ID answer (data after the 0xFE status), e.g.
/// `140 CPU 311 10` or `BMX P34 2000`, when it is there and printable.
pub fn read_id_model(data: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*data.get(READ_ID_MODEL_AT)?);
    let start = READ_ID_MODEL_AT + 1;
    let name = data.get(start..start + len)?;
    let name = match name.iter().position(|&b| b == 0) {
        Some(end) => &name[..end],
        None => name,
    };
    (name.len() >= 2 && name.iter().all(|b| b.is_ascii_graphic() || *b == b' ')).then_some(name)
}

/// A program transfer in progress: the SHA-256 of the blocks' payload so far, without keeping
/// the payload.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    hasher: Sha256,
    /// Blocks hashed.
    pub blocks: u32,
    /// Payload bytes hashed.
    pub bytes: u64,
}

impl Transfer {
    /// Starts afresh (an initialize-download or -upload).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Adds one block's payload.
    pub fn add(&mut self, payload: &[u8]) {
        self.hasher.update(payload);
        self.blocks = self.blocks.saturating_add(1);
        self.bytes = self.bytes.saturating_add(payload.len() as u64);
    }

    /// The hex SHA-256 of everything added, and a fresh start.
    pub fn finish(&mut self) -> [u8; 64] {
        let digest = std::mem::take(&mut self.hasher).finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 64];
        for (i, b) in digest.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        self.blocks = 0;
        self.bytes = 0;
        hex
    }
}
