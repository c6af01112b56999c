//! IEC 61850 MMS (ISO 9506) — and ICCP / TASE.2, which is MMS — over ISO session,
//! presentation and ACSE on ISO-TSAP (port 102, handed over by [`crate::iso_tsap`]).
//!
//! Every transport data unit is read as a session SPDU (CONNECT, ACCEPT, FINISH, …, or GIVE
//! TOKENS + DATA TRANSFER), its presentation PPDU (CP / CPA with presentation contexts, or
//! fully-encoded user data) and the presentation data value inside, which is an ACSE APDU
//! (`[APPLICATION 0..4]`) or an MMS PDU (context-specific). The value's kind is read from its
//! tag rather than from the presentation context id, so associations whose start was not
//! captured still decode. A few stacks send MMS straight over COTP; a TSDU that starts with an
//! MMS PDU tag is read as MMS.
//!
//! Facts (about the sender): identify response → Vendor, Model, Firmware; status response and
//! unsolicited status → State (physical status: `operational`, …); GetNameList response for
//! the domain class → Description `ld: <logical device>` (at most [`MAX_LD_FACTS`] per
//! association); ACSE AP titles and AE qualifiers → ProtocolAddress `mms:ap:<oid>:ae:<n>`
//! (hearsay for the called one); initiate response → Service `mms`; TASE.2 object names
//! (`Bilateral_Table_ID`, `TASE2_Version`, `Supported_Features`) → Service `iccp` on the server,
//! and every later event detail starts with `iccp`.
//!
//! Events (src = requester): one per confirmed request, named after the service
//! (`read`, `write`, `get_name_list`, `identify`, `file_open`, `stop`, …, see [`SERVICES`]) with
//! the variable / domain / file / program names (at most [`MAX_NAMES`]) and, for writes, the
//! value types and the first scalar values; `write` of an IEC 61850 control object (`$CO$`) is
//! a control command. Confirmed errors (`confirmed_error`, the failed service's category),
//! access failures in read and write responses (`data_access_error`), rejects, cancels,
//! initiate (version, parameter CBB, services supported), conclude, ACSE associate / release /
//! abort / authentication (the mechanism, never the value), information reports aggregated by
//! variable-list name (no values), a whole file read (fileOpen … fileRead until no more
//! follows) as `file_upload` with the SHA-256 of its content.
//!
//! Bounds: BER nesting [`MAX_MMS_DEPTH`] (ISO layers [`iso::MAX_ISO_DEPTH`]), every list walk
//! [`MAX_LIST_ITEMS`], outstanding requests remembered [`MAX_PENDING`], file transfers
//! followed [`MAX_FILE_TRANSFERS`]; names are cut at [`MAX_NAME_LEN`] bytes.

pub mod iso;

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};
use sha2::{Digest, Sha256};

use crate::ber::{self, BerError, Element, Reader};
use crate::iso_tsap::TsduHandler;
use crate::value::ValueBuf;
use crate::{Direction, FlowMeta, Observations};

/// Deepest BER nesting read in an MMS PDU (a read request's domain-specific name sits six
/// levels down; write data deeper, but only its top level is looked at).
pub const MAX_MMS_DEPTH: usize = 16;
/// Outstanding confirmed requests remembered per association (to interpret responses).
pub const MAX_PENDING: usize = 16;
/// Names listed in one event detail (the rest are counted).
pub const MAX_NAMES: usize = 4;
/// Longest name kept, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Most elements walked in one list (variables, data, identifiers, access results).
pub const MAX_LIST_ITEMS: usize = 256;
/// Most logical-device facts per association.
pub const MAX_LD_FACTS: usize = 8;
/// File transfers followed at once per association.
pub const MAX_FILE_TRANSFERS: usize = 2;

/// What was wrong with an MMS TSDU, and where (offset in the TSDU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmsError {
    /// A BER element was malformed.
    Ber(BerError),
    /// A field runs past the end of the data.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
    /// A field holds a value this reader does not accept.
    Unexpected {
        /// The field being read.
        field: &'static str,
        /// The value found.
        value: u32,
        /// Offset of the field.
        offset: usize,
    },
}

impl fmt::Display for MmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ber(e) => write!(f, "MMS: {e}"),
            Self::Truncated { field, offset } => write!(f, "MMS {field} truncated at {offset}"),
            Self::Unexpected {
                field,
                value,
                offset,
            } => write!(f, "MMS {field}: unexpected {value:#x} at {offset}"),
        }
    }
}

impl std::error::Error for MmsError {}

