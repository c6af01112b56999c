//! Names of S7comm codes: memory areas, transport sizes, return codes, error classes and codes,
//! block types, CPU modes and userdata functions, and the product names of common Siemens CPU
//! order numbers. Lookups are `match`es and static tables: nothing is allocated.

use ironward_model::EventCategory;

/// Short name of a memory area in an S7ANY address (`DB` and `DI` are followed by the block
/// number when the detail is written).
pub fn area(area: u8) -> Option<&'static str> {
    Some(match area {
        0x01 => "record",
        0x03 => "SI200",
        0x05 => "SF200",
        0x06 => "AI200",
        0x07 => "AQ200",
        0x1c => "C",
        0x1d => "T",
        0x1e => "IEC-C",
        0x1f => "IEC-T",
        0x80 => "P",
        0x81 => "I",
        0x82 => "Q",
        0x83 => "M",
        0x84 => "DB",
        0x85 => "DI",
        0x86 => "L",
        0x87 => "V",
        _ => return None,
    })
}

/// Name of an item's transport size (the type of the addressed elements).
pub fn transport_size(size: u8) -> Option<&'static str> {
    Some(match size {
        1 => "BIT",
        2 => "BYTE",
        3 => "CHAR",
        4 => "WORD",
        5 => "INT",
        6 => "DWORD",
        7 => "DINT",
        8 => "REAL",
        9 => "DATE",
        10 => "TOD",
        11 => "TIME",
        12 => "S5TIME",
        15 => "DATE_AND_TIME",
        28 => "COUNTER",
        29 => "TIMER",
        30 => "IEC_TIMER",
        31 => "IEC_COUNTER",
        32 => "HS_COUNTER",
        _ => return None,
    })
}

/// Name of an item address syntax other than S7ANY.
pub fn syntax(syntax: u8) -> Option<&'static str> {
    Some(match syntax {
        0x10 => "S7ANY",
        0x13 => "PBC-R_ID",
        0x15 => "ALARM_LOCKFREE",
        0x16 => "ALARM_IND",
        0x19 => "ALARM_ACK",
        0x1a => "ALARM_QUERYREQ",
        0x1c => "NOTIFY_IND",
        0x82 => "NCK",
        0x83 => "NCK_M",
        0x84 => "NCK_I",
        0xa2 => "DRIVEESANY",
        0xb0 => "DBREAD",
        0xb2 => "1200SYM",
        _ => return None,
    })
}

/// Name of a data item return code.
pub fn return_code(code: u8) -> &'static str {
    match code {
        0x00 => "reserved",
        0x01 => "hardware error",
        0x03 => "access to the object not allowed",
        0x05 => "invalid address",
        0x06 => "data type not supported",
        0x07 => "data type inconsistent",
        0x0a => "object does not exist",
        0xff => "success",
        _ => "unknown return code",
    }
}

/// Name of a header error class (ack and ack_data PDUs).
pub fn error_class(class: u8) -> &'static str {
    match class {
        0x00 => "no error",
        0x81 => "application relationship",
        0x82 => "object definition",
        0x83 => "no resources available",
        0x84 => "error on service processing",
        0x85 => "error on supplies",
        0x87 => "access error",
        _ => "unknown error class",
    }
}

/// Name of a 16-bit error code (header class and code together, or a userdata parameter
/// error code); the common ones only.
pub fn error_code(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0000 => "no error",
        0x0110 => "invalid block number",
        0x0111 => "invalid request length",
        0x0112 => "invalid parameter",
        0x0113 => "invalid block type",
        0x0114 => "block not found",
        0x0115 => "block already exists",
        0x0116 => "block is write-protected",
        0x0117 => "block too large",
        0x0119 => "incorrect password entered",
        0x011a => "PG resource error",
        0x011b => "PLC resource error",
        0x011c => "protocol error",
        0x011d => "too many blocks",
        0x0140 => "insufficient memory available",
        0x0141 => "lack of resources",
        0x8001 => "service not possible in the block's current status",
        0x8003 => "error while transferring the block",
        0x8100 => "service unknown to the remote module",
        0x8104 => "service not implemented on the module",
        0x8204 => "type specification of the object inconsistent",
        0x8301 => "insufficient memory on the module",
        0x8302 => "too few resources available",
        0x8304 => "no further parallel upload possible",
        0x8305 => "function not available",
        0x8401 => "invalid service sequence",
        0x8402 => "service not possible in the object's status",
        0x8404 => "function cannot be performed",
        0x8500 => "wrong frames",
        0x8503 => "service canceled prematurely",
        0x8701 => "error addressing the object",
        0x8702 => "service not supported by the module",
        0x8703 => "access to object refused",
        0x8704 => "object damaged",
        0xd001 => "illegal job number",
        0xd002 => "illegal job variant",
        0xd041 => "illegal status list id",
        0xd042 => "illegal tag address",
        0xd0a1 => "function not permitted in the current protection level",
        0xd081 => "function not permitted in the current mode",
        0xd0ad => "operating mode already set",
        0xd201 => "syntax error in block name",
        0xd202 => "syntax error in function parameters",
        0xd209 => "block not found on the module",
        0xd20e => "no (further) block available",
        0xd210 => "invalid block number",
        0xd240 => "coordination rules violated",
        0xd241 => "function not permitted in the current protection level",
        0xd242 => "protection violation while processing F blocks",
        0xd401 => "information function unavailable",
        0xd402 => "information function unavailable",
        0xd405 => "service not supported or syntax error in function parameters",
        0xd406 => "information currently unavailable",
        0xd602 => "incorrect password entered",
        0xd603 => "connection already legitimized",
        0xd604 => "connection already enabled",
        0xd605 => "password does not exist",
        0xd801 => "at least one tag address is invalid",
        0xd802 => "job does not exist",
        _ => return None,
    })
}