/// Confirmed services by their ISO 9506 choice number: operation name and category.
pub const SERVICES: [(&str, EventCategory); 78] = {
    use EventCategory::*;
    [
        ("status", Diagnostics),
        ("get_name_list", Diagnostics),
        ("identify", Diagnostics),
        ("rename", ConfigurationChange),
        ("read", Read),
        ("write", Write),
        ("get_variable_access_attributes", Diagnostics),
        ("define_named_variable", ConfigurationChange),
        ("define_scattered_access", ConfigurationChange),
        ("get_scattered_access_attributes", Diagnostics),
        ("delete_variable_access", ConfigurationChange),
        ("define_named_variable_list", ConfigurationChange),
        ("get_named_variable_list_attributes", Diagnostics),
        ("delete_named_variable_list", ConfigurationChange),
        ("define_named_type", ConfigurationChange),
        ("get_named_type_attributes", Diagnostics),
        ("delete_named_type", ConfigurationChange),
        ("input", Read),
        ("output", Write),
        ("take_control", Other),
        ("relinquish_control", Other),
        ("define_semaphore", ConfigurationChange),
        ("delete_semaphore", ConfigurationChange),
        ("report_semaphore_status", Diagnostics),
        ("report_pool_semaphore_status", Diagnostics),
        ("report_semaphore_entry_status", Diagnostics),
        ("initiate_download_sequence", ProgramDownload),
        ("download_segment", ProgramDownload),
        ("terminate_download_sequence", ProgramDownload),
        ("initiate_upload_sequence", ProgramUpload),
        ("upload_segment", ProgramUpload),
        ("terminate_upload_sequence", ProgramUpload),
        ("request_domain_download", ProgramDownload),
        ("request_domain_upload", ProgramUpload),
        ("load_domain_content", ProgramDownload),
        ("store_domain_content", ProgramUpload),
        ("delete_domain", ConfigurationChange),
        ("get_domain_attributes", Diagnostics),
        ("create_program_invocation", ConfigurationChange),
        ("delete_program_invocation", ConfigurationChange),
        ("start", ModeChange),
        ("stop", ModeChange),
        ("resume", ModeChange),
        ("reset", ModeChange),
        ("kill", ModeChange),
        ("get_program_invocation_attributes", Diagnostics),
        ("obtain_file", ProgramDownload),
        ("define_event_condition", ConfigurationChange),
        ("delete_event_condition", ConfigurationChange),
        ("get_event_condition_attributes", Diagnostics),
        ("report_event_condition_status", Diagnostics),
        ("alter_event_condition_monitoring", ConfigurationChange),
        ("trigger_event", ControlCommand),
        ("define_event_action", ConfigurationChange),
        ("delete_event_action", ConfigurationChange),
        ("get_event_action_attributes", Diagnostics),
        ("report_event_action_status", Diagnostics),
        ("define_event_enrollment", ConfigurationChange),
        ("delete_event_enrollment", ConfigurationChange),
        ("alter_event_enrollment", ConfigurationChange),
        ("report_event_enrollment_status", Diagnostics),
        ("get_event_enrollment_attributes", Diagnostics),
        ("acknowledge_event_notification", Other),
        ("get_alarm_summary", Read),
        ("get_alarm_enrollment_summary", Read),
        ("read_journal", Read),
        ("write_journal", Write),
        ("initialize_journal", ConfigurationChange),
        ("report_journal_status", Diagnostics),
        ("create_journal", ConfigurationChange),
        ("delete_journal", ConfigurationChange),
        ("get_capability_list", Diagnostics),
        ("file_open", ProgramUpload),
        ("file_read", ProgramUpload),
        ("file_close", ProgramUpload),
        ("file_rename", ConfigurationChange),
        ("file_delete", ConfigurationChange),
        ("file_directory", Diagnostics),
    ]
};

/// The operation name and category of confirmed service `number`.
pub fn service(number: u32) -> (&'static str, EventCategory) {
    usize::try_from(number)
        .ok()
        .and_then(|n| SERVICES.get(n).copied())
        .unwrap_or(("unknown_service", EventCategory::Other))
}

/// GetNameList object classes (basic object class numbers).
const OBJECT_CLASSES: [&str; 14] = [
    "named_variable",
    "scattered_access",
    "named_variable_list",
    "named_type",
    "semaphore",
    "event_condition",
    "event_action",
    "event_enrollment",
    "journal",
    "domain",
    "program_invocation",
    "operator_station",
    "data_exchange",
    "access_control_list",
];

/// Service error classes.
const ERROR_CLASSES: [&str; 13] = [
    "vmd_state",
    "application_reference",
    "definition",
    "resource",
    "service",
    "service_preempt",
    "time_resolution",
    "access",
    "initiate",
    "conclude",
    "cancel",
    "file",
    "others",
];

/// Data types by their `Data` choice number.
const DATA_TYPES: [&str; 18] = [
    "0",
    "array",
    "structure",
    "boolean",
    "bit_string",
    "integer",
    "unsigned",
    "float",
    "8",
    "octet_string",
    "visible_string",
    "generalized_time",
    "binary_time",
    "bcd",
    "boolean_array",
    "objid",
    "mms_string",
    "utc_time",
];

/// VMD physical status (status response / unsolicited status).
const PHYSICAL_STATUS: [&str; 4] = [
    "operational",
    "partially-operational",
    "inoperable",
    "needs-commissioning",
];

/// Object names that only TASE.2 (ICCP) servers publish.
const TASE2_NAMES: [&[u8]; 3] = [
    b"Bilateral_Table_ID",
    b"TASE2_Version",
    b"Supported_Features",
];

/// An initiate request or response's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Initiate<'a> {
    /// Proposed / negotiated version number.
    pub version: Option<i64>,
    /// Parameter CBB bits (after the unused-bits octet).
    pub cbb: &'a [u8],
    /// Services supported bits (after the unused-bits octet).
    pub services: &'a [u8],
}

/// An MMS PDU, with the service bodies left as BER elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// confirmed-RequestPDU.
    ConfirmedRequest {
        /// The invoke id.
        invoke_id: u64,
        /// The service element (its tag number is the service).
        service: Element<'a>,
    },
    /// confirmed-ResponsePDU.
    ConfirmedResponse {
        /// The invoke id.
        invoke_id: u64,
        /// The service element, when present.
        service: Option<Element<'a>>,
    },
    /// confirmed-ErrorPDU.
    ConfirmedError {
        /// The invoke id.
        invoke_id: Option<u64>,
        /// Error class and code.
        error: Option<(u32, i64)>,
    },
    /// unconfirmed-PDU.
    Unconfirmed {
        /// The service element (0 informationReport, 1 unsolicitedStatus, 2 eventNotification).
        service: Element<'a>,
    },
    /// rejectPDU.
    Reject {
        /// The rejected PDU's invoke id.
        invoke_id: Option<u64>,
        /// Reject type (which PDU) and reason code.
        reason: Option<(u32, i64)>,
    },
    /// cancel-RequestPDU.
    CancelRequest,
    /// cancel-ResponsePDU or cancel-ErrorPDU.
    CancelResponse,
    /// initiate-RequestPDU.
    InitiateRequest(Initiate<'a>),
    /// initiate-ResponsePDU.
    InitiateResponse(Initiate<'a>),
    /// initiate-ErrorPDU.
    InitiateError,
    /// conclude-RequestPDU.
    ConcludeRequest,
    /// conclude-ResponsePDU.
    ConcludeResponse,
    /// conclude-ErrorPDU.
    ConcludeError,
}

fn unsigned_of(element: &Element<'_>, field: &'static str) -> Result<u64, MmsError> {
    element
        .unsigned()
        .ok_or(MmsError::Ber(BerError::BadInteger {
            field,
            offset: element.offset,
        }))
}

/// A bit string's bits (without the unused-bits octet).
fn bits<'a>(element: &Element<'a>) -> &'a [u8] {
    element.value.get(1..).unwrap_or_default()
}

fn initiate<'a>(pdu: &Element<'a>) -> Result<Initiate<'a>, MmsError> {
    let mut result = Initiate::default();
    let mut fields = pdu.contents("initiate PDU")?;
    let mut items = 0;
    while !fields.is_empty() && items < MAX_LIST_ITEMS {
        items += 1;
        let field = fields.read("initiate field")?;
        if field.is_context(4) && field.is_constructed() {
            let mut detail = field.contents("init detail")?;
            while !detail.is_empty() {
                let d = detail.read("init detail field")?;
                match d.number {
                    0 => result.version = Some(d.integer("version")?),
                    1 => result.cbb = bits(&d),
                    2 => result.services = bits(&d),
                    _ => {}
                }
            }
        }
    }
    Ok(result)
}

/// The first context-specific choice inside `element` with an INTEGER value: (choice, value).
fn choice_code(element: &Element<'_>, field: &'static str) -> Result<Option<(u32, i64)>, MmsError> {
    let mut inner = element.contents(field)?;
    if inner.is_empty() {
        return Ok(None);
    }
    let choice = inner.read(field)?;
    Ok(Some((choice.number, choice.integer(field)?)))
}

/// Whether a TSDU starts with an MMS PDU tag (MMS straight over COTP).
pub fn starts_with_mms(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(0xa0..=0xad | 0x85 | 0x86 | 0x8b | 0x8c))
}

/// Parses one MMS PDU; `base` is its offset in the TSDU.
pub fn parse_pdu(bytes: &[u8], base: usize) -> Result<Pdu<'_>, MmsError> {
    let mut reader = Reader::extended(bytes, base, MAX_MMS_DEPTH);
    let pdu = reader.read("MMS PDU")?;
    if pdu.class() != ber::CONTEXT {
        return Err(MmsError::Unexpected {
            field: "MMS PDU tag",
            value: u32::from(pdu.tag),
            offset: pdu.offset,
        });
    }
    let constructed = pdu.is_constructed();
    Ok(match (pdu.number, constructed) {
        (0, true) | (1, true) => {
            let mut fields = pdu.contents("confirmed PDU")?;
            let id = fields.expect(ber::INTEGER, "invokeID")?;
            let invoke_id = unsigned_of(&id, "invokeID")?;
            let mut service = if fields.is_empty() {
                None
            } else {
                Some(fields.read("service")?)
            };
            // listOfModifier (a SEQUENCE) comes before the service of a request.
            if service.is_some_and(|s| s.tag == ber::SEQUENCE) && !fields.is_empty() {
                service = Some(fields.read("service")?);
            }
            if pdu.number == 0 {
                let service =
                    service
                        .filter(|s| s.class() == ber::CONTEXT)
                        .ok_or(MmsError::Truncated {
                            field: "confirmed service",
                            offset: pdu.offset,
                        })?;
                Pdu::ConfirmedRequest { invoke_id, service }
            } else {
                Pdu::ConfirmedResponse {
                    invoke_id,
                    service: service.filter(|s| s.class() == ber::CONTEXT),
                }
            }
        }
        (2, true) => {
            let mut fields = pdu.contents("confirmed-ErrorPDU")?;
            let mut invoke_id = None;
            let mut error = None;
            while !fields.is_empty() {
                let f = fields.read("confirmed-ErrorPDU field")?;
                match f.number {
                    0 => invoke_id = Some(unsigned_of(&f, "invokeID")?),
                    2 if f.is_constructed() => {
                        let mut se = f.contents("serviceError")?;
                        let class = se.read("errorClass")?;
                        if class.is_context(0) {
                            error = choice_code(&class, "errorClass")?;
                        }
                    }
                    _ => {}
                }
            }
            Pdu::ConfirmedError { invoke_id, error }
        }
        (3, true) => {
            let mut fields = pdu.contents("unconfirmed-PDU")?;
            Pdu::Unconfirmed {
                service: fields.read("unconfirmed service")?,
            }
        }
        (4, true) => {
            let mut fields = pdu.contents("rejectPDU")?;
            let mut invoke_id = None;
            let mut reason = None;
            while !fields.is_empty() {
                let f = fields.read("rejectPDU field")?;
                if f.number == 0 {
                    invoke_id = Some(unsigned_of(&f, "originalInvokeID")?);
                } else {
                    reason = Some((f.number, f.integer("rejectReason")?));
                }
            }
            Pdu::Reject { invoke_id, reason }
        }
        (5, false) => Pdu::CancelRequest,
        (6, false) | (7, true) => Pdu::CancelResponse,
        (8, true) => Pdu::InitiateRequest(initiate(&pdu)?),
        (9, true) => Pdu::InitiateResponse(initiate(&pdu)?),
        (10, true) => Pdu::InitiateError,
        (11, false) => Pdu::ConcludeRequest,
        (12, false) => Pdu::ConcludeResponse,
        (13, true) => Pdu::ConcludeError,
        (number, _) => {
            return Err(MmsError::Unexpected {
                field: "MMS PDU choice",
                value: number,
                offset: pdu.offset,
            })
        }
    })
}

/// An event detail built on the stack.
type Detail = ValueBuf<256>;

/// Names seen while describing a PDU: whether one was a TASE.2 name, and whether one was an
/// IEC 61850 control object.
#[derive(Default)]
struct Seen {
    tase2: bool,
    control: bool,
}

fn push_name(buf: &mut Detail, name: &[u8], seen: &mut Seen) {
    let cut = name.get(..MAX_NAME_LEN).unwrap_or(name);
    for &b in cut {
        let c = if b.is_ascii_graphic() { b } else { b'?' };
        buf.push_bytes(&[c]);
    }
    if TASE2_NAMES
        .iter()
        .any(|t| name.windows(t.len()).any(|w| w == *t))
    {
        seen.tase2 = true;
    }
    if name.windows(4).any(|w| w == b"$CO$") {
        seen.control = true;
    }
}