/// Name of a block type code (the two hex digits of a file name: `0A` is a DB).
pub fn block_type(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "OB",
        0x0a => "DB",
        0x0b => "SDB",
        0x0c => "FC",
        0x0d => "SFC",
        0x0e => "FB",
        0x0f => "SFB",
        _ => return None,
    })
}

/// The controller state a mode-transition push (userdata group 0) announces, by subfunction.
pub fn mode_transition(subfunction: u8) -> Option<&'static str> {
    Some(match subfunction {
        0 => "stop",
        1 => "startup (warm restart)",
        2 => "run",
        3 => "startup (hot restart)",
        4 => "hold",
        6 => "startup (cold restart)",
        9 => "run (redundant)",
        11 => "link-up",
        12 => "update",
        _ => return None,
    })
}

/// The controller state of an SZL 0x0424 mode (the low nibble of `bzu-id`, the mode the CPU
/// is in or going to), with the reason the list gives.
pub fn szl_mode(mode: u8) -> Option<&'static str> {
    Some(match mode {
        1 => "stop (update)",
        2 => "stop (memory reset)",
        3 => "stop (self initialization)",
        4 => "stop",
        5 => "startup (complete restart)",
        6 => "startup (cold restart)",
        7 => "startup (restart)",
        8 => "run",
        0x0a => "hold",
        0x0d => "fault (defect)",
        _ => return None,
    })
}

/// The operation and category of a userdata request, by function group and subfunction.
pub fn userdata_operation(group: u8, subfunction: u8) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match (group, subfunction) {
        (0, _) => ("mode_transition", ModeChange),
        (1, 1) => ("block_status", Diagnostics),
        (1, 2) => ("variable_status", Read),
        (1, 3) => ("output_istack", Diagnostics),
        (1, 4) => ("output_bstack", Diagnostics),
        (1, 5) => ("output_lstack", Diagnostics),
        (1, 6) => ("time_measurement", Diagnostics),
        (1, 7) => ("force_selection", Diagnostics),
        (1, 8) => ("modify_variable", Write),
        (1, 9) => ("force", Write),
        (1, 10) => ("breakpoint", Diagnostics),
        (1, 11) => ("exit_hold", ModeChange),
        (1, 12) => ("memory_reset", ModeChange),
        (1, 13) => ("disable_job", Diagnostics),
        (1, 14) => ("enable_job", Diagnostics),
        (1, 15) => ("delete_job", Diagnostics),
        (1, 16) => ("read_job_list", Diagnostics),
        (1, 17) => ("read_job", Diagnostics),
        (1, 18) => ("replace_job", Diagnostics),
        (1, 19) => ("block_status_v2", Diagnostics),
        (1, 22) => ("flash_led", Diagnostics),
        (1, _) => ("programmer_command", Diagnostics),
        (2, 1) => ("cyclic_transfer", Read),
        (2, 4) => ("unsubscribe", Read),
        (2, 5) => ("change_driven_transfer", Read),
        (2, 7) => ("change_driven_transfer_modify", Read),
        (2, 8) => ("rdrec", Read),
        (2, _) => ("cyclic_service", Read),
        (3, 1) => ("list_blocks", Diagnostics),
        (3, 2) => ("list_blocks_of_type", Diagnostics),
        (3, 3) => ("get_block_info", Diagnostics),
        (3, _) => ("block_function", Diagnostics),
        (4, 1) => ("read_szl", Diagnostics),
        (4, 2) => ("message_service", Diagnostics),
        (4, 3) => ("diagnostic_message", Diagnostics),
        (4, 5) => ("alarm_8_indication", Diagnostics),
        (4, 6) => ("notify_indication", Diagnostics),
        (4, 7) => ("alarm_8_lock", Diagnostics),
        (4, 8) => ("alarm_8_unlock", Diagnostics),
        (4, 9) => ("scan_indication", Diagnostics),
        (4, 11) => ("alarm_ack", Diagnostics),
        (4, 12) => ("alarm_ack_indication", Diagnostics),
        (4, 13) => ("alarm_lock_indication", Diagnostics),
        (4, 14) => ("alarm_unlock_indication", Diagnostics),
        (4, 17) => ("alarm_sq_indication", Diagnostics),
        (4, 18) => ("alarm_s_indication", Diagnostics),
        (4, 19) => ("alarm_query", Diagnostics),
        (4, 22) => ("notify_8_indication", Diagnostics),
        (4, _) => ("cpu_function", Diagnostics),
        (5, 1) => ("plc_password", Authentication),
        (5, 2) => ("clean_session", Authentication),
        (5, _) => ("security_function", Authentication),
        (6, _) => ("bsend", Write),
        (7, 1) => ("read_clock", TimeSync),
        (7, 2 | 4) => ("set_clock", TimeSync),
        (7, 3) => ("read_clock_following", TimeSync),
        (7, _) => ("time_function", TimeSync),
        (15, 1) => ("request_download", ProgramDownload),
        (15, 2) => ("download_block", ProgramDownload),
        (15, 3) => ("continue_download", ProgramDownload),
        (15, 4) => ("download_ended", ProgramDownload),
        (15, 6) => ("start_upload", ProgramUpload),
        (15, 7) => ("upload", ProgramUpload),
        (15, 8) => ("continue_upload", ProgramUpload),
        (15, _) => ("nc_programming", Other),
        _ => ("userdata", Other),
    }
}