/// Writes an ObjectName (vmd-specific, domain-specific `domain/item`, aa-specific `@name`).
fn push_object_name(buf: &mut Detail, name: &Element<'_>, seen: &mut Seen) -> Result<(), MmsError> {
    match (name.number, name.is_constructed()) {
        (0, false) => push_name(buf, name.value, seen),
        (1, true) => {
            let mut parts = name.contents("domain-specific")?;
            let domain = parts.read("domainId")?;
            let item = parts.read("itemId")?;
            push_name(buf, domain.value, seen);
            buf.push_bytes(b"/");
            push_name(buf, item.value, seen);
        }
        (2, false) => {
            buf.push_bytes(b"@");
            push_name(buf, name.value, seen);
        }
        _ => buf.push_bytes(b"?"),
    }
    Ok(())
}

/// Writes a list of up to [`MAX_NAMES`] names and counts the rest.
struct NameList {
    count: usize,
}

impl NameList {
    fn start(buf: &mut Detail, label: &str) -> Self {
        if !buf.is_empty() {
            buf.push_bytes(b", ");
        }
        buf.push_bytes(label.as_bytes());
        Self { count: 0 }
    }

    /// Whether the next name is to be written (after the separator).
    fn next(&mut self, buf: &mut Detail) -> bool {
        self.count += 1;
        if self.count > MAX_NAMES {
            return false;
        }
        buf.push_bytes(if self.count == 1 { b" " } else { b"; " });
        true
    }

    fn finish(self, buf: &mut Detail) {
        if self.count > MAX_NAMES {
            let _ = write!(buf, " +{} more", self.count - MAX_NAMES);
        }
    }
}

/// Writes a VariableAccessSpecification: `vars a/b c/d` or `list name`.
fn push_variable_access(
    buf: &mut Detail,
    spec: &Element<'_>,
    seen: &mut Seen,
) -> Result<(), MmsError> {
    if spec.is_context(1) {
        let mut inner = spec.contents("variableListName")?;
        let name = inner.read("variableListName")?;
        let list = NameList::start(buf, "list");
        buf.push_bytes(b" ");
        push_object_name(buf, &name, seen)?;
        list.finish(buf);
        return Ok(());
    }
    let mut items = spec.contents("listOfVariable")?;
    let mut list = NameList::start(buf, "vars");
    let mut walked = 0;
    while !items.is_empty() && walked < MAX_LIST_ITEMS {
        walked += 1;
        let mut item = items.enter(ber::SEQUENCE, "listOfVariable item")?;
        let spec = item.read("variableSpecification")?;
        if !list.next(buf) {
            // Still scan for TASE.2 names without writing.
            continue;
        }
        if spec.is_context(0) {
            let mut inner = spec.contents("name")?;
            let name = inner.read("ObjectName")?;
            push_object_name(buf, &name, seen)?;
        } else {
            buf.push_bytes(b"(address)");
        }
    }
    list.finish(buf);
    Ok(())
}

/// Writes a FileName (a sequence of GraphicStrings, joined).
fn push_file_name(buf: &mut Detail, name: &Element<'_>, seen: &mut Seen) -> Result<(), MmsError> {
    let mut parts = name.contents("FileName")?;
    let mut n = 0;
    while !parts.is_empty() && n < MAX_NAMES {
        let part = parts.read("FileName part")?;
        push_name(buf, part.value, seen);
        n += 1;
    }
    Ok(())
}

/// Writes the first name a service body holds: an Identifier, an ObjectName or a
/// `[0] Identifier` field (program invocations, domains), looked for at most two levels down.
fn push_first_name(buf: &mut Detail, body: &Element<'_>, seen: &mut Seen) -> Result<(), MmsError> {
    let printable = |e: &Element<'_>| {
        !e.is_constructed() && !e.value.is_empty() && e.value.iter().all(|b| b.is_ascii_graphic())
    };
    if printable(body) {
        buf.push_bytes(b" ");
        push_name(buf, body.value, seen);
        return Ok(());
    }
    if !body.is_constructed() {
        return Ok(());
    }
    let mut children = body.contents("service body")?;
    let mut walked = 0;
    while !children.is_empty() && walked < MAX_NAMES {
        walked += 1;
        let child = children.read("service field")?;
        if printable(&child) {
            buf.push_bytes(b" ");
            push_name(buf, child.value, seen);
            return Ok(());
        }
        if child.is_context(1) && child.is_constructed() {
            // A domain-specific ObjectName, when its two parts are VisibleStrings.
            let mut parts = child.contents("ObjectName")?;
            if let (Ok(d), Ok(i)) = (parts.read("domainId"), parts.read("itemId")) {
                if d.tag == ber::VISIBLE_STRING && i.tag == ber::VISIBLE_STRING {
                    buf.push_bytes(b" ");
                    push_name(buf, d.value, seen);
                    buf.push_bytes(b"/");
                    push_name(buf, i.value, seen);
                    return Ok(());
                }
            }
        }
        if child.is_constructed() {
            let mut grand = child.contents("service field")?;
            if let Ok(g) = grand.read("service field") {
                if printable(&g) {
                    buf.push_bytes(b" ");
                    push_name(buf, g.value, seen);
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Writes the types (and first scalar values) of a write's listOfData.
fn push_data_list(buf: &mut Detail, data: &Element<'_>) -> Result<(), MmsError> {
    let mut items = data.contents("listOfData")?;
    let mut list = NameList::start(buf, "values");
    let mut walked = 0;
    while !items.is_empty() && walked < MAX_LIST_ITEMS {
        walked += 1;
        let item = items.read("Data")?;
        if !list.next(buf) {
            continue;
        }
        let name = usize::try_from(item.number)
            .ok()
            .and_then(|n| DATA_TYPES.get(n))
            .unwrap_or(&"?");
        buf.push_bytes(name.as_bytes());
        match item.number {
            3 => {
                let v = item.value.first().is_some_and(|b| *b != 0);
                buf.push_bytes(if v { b" true" } else { b" false" });
            }
            5 => {
                if let Some(v) = ber::decode_integer(item.value) {
                    let _ = write!(buf, " {v}");
                }
            }
            6 => {
                if let Some(v) = item.unsigned() {
                    let _ = write!(buf, " {v}");
                }
            }
            _ => {}
        }
    }
    list.finish(buf);
    Ok(())
}

/// A confirmed request waiting for its response.
#[derive(Default)]
struct Pending {
    used: bool,
    requester: usize,
    invoke_id: u64,
    service: u32,
    /// GetNameList object class; fileRead / fileClose frsm id.
    arg: i64,
    /// The request's names (for file opens and failed writes).
    names: ValueBuf<96>,
}

/// A file being read (fileOpen answered with an frsm id, then fileRead until no more follows).
#[derive(Default)]
struct Transfer {
    /// Between the fileOpen response and the fileClose request.
    open: bool,
    /// Still hashing (no fileRead response said that no more follows).
    active: bool,
    requester: usize,
    frsm: i64,
    name: ValueBuf<96>,
    hasher: Sha256,
    bytes: u64,
}

/// One MMS association (one ISO-TSAP connection).
#[derive(Default)]
pub struct Session {
    pending: [Pending; MAX_PENDING],
    next_pending: usize,
    transfers: [Transfer; MAX_FILE_TRANSFERS],
    iccp: bool,
    ld_facts: usize,
}

const PROTOCOL: &str = "mms";

fn requester_direction(index: usize) -> Direction {
    if index == 0 {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

impl Session {
    fn detail(&self) -> Detail {
        let mut d = Detail::new();
        if self.iccp {
            d.push_bytes(b"iccp");
        }
        d
    }

    fn note(&mut self, flow: &FlowMeta, seen: &Seen, out: &mut Observations) {
        if seen.tase2 && !self.iccp {
            self.iccp = true;
            out.fact(
                flow.server_device(),
                Attribute::Service,
                "iccp",
                Source::Mms,
                flow.now,
            );
        }
    }

    fn tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        if starts_with_mms(tsdu) {
            return self.mms(flow, direction, tsdu, 0, out);
        }
        let spdu = iso::parse_spdu(tsdu)?;
        if spdu.user_data.is_empty() {
            return Ok(());
        }
        let base = (spdu.user_data.as_ptr() as usize).saturating_sub(tsdu.as_ptr() as usize);
        let pdv = match iso::parse_ppdu(spdu.user_data, base)? {
            iso::Ppdu::Connect { user, .. } | iso::Ppdu::Accept { user } => user,
            iso::Ppdu::Data(pdv) => Some(pdv),
        };
        let Some(pdv) = pdv else {
            return Ok(());
        };
        if iso::is_acse(pdv.data) {
            self.acse(flow, direction, pdv.data, pdv.offset, out)
        } else {
            self.mms(flow, direction, pdv.data, pdv.offset, out)
        }
    }

    fn ap_fact(
        flow: &FlowMeta,
        direction: Direction,
        ap: Option<iso::ApTitle<'_>>,
        ae: Option<i64>,
        own: bool,
        out: &mut Observations,
    ) {
        let Some(iso::ApTitle::Oid(oid)) = ap else {
            return;
        };
        let mut v = crate::lldp::ValueBuf::new();
        v.push_bytes(b"mms:ap:");
        oid.write_dotted(&mut v);
        if let Some(ae) = ae {
            v.push_bytes(b":ae:");
            let mut n = ValueBuf::<24>::new();
            let _ = write!(n, "{ae}");
            v.push_bytes(n.as_bytes());
        }
        let text = std::str::from_utf8(v.as_bytes()).unwrap_or_default();
        if own {
            out.fact(
                flow.sender(direction),
                Attribute::ProtocolAddress,
                text,
                Source::Mms,
                flow.now,
            );
        } else {
            out.hearsay(
                flow.receiver(direction),
                Attribute::ProtocolAddress,
                text,
                Source::Mms,
                flow.now,
            );
        }
    }

    fn acse(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        base: usize,
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        let apdu = iso::parse_apdu(bytes, base)?;
        match apdu {
            iso::Apdu::Aarq(a) | iso::Apdu::Aare(a) => {
                let request = matches!(apdu, iso::Apdu::Aarq(_));
                if request {
                    Self::ap_fact(flow, direction, a.called_ap, a.called_ae, false, out);
                }
                Self::ap_fact(flow, direction, a.own_ap, a.own_ae, true, out);
                let mut d = self.detail();
                if let Some(context) = a.context {
                    let mut v = crate::lldp::ValueBuf::new();
                    context.write_dotted(&mut v);
                    if !d.is_empty() {
                        d.push_bytes(b" ");
                    }
                    d.push_bytes(b"context ");
                    d.push_bytes(v.as_bytes());
                    if context.as_bytes() == iso::MMS_CONTEXT {
                        d.push_bytes(b" (mms)");
                    }
                }
                if request {
                    out.event(
                        flow,
                        direction,
                        PROTOCOL,
                        EventCategory::Other,
                        "associate",
                        d.as_str(),
                    );
                    if a.mechanism.is_some() || a.authenticated {
                        let mut d = self.detail();
                        if let Some(m) = a.mechanism {
                            let mut v = crate::lldp::ValueBuf::new();
                            m.write_dotted(&mut v);
                            d.push_bytes(b"mechanism ");
                            d.push_bytes(v.as_bytes());
                            if m.as_bytes() == [0x52, 0x03, 0x01] {
                                d.push_bytes(b" (password)");
                            }
                        }
                        out.event(
                            flow,
                            direction,
                            PROTOCOL,
                            EventCategory::Authentication,
                            "acse_authentication",
                            d.as_str(),
                        );
                    }
                } else if let Some(result) = a.result.filter(|r| *r != 0) {
                    let _ = write!(d, ", result {result}");
                    out.event(
                        flow,
                        direction.reverse(),
                        PROTOCOL,
                        EventCategory::Other,
                        "associate_rejected",
                        d.as_str(),
                    );
                }
                if let Some((user, offset)) = a.user {
                    if starts_with_mms(user) {
                        self.mms(flow, direction, user, offset, out)?;
                    }
                }
            }
            iso::Apdu::Rlrq => {
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "release",
                    self.detail().as_str(),
                );
            }
            iso::Apdu::Abrt => {
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "abort",
                    self.detail().as_str(),
                );
            }
            iso::Apdu::Rlre => {}
        }
        Ok(())
    }

    fn mms(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        base: usize,
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        match parse_pdu(bytes, base)? {
            Pdu::ConfirmedRequest { invoke_id, service } => {
                self.request(flow, direction, invoke_id, &service, out)?;
            }
            Pdu::ConfirmedResponse { invoke_id, service } => {
                self.response(flow, direction, invoke_id, service.as_ref(), out)?;
            }
            Pdu::ConfirmedError { invoke_id, error } => {
                let pending = invoke_id.and_then(|id| self.take(direction.reverse(), id));
                let (name, category) =
                    pending.map_or(("unknown", EventCategory::Other), |p| service(p.1));
                let mut d = self.detail();
                if !d.is_empty() {
                    d.push_bytes(b" ");
                }
                let _ = write!(d, "service {name}");
                if let Some((class, code)) = error {
                    let class_name = usize::try_from(class)
                        .ok()
                        .and_then(|c| ERROR_CLASSES.get(c))
                        .unwrap_or(&"unknown");
                    let _ = write!(d, ", class {class_name}, code {code}");
                }
                out.event(
                    flow,
                    direction.reverse(),
                    PROTOCOL,
                    category,
                    "confirmed_error",
                    d.as_str(),
                );
            }
            Pdu::Unconfirmed { service } => self.unconfirmed(flow, direction, &service, out)?,
            Pdu::Reject { reason, .. } => {
                let mut d = self.detail();
                if let Some((kind, code)) = reason {
                    if !d.is_empty() {
                        d.push_bytes(b" ");
                    }
                    let _ = write!(d, "type {kind}, reason {code}");
                }
                out.event(
                    flow,
                    direction.reverse(),
                    PROTOCOL,
                    EventCategory::Other,
                    "reject",
                    d.as_str(),
                );
            }
            Pdu::CancelRequest => {
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "cancel",
                    self.detail().as_str(),
                );
            }
            Pdu::InitiateRequest(init) => {
                let mut d = self.detail();
                if !d.is_empty() {
                    d.push_bytes(b" ");
                }
                if let Some(v) = init.version {
                    let _ = write!(d, "version {v}, ");
                }
                d.push_bytes(b"cbb ");
                d.push_hex(init.cbb);
                d.push_bytes(b", services ");
                d.push_hex(init.services);
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "initiate",
                    d.as_str(),
                );
            }
            Pdu::InitiateResponse(_) => {
                out.fact(
                    flow.sender(direction),
                    Attribute::Service,
                    "mms",
                    Source::Mms,
                    flow.now,
                );
            }
            Pdu::InitiateError => {
                out.event(
                    flow,
                    direction.reverse(),
                    PROTOCOL,
                    EventCategory::Other,
                    "initiate_error",
                    self.detail().as_str(),
                );
            }
            Pdu::ConcludeRequest => {
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "conclude",
                    self.detail().as_str(),
                );
            }
            Pdu::ConcludeError => {
                out.event(
                    flow,
                    direction.reverse(),
                    PROTOCOL,
                    EventCategory::Other,
                    "conclude_error",
                    self.detail().as_str(),
                );
            }
            Pdu::CancelResponse | Pdu::ConcludeResponse => {}
        }
        Ok(())
    }

    /// Forgets and returns (arg, service, names) of the request `invoke_id` from `requester`.
    fn take(&mut self, requester: Direction, invoke_id: u64) -> Option<(i64, u32, ValueBuf<96>)> {
        let p = self
            .pending
            .iter_mut()
            .find(|p| p.used && p.invoke_id == invoke_id && p.requester == requester.index())?;
        p.used = false;
        Some((p.arg, p.service, p.names.clone()))
    }

    fn remember(
        &mut self,
        requester: Direction,
        invoke_id: u64,
        service: u32,
        arg: i64,
        names: &[u8],
    ) {
        let slot = self
            .pending
            .iter()
            .position(|p| !p.used)
            .unwrap_or(self.next_pending % MAX_PENDING);
        self.next_pending = self.next_pending.wrapping_add(1);
        if let Some(p) = self.pending.get_mut(slot) {
            p.used = true;
            p.requester = requester.index();
            p.invoke_id = invoke_id;
            p.service = service;
            p.arg = arg;
            p.names.clear();
            p.names.push_bytes(names);
        }
    }

    fn request(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        invoke_id: u64,
        body: &Element<'_>,
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        let number = body.number;
        let (name, mut category) = service(number);
        let mut d = self.detail();
        let mut seen = Seen::default();
        let mut arg = -1;
        let mut names = Detail::new();
        match number {
            // getNameList: object class and scope.
            1 => {
                let mut fields = body.contents("getNameList")?;
                while !fields.is_empty() {
                    let f = fields.read("getNameList field")?;
                    if f.is_context(0) {
                        if let Some((0, class)) = choice_code(&f, "objectClass")? {
                            arg = class;
                            let class_name = usize::try_from(class)
                                .ok()
                                .and_then(|c| OBJECT_CLASSES.get(c))
                                .unwrap_or(&"unknown");
                            if !d.is_empty() {
                                d.push_bytes(b" ");
                            }
                            let _ = write!(d, "class {class_name}");
                        }
                    } else if f.is_context(1) {
                        let mut scope = f.contents("objectScope")?;
                        let s = scope.read("objectScope")?;
                        d.push_bytes(match s.number {
                            0 => b", scope vmd".as_slice(),
                            1 => b", scope domain ",
                            _ => b", scope aa",
                        });
                        if s.number == 1 {
                            push_name(&mut d, s.value, &mut seen);
                        }
                    }
                }
            }
            // read: [0] specificationWithResult, [1] variableAccessSpecification.
            4 => {
                let mut fields = body.contents("read")?;
                while !fields.is_empty() {
                    let f = fields.read("read field")?;
                    if f.is_context(1) {
                        let mut inner = f.contents("variableAccessSpecification")?;
                        let spec = inner.read("variableAccessSpecification")?;
                        push_variable_access(&mut d, &spec, &mut seen)?;
                    }
                }
            }
            // write: variableAccessSpecification, then [0] listOfData.
            5 => {
                let mut fields = body.contents("write")?;
                let spec = fields.read("variableAccessSpecification")?;
                push_variable_access(&mut names, &spec, &mut seen)?;
                if !d.is_empty() {
                    d.push_bytes(b", ");
                }
                d.push_bytes(names.as_bytes());
                if !fields.is_empty() {
                    let data = fields.read("listOfData")?;
                    push_data_list(&mut d, &data)?;
                }
                if seen.control {
                    category = EventCategory::ControlCommand;
                }
            }
            // getVariableAccessAttributes: name [0] ObjectName.
            6 => {
                let mut inner = body.contents("getVariableAccessAttributes")?;
                let choice = inner.read("getVariableAccessAttributes")?;
                if choice.is_context(0) {
                    let mut n = choice.contents("name")?;
                    let name = n.read("ObjectName")?;
                    if !d.is_empty() {
                        d.push_bytes(b" ");
                    }
                    push_object_name(&mut d, &name, &mut seen)?;
                }
            }
            // getNamedVariableListAttributes: ObjectName.
            12 => {
                let mut inner = body.contents("getNamedVariableListAttributes")?;
                let name = inner.read("ObjectName")?;
                if !d.is_empty() {
                    d.push_bytes(b" ");
                }
                push_object_name(&mut d, &name, &mut seen)?;
            }
            // fileOpen: [0] fileName.
            72 => {
                let mut fields = body.contents("fileOpen")?;
                let file = fields.read("fileName")?;
                push_file_name(&mut names, &file, &mut seen)?;
                let _ = write!(d, "{}file ", if d.is_empty() { "" } else { " " });
                d.push_bytes(names.as_bytes());
            }
            // fileRead / fileClose: frsmID.
            73 | 74 => {
                arg = ber::decode_integer(body.value).unwrap_or(-1);
                if let Some(t) = self.transfers.iter().find(|t| t.open && t.frsm == arg) {
                    let _ = write!(d, "{}file ", if d.is_empty() { "" } else { " " });
                    d.push_bytes(t.name.as_bytes());
                }
                if number == 74 {
                    for t in self.transfers.iter_mut().filter(|t| t.frsm == arg) {
                        t.open = false;
                        t.active = false;
                    }
                }
            }
            // fileDelete: FileName; fileDirectory: [0] fileSpecification; fileRename and
            // obtainFile: two file names.
            75..=77 | 46 => {
                if number == 76 {
                    d.push_bytes(if d.is_empty() { b"file " } else { b" file " });
                    push_file_name(&mut d, body, &mut seen)?;
                } else {
                    let mut fields = body.contents("file service")?;
                    let mut n = 0;
                    while !fields.is_empty() && n < 3 {
                        n += 1;
                        let f = fields.read("file name")?;
                        if !f.is_constructed() {
                            continue;
                        }
                        let label: &[u8] = match (number, f.number) {
                            (46, 1) | (75, 0) => b"from ",
                            (46, 2) | (75, 1) => b"to ",
                            _ => b"file ",
                        };
                        if !d.is_empty() {
                            d.push_bytes(b" ");
                        }
                        d.push_bytes(label);
                        push_file_name(&mut d, &f, &mut seen)?;
                    }
                }
            }
            // identify, status: no arguments worth a detail.
            0 | 2 => {}
            _ => {
                let mut n = Detail::new();
                push_first_name(&mut n, body, &mut seen)?;
                let text = n.as_bytes().strip_prefix(b" ").unwrap_or(n.as_bytes());
                if !text.is_empty() {
                    if !d.is_empty() {
                        d.push_bytes(b" ");
                    }
                    d.push_bytes(text);
                }
            }
        }
        self.remember(direction, invoke_id, number, arg, names.as_bytes());
        self.note(flow, &seen, out);
        out.event(flow, direction, PROTOCOL, category, name, d.as_str());
        Ok(())
    }

    fn response(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        invoke_id: u64,
        body: Option<&Element<'_>>,
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        let pending = self.take(direction.reverse(), invoke_id);
        let Some(body) = body else {
            return Ok(());
        };
        let (arg, names) = match &pending {
            Some((arg, number, names)) if *number == body.number => (*arg, names.as_bytes()),
            _ => (-1, &[][..]),
        };
        let sender = flow.sender(direction);
        let mut seen = Seen::default();
        match body.number {
            0 => {
                let mut fields = body.contents("status")?;
                while !fields.is_empty() {
                    let f = fields.read("status field")?;
                    if f.is_context(1) {
                        if let Some(state) = f
                            .unsigned()
                            .and_then(|s| PHYSICAL_STATUS.get(usize::try_from(s).ok()?))
                        {
                            out.fact(sender, Attribute::State, state, Source::Mms, flow.now);
                        }
                    }
                }
            }
            1 => {
                let mut fields = body.contents("getNameList response")?;
                let list = fields.read("listOfIdentifier")?;
                let mut ids = list.contents("listOfIdentifier")?;
                let mut walked = 0;
                while !ids.is_empty() && walked < MAX_LIST_ITEMS {
                    walked += 1;
                    let id = ids.read("Identifier")?;
                    let mut scratch = Detail::new();
                    push_name(&mut scratch, id.value, &mut seen);
                    if arg == 9 && self.ld_facts < MAX_LD_FACTS {
                        self.ld_facts += 1;
                        let mut v = ValueBuf::<80>::new();
                        v.push_bytes(b"ld: ");
                        v.push_bytes(scratch.as_bytes());
                        out.fact_bytes(
                            sender,
                            Attribute::Description,
                            v.as_bytes(),
                            Source::Mms,
                            flow.now,
                        );
                    }
                }
            }
            2 => {
                let mut fields = body.contents("identify response")?;
                while !fields.is_empty() {
                    let f = fields.read("identify field")?;
                    let attribute = match f.number {
                        0 => Attribute::Vendor,
                        1 => Attribute::Model,
                        2 => Attribute::Firmware,
                        _ => continue,
                    };
                    if !f.is_constructed() {
                        out.fact_bytes(sender, attribute, f.value, Source::Mms, flow.now);
                    }
                }
            }
            // read / write responses: data access failures.
            4 | 5 => {
                let mut fields = body.contents("access results")?;
                let results = if body.number == 4 {
                    let mut found = None;
                    while !fields.is_empty() {
                        let f = fields.read("read response field")?;
                        if f.is_context(1) {
                            found = Some(f.contents("listOfAccessResult")?);
                        }
                    }
                    found
                } else {
                    Some(fields)
                };
                if let Some(mut results) = results {
                    let mut walked = 0;
                    let mut first_error = None;
                    let mut failures = 0u32;
                    while !results.is_empty() && walked < MAX_LIST_ITEMS {
                        walked += 1;
                        let r = results.read("AccessResult")?;
                        if r.is_context(0) && !r.is_constructed() {
                            failures += 1;
                            first_error.get_or_insert(ber::decode_integer(r.value).unwrap_or(-1));
                        }
                    }
                    if let Some(code) = first_error {
                        let (name, category) = service(body.number);
                        let mut d = self.detail();
                        if !d.is_empty() {
                            d.push_bytes(b" ");
                        }
                        let _ = write!(d, "service {name}, failures {failures}, code {code}");
                        if !names.is_empty() {
                            d.push_bytes(b", ");
                            d.push_bytes(names);
                        }
                        out.event(
                            flow,
                            direction.reverse(),
                            PROTOCOL,
                            category,
                            "data_access_error",
                            d.as_str(),
                        );
                    }
                }
            }
            72 => {
                let mut fields = body.contents("fileOpen response")?;
                let frsm = fields.read("frsmID")?;
                let frsm = ber::decode_integer(frsm.value).unwrap_or(-1);
                let slot = self.transfers.iter().position(|t| !t.open).unwrap_or(0);
                if let Some(t) = self.transfers.get_mut(slot) {
                    *t = Transfer {
                        open: true,
                        active: true,
                        requester: direction.reverse().index(),
                        frsm,
                        ..Transfer::default()
                    };
                    t.name.push_bytes(names);
                }
            }
            73 => {
                let mut fields = body.contents("fileRead response")?;
                let mut data: &[u8] = &[];
                let mut more = true;
                while !fields.is_empty() {
                    let f = fields.read("fileRead field")?;
                    match f.number {
                        0 => data = f.value,
                        1 => more = f.value.first().is_some_and(|b| *b != 0),
                        _ => {}
                    }
                }
                if let Some(t) = self
                    .transfers
                    .iter_mut()
                    .find(|t| t.active && t.frsm == arg)
                {
                    t.hasher.update(data);
                    t.bytes += data.len() as u64;
                    if !more {
                        t.active = false;
                        let hash = std::mem::take(&mut t.hasher).finalize();
                        let mut hex = ValueBuf::<64>::new();
                        hex.push_hex(&hash);
                        let mut d = Detail::new();
                        if self.iccp {
                            d.push_bytes(b"iccp ");
                        }
                        d.push_bytes(b"file ");
                        d.push_bytes(t.name.as_bytes());
                        let _ = write!(d, ", {} bytes", t.bytes);
                        let requester = requester_direction(t.requester);
                        out.event_with_hash(
                            flow,
                            requester,
                            PROTOCOL,
                            EventCategory::ProgramUpload,
                            "file_upload",
                            d.as_str(),
                            Some(hex.as_str()),
                        );
                    }
                }
            }
            _ => {}
        }
        self.note(flow, &seen, out);
        Ok(())
    }

    fn unconfirmed(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        service: &Element<'_>,
        out: &mut Observations,
    ) -> Result<(), MmsError> {
        let mut seen = Seen::default();
        let mut d = self.detail();
        let (operation, category) = match service.number {
            0 => {
                let mut fields = service.contents("informationReport")?;
                let spec = fields.read("variableAccessSpecification")?;
                push_variable_access(&mut d, &spec, &mut seen)?;
                ("information_report", EventCategory::Other)
            }
            1 => {
                let mut fields = service.contents("unsolicitedStatus")?;
                while !fields.is_empty() {
                    let f = fields.read("status field")?;
                    if f.is_context(1) {
                        if let Some(state) = f
                            .unsigned()
                            .and_then(|s| PHYSICAL_STATUS.get(usize::try_from(s).ok()?))
                        {
                            out.fact(
                                flow.sender(direction),
                                Attribute::State,
                                state,
                                Source::Mms,
                                flow.now,
                            );
                        }
                    }
                }
                ("unsolicited_status", EventCategory::Diagnostics)
            }
            2 => ("event_notification", EventCategory::Other),
            _ => ("unconfirmed_unknown", EventCategory::Other),
        };
        self.note(flow, &seen, out);
        out.event(flow, direction, PROTOCOL, category, operation, d.as_str());
        Ok(())
    }
}