/// Product names of common Siemens CPU order numbers (MLFB), by prefix: the name the CPU gives
/// itself in SZL 0x001C (module type name), so that both sources name the model alike. Longest
/// prefix first where prefixes nest.
const MLFB_MODELS: &[(&str, &str)] = &[
    ("6ES7 151-7", "IM151-7 CPU"),
    ("6ES7 151-8", "IM151-8 PN/DP CPU"),
    ("6ES7 312-1", "CPU 312"),
    ("6ES7 312-5", "CPU 312C"),
    ("6ES7 313-5", "CPU 313C"),
    ("6ES7 313-6B", "CPU 313C-2 PtP"),
    ("6ES7 313-6C", "CPU 313C-2 DP"),
    ("6ES7 314-1", "CPU 314"),
    ("6ES7 314-6B", "CPU 314C-2 PtP"),
    ("6ES7 314-6C", "CPU 314C-2 DP"),
    ("6ES7 314-6E", "CPU 314C-2 PN/DP"),
    ("6ES7 315-2A", "CPU 315-2 DP"),
    ("6ES7 315-2E", "CPU 315-2 PN/DP"),
    ("6ES7 317-2A", "CPU 317-2 DP"),
    ("6ES7 317-2E", "CPU 317-2 PN/DP"),
    ("6ES7 319-3", "CPU 319-3 PN/DP"),
    ("6ES7 412-1", "CPU 412-1"),
    ("6ES7 412-2", "CPU 412-2"),
    ("6ES7 414-2", "CPU 414-2"),
    ("6ES7 414-3", "CPU 414-3"),
    ("6ES7 416-2", "CPU 416-2"),
    ("6ES7 416-3", "CPU 416-3"),
    ("6ES7 417-4", "CPU 417-4"),
    ("6ES7 211-1", "CPU 1211C"),
    ("6ES7 212-1", "CPU 1212C"),
    ("6ES7 214-1", "CPU 1214C"),
    ("6ES7 215-1", "CPU 1215C"),
    ("6ES7 217-1", "CPU 1217C"),
    ("6ES7 510-1D", "CPU 1510SP-1 PN"),
    ("6ES7 511-1A", "CPU 1511-1 PN"),
    ("6ES7 511-1C", "CPU 1511C-1 PN"),
    ("6ES7 512-1C", "CPU 1512C-1 PN"),
    ("6ES7 512-1D", "CPU 1512SP-1 PN"),
    ("6ES7 513-1A", "CPU 1513-1 PN"),
    ("6ES7 515-2A", "CPU 1515-2 PN"),
    ("6ES7 516-3A", "CPU 1516-3 PN/DP"),
    ("6ES7 517-3A", "CPU 1517-3 PN/DP"),
    ("6ES7 518-4A", "CPU 1518-4 PN/DP"),
];

/// The product name of a Siemens order number, when it is a CPU this table knows.
pub fn mlfb_model(mlfb: &str) -> Option<&'static str> {
    MLFB_MODELS
        .iter()
        .filter(|(prefix, _)| mlfb.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_name_products() {
        assert_eq!(mlfb_model("6ES7 315-2EH14-0AB0"), Some("CPU 315-2 PN/DP"));
        assert_eq!(mlfb_model("6ES7 516-3AN01-0AB0"), Some("CPU 1516-3 PN/DP"));
        assert_eq!(mlfb_model("6ES7 151-8AB01-0AB0"), Some("IM151-8 PN/DP CPU"));
        assert_eq!(mlfb_model("6GK7 343-1EX30-0XE0"), None);
        assert_eq!(
            error_code(0xd241),
            Some("function not permitted in the current protection level")
        );
        assert_eq!(area(0x84), Some("DB"));
    }
}