impl TsduHandler for Session {
    const PROTOCOL: &'static str = PROTOCOL;

    /// Strict: a session CONNECT / ACCEPT whose user data is a presentation CP / CPA, a
    /// GIVE TOKENS + DATA TRANSFER holding fully-encoded data whose value is an ACSE APDU or
    /// an MMS PDU, or (MMS straight over COTP) a whole MMS PDU.
    fn recognises(tsdu: &[u8]) -> bool {
        if starts_with_mms(tsdu) {
            return parse_pdu(tsdu, 0).is_ok();
        }
        let Ok(spdu) = iso::parse_spdu(tsdu) else {
            return false;
        };
        if !matches!(spdu.si, iso::si::CONNECT | iso::si::ACCEPT | iso::si::DATA) {
            return false;
        }
        match iso::parse_ppdu(spdu.user_data, 0) {
            Ok(iso::Ppdu::Connect { .. } | iso::Ppdu::Accept { .. }) => spdu.si != iso::si::DATA,
            Ok(iso::Ppdu::Data(pdv)) => {
                spdu.si == iso::si::DATA
                    && if iso::is_acse(pdv.data) {
                        iso::parse_apdu(pdv.data, 0).is_ok()
                    } else {
                        parse_pdu(pdv.data, 0).is_ok()
                    }
            }
            Err(_) => false,
        }
    }

    fn on_tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    ) {
        // A malformed unit is reported; the next one is read afresh.
        if let Err(error) = self.tsdu(flow, direction, tsdu, out) {
            let mut detail = ValueBuf::<128>::new();
            let _ = write!(detail, "{error}");
            out.event(
                flow,
                direction,
                PROTOCOL,
                EventCategory::Other,
                "malformed",
                detail.as_str(),
            );
        }
    }
}

#[cfg(test)]
mod tests;
