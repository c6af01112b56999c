//! PROFINET DCP (Discovery and Configuration Protocol, IEC 61158-6-10, ether type 0x8892):
//! how engineering tools and IO controllers find PROFINET stations on a segment, name them and
//! give them their IP suite — without IP.
//!
//! A DCP PDU follows the PROFINET real-time frame id: `0xfefc` Hello, `0xfefd` Get/Set,
//! `0xfefe` Identify request (multicast), `0xfeff` Identify response. Its header is the service
//! id (3 Get, 4 Set, 5 Identify, 6 Hello), the service type (0 request, 1 success, 5 not
//! supported), a transaction id, a response delay (requests) and the length of the blocks that
//! follow. Each block is option, suboption, length and value, padded to an even length; blocks
//! of responses and Hello carry a 16-bit BlockInfo first, blocks of Set requests a
//! BlockQualifier; Identify filters carry neither, and a Get request is only a list of
//! option/suboption pairs. The walk stops at [`MAX_BLOCKS`] blocks and never reads past the
//! declared data length or the frame.
//!
//! Facts, about the station that answers (Identify or Get response) or announces itself
//! (Hello), keyed by its source MAC:
//!
//! | block | fact |
//! |---|---|
//! | IP parameter, full IP suite (address not 0.0.0.0) | `Ip` |
//! | name of station | `Hostname` |
//! | manufacturer specific (type of station) | `Model` |
//! | device id (vendor id, device id) | `ProductCode` `pn:0x002a/0x0a01`; `Vendor` for the few vendor ids named in [`vendor_name`] |
//! | device role | one `Capability` per role: `profinet io-device`, `profinet io-controller`, `profinet io-multidevice`, `profinet io-supervisor` |
//! | any valid response | `Service` `pn_dcp` |
//!
//! Events (`frame_event`, from the frame's sender to its destination):
//!
//! | message | category | operation | detail |
//! |---|---|---|---|
//! | Identify request | Discovery | `identify` | the filter: `all`, `name=<station>`, `alias=<alias>`, `device_id=0x002a/0x0a01`, ... |
//! | Hello | Discovery | `hello` | `name=<station>` |
//! | Get request | Diagnostics | `get` | the options asked for (`ip/ip_parameter,device/name_of_station`) |
//! | Set request, IP parameter / full suite | ConfigurationChange | `set_ip` | `ip=… mask=… gateway=…` and `permanent`/`temporary` |
//! | Set request, name of station | ConfigurationChange | `set_name_of_station` | `name=<new name>` and `permanent`/`temporary` |
//! | Set request, signal | Diagnostics | `signal` | `value=0x0100` (flash the station's LED) |
//! | Set request, factory reset / reset to factory | ConfigurationChange | `factory_reset` / `reset_to_factory` | `mode=<block qualifier>` |
//! | Set request, DHCP / alias / other block | ConfigurationChange | `set_dhcp` / `set` | option and suboption |
//! | response with a block error | ConfigurationChange (Set) or Diagnostics (Get) | `error_response` | `option=1/2 error=<code>` |
//! | malformed PDU | Other | `malformed` | the decode error |
//!
//! Identify responses only give facts (their requests are the events). Start and end of a
//! transaction (control suboptions 1 and 2) are housekeeping and give no event.
//!
//! The IP address is reported as an `Ip` fact; binding it to the MAC (as ARP or DHCP do) is
//! the sensor's decision.

use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use ironward_model::{Attribute, DeviceKey, EventCategory, Source};

use crate::observations::Observations;
use crate::value::ValueBuf;
use crate::{DissectorRegistry, FrameDissector, LinkFrame};

/// PROFINET's ether type (real-time frames: DCP, cyclic IO, alarms, PTCP).
pub const ETHERTYPE: u16 = 0x8892;
/// Most blocks read from one PDU (a full Identify response has about a dozen).
pub const MAX_BLOCKS: usize = 64;
/// Most options named in a Get request's or Identify filter's event detail.
pub const MAX_DETAIL_OPTIONS: usize = 8;

/// Frame id of DCP Hello requests.
pub const FRAME_HELLO: u16 = 0xfefc;
/// Frame id of DCP Get and Set (requests and responses).
pub const FRAME_GET_SET: u16 = 0xfefd;
/// Frame id of DCP Identify requests (multicast 01:0e:cf:00:00:00).
pub const FRAME_IDENTIFY_REQUEST: u16 = 0xfefe;
/// Frame id of DCP Identify responses.
pub const FRAME_IDENTIFY_RESPONSE: u16 = 0xfeff;

/// Length of the frame id and DCP header.
const HEADER_LEN: usize = 12;

/// Service id: Get.
pub const SERVICE_GET: u8 = 3;
/// Service id: Set.
pub const SERVICE_SET: u8 = 4;
/// Service id: Identify.
pub const SERVICE_IDENTIFY: u8 = 5;
/// Service id: Hello.
pub const SERVICE_HELLO: u8 = 6;

/// Option: IP.
pub const OPTION_IP: u8 = 1;
/// Option: device properties.
pub const OPTION_DEVICE: u8 = 2;
/// Option: DHCP.
pub const OPTION_DHCP: u8 = 3;
/// Option: control.
pub const OPTION_CONTROL: u8 = 5;
/// Option: device initiative.
pub const OPTION_DEVICE_INITIATIVE: u8 = 6;
/// Option: all selector (Identify all).
pub const OPTION_ALL: u8 = 0xff;

/// What was wrong with a DCP PDU, and where (byte offset from the frame id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcpError {
    /// The frame id is not a DCP one.
    NotDcp {
        /// The frame id found.
        frame_id: u16,
    },
    /// A header, block or value runs past the end of the PDU.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
    /// A block's length is impossible for its option and suboption.
    BadLength {
        /// The block being read.
        field: &'static str,
        /// The length found.
        length: usize,
        /// Offset of the block header.
        offset: usize,
    },
    /// More than [`MAX_BLOCKS`] blocks.
    TooManyBlocks {
        /// Offset of the first block not read.
        offset: usize,
    },
}

impl fmt::Display for DcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDcp { frame_id } => write!(f, "DCP: frame id {frame_id:#06x} is not DCP"),
            Self::Truncated { field, offset } => write!(f, "DCP {field} truncated at {offset}"),
            Self::BadLength {
                field,
                length,
                offset,
            } => write!(f, "DCP {field} has impossible length {length} at {offset}"),
            Self::TooManyBlocks { offset } => {
                write!(f, "DCP: more than {MAX_BLOCKS} blocks, stopped at {offset}")
            }
        }
    }
}

impl std::error::Error for DcpError {}

/// A DCP PDU's header, and its blocks still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// PROFINET frame id (`0xfefc`..=`0xfeff`).
    pub frame_id: u16,
    /// Service id (3 Get, 4 Set, 5 Identify, 6 Hello).
    pub service_id: u8,
    /// Service type (0 request, 1 response success, 5 response "not supported").
    pub service_type: u8,
    /// Transaction id.
    pub xid: u32,
    /// Response delay factor (Identify requests) or reserved.
    pub response_delay: u16,
    /// Declared length of the blocks.
    pub data_length: u16,
    /// The blocks (at most `data_length` bytes, fewer when the frame is cut).
    data: &'a [u8],
}

impl<'a> Pdu<'a> {
    /// Parses the header of a DCP PDU: `payload` starts at the frame id (the Ethernet
    /// payload of an 0x8892 frame). Blocks are read lazily by [`blocks`](Self::blocks).
    pub fn parse(payload: &'a [u8]) -> Result<Self, DcpError> {
        let [f0, f1, rest @ ..] = payload else {
            return Err(DcpError::Truncated {
                field: "frame id",
                offset: 0,
            });
        };
        let frame_id = u16::from_be_bytes([*f0, *f1]);
        if !(FRAME_HELLO..=FRAME_IDENTIFY_RESPONSE).contains(&frame_id) {
            return Err(DcpError::NotDcp { frame_id });
        }
        let [service_id, service_type, x0, x1, x2, x3, d0, d1, l0, l1, data @ ..] = rest else {
            return Err(DcpError::Truncated {
                field: "header",
                offset: 2,
            });
        };
        let data_length = u16::from_be_bytes([*l0, *l1]);
        let data = data
            .get(..usize::from(data_length))
            .ok_or(DcpError::Truncated {
                field: "blocks",
                offset: HEADER_LEN,
            })?;
        Ok(Self {
            frame_id,
            service_id: *service_id,
            service_type: *service_type,
            xid: u32::from_be_bytes([*x0, *x1, *x2, *x3]),
            response_delay: u16::from_be_bytes([*d0, *d1]),
            data_length,
            data,
        })
    }

    /// Whether this is a request (service type 0).
    pub fn is_request(&self) -> bool {
        self.service_type & 0x03 == 0
    }

    /// How this PDU's blocks are laid out.
    fn layout(&self) -> Layout {
        match (self.service_id, self.is_request()) {
            (SERVICE_GET, true) => Layout::OptionList,
            (SERVICE_IDENTIFY, true) => Layout::Filter,
            (SERVICE_SET, true) => Layout::Qualified,
            _ => Layout::WithInfo,
        }
    }

    /// The blocks, in order; after an error, nothing more.
    pub fn blocks(&self) -> Blocks<'a> {
        Blocks {
            data: self.data,
            offset: 0,
            count: 0,
            layout: self.layout(),
            done: false,
        }
    }
}

/// How the blocks of a PDU are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Get request: option/suboption pairs, no length, no value.
    OptionList,
    /// Identify request: blocks without BlockInfo (filters).
    Filter,
    /// Set request: blocks whose value starts with a BlockQualifier.
    Qualified,
    /// Responses and Hello: blocks whose value starts with a BlockInfo.
    WithInfo,
}

/// One block: option, suboption, the 16-bit BlockInfo or BlockQualifier when the PDU carries
/// one, and the decoded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    /// Option (1 IP, 2 device properties, 3 DHCP, 5 control, 6 device initiative, 255 all).
    pub option: u8,
    /// Suboption within the option.
    pub suboption: u8,
    /// BlockInfo (responses, Hello) or BlockQualifier (Set requests).
    pub info: Option<u16>,
    /// The value after the BlockInfo/BlockQualifier.
    pub value: Value<'a>,
    /// Offset of the block header from the frame id.
    pub offset: usize,
}

/// A block's value, decoded where the option and suboption are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Nothing (Get request entries, the All selector, transaction control).
    Empty,
    /// IP / MAC address.
    Mac([u8; 6]),
    /// IP / IP parameter: address, subnet mask, standard gateway.
    IpSuite {
        /// Address.
        ip: Ipv4Addr,
        /// Subnet mask.
        mask: Ipv4Addr,
        /// Standard gateway.
        gateway: Ipv4Addr,
    },
    /// IP / full IP suite: the IP parameter and four DNS servers.
    FullIpSuite {
        /// Address.
        ip: Ipv4Addr,
        /// Subnet mask.
        mask: Ipv4Addr,
        /// Standard gateway.
        gateway: Ipv4Addr,
        /// DNS servers.
        dns: [Ipv4Addr; 4],
    },
    /// Device / manufacturer specific: the type of station (`S7-1500`, `SCALANCE X-200`).
    TypeOfStation(&'a [u8]),
    /// Device / name of station.
    NameOfStation(&'a [u8]),
    /// Device / device id.
    DeviceId {
        /// PROFINET vendor id.
        vendor: u16,
        /// Vendor-assigned device id.
        device: u16,
    },
    /// Device / device role (bit 0 IO-Device, 1 IO-Controller, 2 IO-Multidevice, 3 supervisor).
    DeviceRole(u8),
    /// Device / device options: the option/suboption pairs the station supports.
    DeviceOptions(&'a [u8]),
    /// Device / alias name (`port-001.station`).
    AliasName(&'a [u8]),
    /// Device / device instance (high, low).
    DeviceInstance(u8, u8),
    /// Device / OEM device id.
    OemDeviceId {
        /// OEM vendor id.
        vendor: u16,
        /// OEM device id.
        device: u16,
    },
    /// DHCP option (suboption is the DHCP option code).
    Dhcp(&'a [u8]),
    /// Control / signal: the signal value (0x0100 flash once).
    Signal(u16),
    /// Control / response: the option and suboption answered and the block error (0 ok).
    Response {
        /// Option answered.
        option: u8,
        /// Suboption answered.
        suboption: u8,
        /// Block error (0 no error, 1 option unsupported, 2 suboption unsupported or no data,
        /// 3 suboption not set, 4 resource error, 5 set not possible by local reasons, 6 in
        /// operation, set not possible).
        error: u8,
    },
    /// Device initiative value (bit 0: issues Hello).
    DeviceInitiative(u16),
    /// Anything else, as sent.
    Other(&'a [u8]),
}

/// Iterator over a PDU's blocks (see [`Pdu::blocks`]). Each step consumes at least two bytes
/// and there are at most [`MAX_BLOCKS`] steps.
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    data: &'a [u8],
    offset: usize,
    count: usize,
    layout: Layout,
    done: bool,
}

impl<'a> Blocks<'a> {
    fn step(&mut self) -> Result<Option<Block<'a>>, DcpError> {
        let rest = self.data.get(self.offset..).unwrap_or_default();
        let offset = HEADER_LEN + self.offset;
        if rest.is_empty() {
            return Ok(None);
        }
        if self.count >= MAX_BLOCKS {
            return Err(DcpError::TooManyBlocks { offset });
        }
        self.count += 1;
        if self.layout == Layout::OptionList {
            let [option, suboption, ..] = rest else {
                return Err(DcpError::Truncated {
                    field: "option",
                    offset,
                });
            };
            self.offset += 2;
            return Ok(Some(Block {
                option: *option,
                suboption: *suboption,
                info: None,
                value: Value::Empty,
                offset,
            }));
        }
        let [option, suboption, l0, l1, body @ ..] = rest else {
            return Err(DcpError::Truncated {
                field: "block header",
                offset,
            });
        };
        let (option, suboption) = (*option, *suboption);
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let field = block_name(option, suboption);
        let block = body
            .get(..len)
            .ok_or(DcpError::Truncated { field, offset })?;
        // Blocks are padded to an even length (the last one may omit its padding).
        self.offset += 4 + len + (len & 1);
        // A control response block has no BlockInfo; a filter has none either.
        let has_info = match self.layout {
            Layout::Filter | Layout::OptionList => false,
            Layout::Qualified => true,
            Layout::WithInfo => !(option == OPTION_CONTROL && suboption == 4),
        };
        let (info, value) = if has_info {
            match block {
                [a, b, value @ ..] => (Some(u16::from_be_bytes([*a, *b])), value),
                _ => {
                    return Err(DcpError::BadLength {
                        field,
                        length: len,
                        offset,
                    })
                }
            }
        } else {
            (None, block)
        };
        let value = decode_value(option, suboption, value).ok_or(DcpError::BadLength {
            field,
            length: len,
            offset,
        })?;
        Ok(Some(Block {
            option,
            suboption,
            info,
            value,
            offset,
        }))
    }
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<Block<'a>, DcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if matches!(item, None | Some(Err(_))) {
            self.done = true;
        }
        item
    }
}

fn ipv4(bytes: &[u8]) -> Option<Ipv4Addr> {
    let [a, b, c, d] = bytes.get(..4)? else {
        return None;
    };
    Some(Ipv4Addr::new(*a, *b, *c, *d))
}

fn be16(bytes: &[u8]) -> Option<u16> {
    let [a, b] = bytes.get(..2)? else {
        return None;
    };
    Some(u16::from_be_bytes([*a, *b]))
}

/// Decodes a block value; `None` when its length is impossible for the option.
fn decode_value(option: u8, suboption: u8, value: &[u8]) -> Option<Value<'_>> {
    Some(match (option, suboption) {
        (OPTION_IP, 1) if value.is_empty() => Value::Empty,
        (OPTION_IP, 1) => Value::Mac(value.get(..6)?.try_into().ok()?),
        (OPTION_IP, 2) if value.is_empty() => Value::Empty,
        (OPTION_IP, 2) => Value::IpSuite {
            ip: ipv4(value)?,
            mask: ipv4(value.get(4..)?)?,
            gateway: ipv4(value.get(8..)?)?,
        },
        (OPTION_IP, 3) if value.is_empty() => Value::Empty,
        (OPTION_IP, 3) => Value::FullIpSuite {
            ip: ipv4(value)?,
            mask: ipv4(value.get(4..)?)?,
            gateway: ipv4(value.get(8..)?)?,
            dns: [
                ipv4(value.get(12..)?)?,
                ipv4(value.get(16..)?)?,
                ipv4(value.get(20..)?)?,
                ipv4(value.get(24..)?)?,
            ],
        },
        (OPTION_DEVICE, 1) => Value::TypeOfStation(value),
        (OPTION_DEVICE, 2) => Value::NameOfStation(value),
        (OPTION_DEVICE, 3) if value.is_empty() => Value::Empty,
        (OPTION_DEVICE, 3) => Value::DeviceId {
            vendor: be16(value)?,
            device: be16(value.get(2..)?)?,
        },
        (OPTION_DEVICE, 4) if value.is_empty() => Value::Empty,
        (OPTION_DEVICE, 4) => Value::DeviceRole(*value.first()?),
        (OPTION_DEVICE, 5) => Value::DeviceOptions(value),
        (OPTION_DEVICE, 6) => Value::AliasName(value),
        (OPTION_DEVICE, 7) if value.is_empty() => Value::Empty,
        (OPTION_DEVICE, 7) => Value::DeviceInstance(*value.first()?, *value.get(1)?),
        (OPTION_DEVICE, 8) if value.is_empty() => Value::Empty,
        (OPTION_DEVICE, 8) => Value::OemDeviceId {
            vendor: be16(value)?,
            device: be16(value.get(2..)?)?,
        },
        (OPTION_DHCP, _) => Value::Dhcp(value),
        (OPTION_CONTROL, 3) if value.is_empty() => Value::Empty,
        (OPTION_CONTROL, 3) => Value::Signal(be16(value)?),
        (OPTION_CONTROL, 4) => Value::Response {
            option: *value.first()?,
            suboption: *value.get(1)?,
            error: *value.get(2)?,
        },
        (OPTION_DEVICE_INITIATIVE, 1) if value.is_empty() => Value::Empty,
        (OPTION_DEVICE_INITIATIVE, 1) => Value::DeviceInitiative(be16(value)?),
        (OPTION_ALL, _) | (OPTION_CONTROL, 1 | 2) if value.is_empty() => Value::Empty,
        _ => Value::Other(value),
    })
}

/// Option/suboption as `option/suboption` names (for errors and event details).
pub fn block_name(option: u8, suboption: u8) -> &'static str {
    match (option, suboption) {
        (1, 1) => "ip/mac_address",
        (1, 2) => "ip/ip_parameter",
        (1, 3) => "ip/full_ip_suite",
        (1, _) => "ip/other",
        (2, 1) => "device/type_of_station",
        (2, 2) => "device/name_of_station",
        (2, 3) => "device/device_id",
        (2, 4) => "device/device_role",
        (2, 5) => "device/device_options",
        (2, 6) => "device/alias_name",
        (2, 7) => "device/device_instance",
        (2, 8) => "device/oem_device_id",
        (2, 9) => "device/standard_gateway",
        (2, 10) => "device/rsi_properties",
        (2, _) => "device/other",
        (3, _) => "dhcp",
        (5, 1) => "control/start_transaction",
        (5, 2) => "control/end_transaction",
        (5, 3) => "control/signal",
        (5, 4) => "control/response",
        (5, 5) => "control/factory_reset",
        (5, 6) => "control/reset_to_factory",
        (5, _) => "control/other",
        (6, _) => "device_initiative",
        (0xff, _) => "all",
        (0x80..=0xfe, _) => "manufacturer_specific",
        _ => "other",
    }
}

/// The vendor named by a PROFINET vendor id, for the few ids documented publicly; the
/// complete list (PROFIBUS & PROFINET International) may not be redistributed.
///
/// Source: 0x002a is Siemens in Siemens' own published GSDML device descriptions
/// (`VendorID="0x002A"`, e.g. `GSDML-V2.3-Siemens-*.xml`), and in Wireshark's PROFINET
/// documentation of DCP captures of Siemens stations.
pub fn vendor_name(vendor_id: u16) -> Option<&'static str> {
    match vendor_id {
        0x002a => Some("Siemens"),
        _ => None,
    }
}

/// The roles named by a device-role bit field.
const ROLES: [(u8, &str); 4] = [
    (0x01, "profinet io-device"),
    (0x02, "profinet io-controller"),
    (0x04, "profinet io-multidevice"),
    (0x08, "profinet io-supervisor"),
];

/// Dissects PROFINET DCP frames; stateless.
#[derive(Debug, Default)]
pub struct DcpDissector;

impl FrameDissector for DcpDissector {
    fn protocol(&self) -> &'static str {
        "pn_dcp"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        match Pdu::parse(frame.payload) {
            Ok(pdu) => {
                observe(&pdu, frame, out);
                true
            }
            Err(DcpError::NotDcp { .. }) => false,
            Err(e) => {
                malformed(frame, out, &e);
                true
            }
        }
    }
}

/// Counts a decode error as an `malformed` event (detail: the error).
fn malformed(frame: &LinkFrame<'_>, out: &mut Observations, error: &DcpError) {
    let mut detail = ValueBuf::<128>::new();
    let _ = write!(detail, "{error}");
    out.frame_event(
        frame,
        "pn_dcp",
        EventCategory::Other,
        "malformed",
        detail.as_str(),
    );
}

/// Facts and events of one PDU.
fn observe(pdu: &Pdu<'_>, frame: &LinkFrame<'_>, out: &mut Observations) {
    let request = pdu.is_request();
    match (pdu.service_id, request) {
        (SERVICE_IDENTIFY, true) => identify_request(pdu, frame, out),
        (SERVICE_GET, true) => get_request(pdu, frame, out),
        (SERVICE_SET, true) => set_request(pdu, frame, out),
        (SERVICE_HELLO, _) => {
            let name = station_facts(pdu, frame, out);
            let mut detail = ValueBuf::<280>::new();
            if let Some(name) = name {
                detail.push_bytes(b"name=");
                detail.push_bytes(name);
            }
            out.frame_event(
                frame,
                "pn_dcp",
                EventCategory::Discovery,
                "hello",
                detail.as_str(),
            );
        }
        (SERVICE_GET | SERVICE_IDENTIFY, false) => {
            station_facts(pdu, frame, out);
        }
        (SERVICE_SET, false) => {
            response_errors(pdu, frame, out, EventCategory::ConfigurationChange)
        }
        _ => {}
    }
}

/// Facts a station states about itself (Identify/Get response, Hello); returns its name of
/// station, if given.
fn station_facts<'a>(
    pdu: &Pdu<'a>,
    frame: &LinkFrame<'_>,
    out: &mut Observations,
) -> Option<&'a [u8]> {
    let key = DeviceKey::Mac(frame.src_mac);
    let now = frame.now;
    let mut name = None;
    let mut valid = true;
    for block in pdu.blocks() {
        let block = match block {
            Ok(block) => block,
            Err(e) => {
                malformed(frame, out, &e);
                valid = false;
                break;
            }
        };
        match block.value {
            Value::IpSuite { ip, .. } | Value::FullIpSuite { ip, .. } if !ip.is_unspecified() => {
                let mut text = ValueBuf::<16>::new();
                let _ = write!(text, "{ip}");
                out.fact(key, Attribute::Ip, text.as_str(), Source::ProfinetDcp, now);
            }
            Value::NameOfStation(station) => {
                name = Some(station);
                out.fact_bytes(key, Attribute::Hostname, station, Source::ProfinetDcp, now);
            }
            Value::TypeOfStation(model) => {
                out.fact_bytes(key, Attribute::Model, model, Source::ProfinetDcp, now);
            }
            Value::DeviceId { vendor, device } => {
                let mut code = ValueBuf::<24>::new();
                let _ = write!(code, "pn:{vendor:#06x}/{device:#06x}");
                out.fact(
                    key,
                    Attribute::ProductCode,
                    code.as_str(),
                    Source::ProfinetDcp,
                    now,
                );
                if let Some(vendor) = vendor_name(vendor) {
                    out.fact(key, Attribute::Vendor, vendor, Source::ProfinetDcp, now);
                }
            }
            Value::DeviceRole(roles) => {
                for (bit, role) in ROLES {
                    if roles & bit != 0 {
                        out.fact(key, Attribute::Capability, role, Source::ProfinetDcp, now);
                    }
                }
            }
            _ => {}
        }
    }
    if valid {
        out.fact(key, Attribute::Service, "pn_dcp", Source::ProfinetDcp, now);
    }
    if !pdu.is_request() {
        response_errors(pdu, frame, out, EventCategory::Diagnostics);
    }
    name
}

/// An Identify request: one Discovery event whose detail is the filter.
fn identify_request(pdu: &Pdu<'_>, frame: &LinkFrame<'_>, out: &mut Observations) {
    let mut detail = ValueBuf::<320>::new();
    for (i, block) in pdu.blocks().take(MAX_DETAIL_OPTIONS).enumerate() {
        let Ok(block) = block else {
            break;
        };
        if i > 0 {
            detail.push_bytes(b" ");
        }
        match block.value {
            Value::NameOfStation(name) => {
                detail.push_bytes(b"name=");
                detail.push_bytes(name);
            }
            Value::AliasName(alias) => {
                detail.push_bytes(b"alias=");
                detail.push_bytes(alias);
            }
            Value::TypeOfStation(model) => {
                detail.push_bytes(b"type=");
                detail.push_bytes(model);
            }
            Value::DeviceId { vendor, device } => {
                let _ = write!(detail, "device_id={vendor:#06x}/{device:#06x}");
            }
            Value::DeviceRole(role) => {
                let _ = write!(detail, "role={role:#04x}");
            }
            Value::IpSuite { ip, .. } | Value::FullIpSuite { ip, .. } => {
                let _ = write!(detail, "ip={ip}");
            }
            _ => detail.push_bytes(block_name(block.option, block.suboption).as_bytes()),
        }
    }
    out.frame_event(
        frame,
        "pn_dcp",
        EventCategory::Discovery,
        "identify",
        detail.as_str(),
    );
}

/// A Get request: one Diagnostics event naming the options asked for.
fn get_request(pdu: &Pdu<'_>, frame: &LinkFrame<'_>, out: &mut Observations) {
    let mut detail = ValueBuf::<320>::new();
    for (i, block) in pdu.blocks().take(MAX_DETAIL_OPTIONS).enumerate() {
        let Ok(block) = block else {
            break;
        };
        if i > 0 {
            detail.push_bytes(b",");
        }
        detail.push_bytes(block_name(block.option, block.suboption).as_bytes());
    }
    out.frame_event(
        frame,
        "pn_dcp",
        EventCategory::Diagnostics,
        "get",
        detail.as_str(),
    );
}

/// `permanent` or `temporary`, from a Set request's BlockQualifier (bit 0).
fn persistence(qualifier: Option<u16>) -> &'static str {
    if qualifier.unwrap_or(0) & 1 != 0 {
        "permanent"
    } else {
        "temporary"
    }
}

/// A Set request: one event per block that changes something.
fn set_request(pdu: &Pdu<'_>, frame: &LinkFrame<'_>, out: &mut Observations) {
    for block in pdu.blocks() {
        let block = match block {
            Ok(block) => block,
            Err(e) => {
                malformed(frame, out, &e);
                return;
            }
        };
        let mut detail = ValueBuf::<320>::new();
        let (category, operation) = match (block.option, block.suboption, block.value) {
            (_, _, Value::IpSuite { ip, mask, gateway })
            | (
                _,
                _,
                Value::FullIpSuite {
                    ip, mask, gateway, ..
                },
            ) => {
                let _ = write!(
                    detail,
                    "ip={ip} mask={mask} gateway={gateway} {}",
                    persistence(block.info)
                );
                (EventCategory::ConfigurationChange, "set_ip")
            }
            (_, _, Value::NameOfStation(name)) => {
                detail.push_bytes(b"name=");
                detail.push_bytes(name);
                detail.push_bytes(b" ");
                detail.push_bytes(persistence(block.info).as_bytes());
                (EventCategory::ConfigurationChange, "set_name_of_station")
            }
            (_, _, Value::Signal(value)) => {
                let _ = write!(detail, "value={value:#06x}");
                (EventCategory::Diagnostics, "signal")
            }
            (OPTION_CONTROL, 1 | 2, _) => continue,
            (OPTION_CONTROL, 5, _) => {
                let _ = write!(detail, "mode={:#06x}", block.info.unwrap_or(0));
                (EventCategory::ConfigurationChange, "factory_reset")
            }
            (OPTION_CONTROL, 6, _) => {
                let _ = write!(detail, "mode={:#06x}", block.info.unwrap_or(0));
                (EventCategory::ConfigurationChange, "reset_to_factory")
            }
            (OPTION_DHCP, suboption, _) => {
                let _ = write!(detail, "option={suboption}");
                (EventCategory::ConfigurationChange, "set_dhcp")
            }
            (option, suboption, _) => {
                detail.push_bytes(block_name(option, suboption).as_bytes());
                let _ = write!(detail, " ({option}/{suboption})");
                (EventCategory::ConfigurationChange, "set")
            }
        };
        out.frame_event(frame, "pn_dcp", category, operation, detail.as_str());
    }
}

/// Control/response blocks with a non-zero block error: one `error_response` event each.
fn response_errors(
    pdu: &Pdu<'_>,
    frame: &LinkFrame<'_>,
    out: &mut Observations,
    category: EventCategory,
) {
    for block in pdu.blocks() {
        let Ok(block) = block else {
            break;
        };
        if let Value::Response {
            option,
            suboption,
            error,
        } = block.value
        {
            if error != 0 {
                let mut detail = ValueBuf::<64>::new();
                let _ = write!(detail, "option={option}/{suboption} error={error}");
                out.frame_event(frame, "pn_dcp", category, "error_response", detail.as_str());
            }
        }
    }
}

/// Adds this module's dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(DcpDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, MacAddress, Timestamp};

    fn frame(payload: &[u8], dst: [u8; 6]) -> LinkFrame<'_> {
        LinkFrame {
            src_mac: MacAddress([0x08, 0x00, 0x06, 0x93, 0xcf, 0x32]),
            dst_mac: MacAddress(dst),
            vlan: None,
            ethertype: ETHERTYPE,
            snap_oui: None,
            payload,
            now: Timestamp(1),
            frame: 1,
        }
    }

    type Events = Vec<(String, EventCategory, String, u64)>;

    fn run(payload: &[u8]) -> (Vec<Fact>, Events) {
        let mut out = Observations::default();
        assert!(DcpDissector.on_frame(&frame(payload, [1, 0x0e, 0xcf, 0, 0, 0]), &mut out));
        let facts = out.drain_facts().collect();
        let events = out
            .drain_events()
            .map(|e| (e.operation.into_owned(), e.category, e.detail, e.count))
            .collect();
        (facts, events)
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    /// pn_dcp_ChangeIPUsingDCP.pcap frame 1: Identify all.
    const IDENTIFY_ALL: &str = "fefe 05 00 01000001 0001 0004 ffff0000";
    /// Frame 2: the Identify response of a SCALANCE X208 (vendor 0x002a, device 0x0a01).
    const IDENTIFY_RESPONSE: &str = "feff 05 01 01000001 0000 005e
        0205 001c 0000 0201 0202 0203 0204 0205 0101 0102 033d 0501 0502 0503 0504 ffff
        0201 0005 0000 494e4300
        0202 000b 0000 583230382d424f524400
        0203 0006 0000 002a 0a01
        0204 0004 0000 0100
        0102 000e 0001 c0a80006 ffffff00 c0a80001";
    /// Frame 3: Set IP 192.168.0.10/24 gateway 192.168.0.1, permanent.
    const SET_IP: &str = "fefd 04 00 01000001 0000 0012 0102 000e 0001 c0a8000a ffffff00 c0a80001";
    /// Frame 4: the Set response (control/response for ip/ip_parameter, no error).
    const SET_OK: &str = "fefd 04 01 01000001 0000 0008 0504 0003 010200 00";

    #[test]
    fn identify_request_is_discovery() {
        let bytes = hex(IDENTIFY_ALL);
        let pdu = Pdu::parse(&bytes).unwrap();
        assert_eq!(
            (
                pdu.service_id,
                pdu.service_type,
                pdu.xid,
                pdu.response_delay
            ),
            (5, 0, 0x0100_0001, 1)
        );
        let (facts, events) = run(&hex(IDENTIFY_ALL));
        assert!(facts.is_empty());
        assert_eq!(
            events,
            [("identify".into(), EventCategory::Discovery, "all".into(), 1)]
        );
    }

    #[test]
    fn identify_response_gives_identity() {
        let bytes = hex(IDENTIFY_RESPONSE);
        let pdu = Pdu::parse(&bytes).unwrap();
        let blocks: Vec<_> = pdu.blocks().map(Result::unwrap).collect();
        assert_eq!(blocks.len(), 6);
        assert_eq!(blocks[0].info, Some(0));
        assert_eq!(
            blocks[5].value,
            Value::IpSuite {
                ip: Ipv4Addr::new(192, 168, 0, 6),
                mask: Ipv4Addr::new(255, 255, 255, 0),
                gateway: Ipv4Addr::new(192, 168, 0, 1)
            }
        );
        let (facts, events) = run(&bytes);
        assert!(events.is_empty());
        assert_eq!(values(&facts, Attribute::Hostname), ["X208-BORD"]);
        assert_eq!(values(&facts, Attribute::Model), ["INC"]);
        assert_eq!(values(&facts, Attribute::ProductCode), ["pn:0x002a/0x0a01"]);
        assert_eq!(values(&facts, Attribute::Vendor), ["Siemens"]);
        assert_eq!(values(&facts, Attribute::Ip), ["192.168.0.6"]);
        assert_eq!(
            values(&facts, Attribute::Capability),
            ["profinet io-device"]
        );
        assert_eq!(values(&facts, Attribute::Service), ["pn_dcp"]);
        assert!(facts.iter().all(|f| f.source == Source::ProfinetDcp));
    }

    #[test]
    fn set_requests_are_configuration_changes() {
        let (_, events) = run(&hex(SET_IP));
        assert_eq!(
            events,
            [(
                "set_ip".into(),
                EventCategory::ConfigurationChange,
                "ip=192.168.0.10 mask=255.255.255.0 gateway=192.168.0.1 permanent".into(),
                1
            )]
        );
        let (facts, events) = run(&hex(SET_OK));
        assert!(events.is_empty());
        assert_eq!(values(&facts, Attribute::Service), Vec::<String>::new());
        // Start transaction, name of station (temporary), signal, end transaction.
        let set_name = hex("fefd 04 00 00000007 0000 0028
            0501 0002 0000
            0202 0009 0000 706c632d313031 00
            0503 0004 0000 0100
            0502 0002 0000
            0506 0002 0002");
        let (_, events) = run(&set_name);
        assert_eq!(
            events,
            [
                (
                    "set_name_of_station".into(),
                    EventCategory::ConfigurationChange,
                    "name=plc-101 temporary".into(),
                    1
                ),
                (
                    "signal".into(),
                    EventCategory::Diagnostics,
                    "value=0x0100".into(),
                    1
                ),
                (
                    "reset_to_factory".into(),
                    EventCategory::ConfigurationChange,
                    "mode=0x0002".into(),
                    1
                ),
            ]
        );
        // A refused set: block error 5.
        let refused = hex("fefd 04 01 00000007 0000 0008 0504 0003 020205 00");
        let (_, events) = run(&refused);
        assert_eq!(
            events,
            [(
                "error_response".into(),
                EventCategory::ConfigurationChange,
                "option=2/2 error=5".into(),
                1
            )]
        );
    }

    #[test]
    fn identify_filter_get_and_hello() {
        // icsnpp_profinet_io_cm_mixed_1.pcap frame 464: identify by name of station.
        let by_name = hex("fefe 05 00 00000001 0080 0012 0202 000e 76657273616d61782d706e733131");
        let (_, events) = run(&by_name);
        assert_eq!(events[0].2, "name=versamax-pns11");
        let get = hex("fefd 03 00 00000002 0000 0004 0102 0202");
        let (_, events) = run(&get);
        assert_eq!(
            events,
            [(
                "get".into(),
                EventCategory::Diagnostics,
                "ip/ip_parameter,device/name_of_station".into(),
                1
            )]
        );
        let hello = hex("fefc 06 00 00000003 0000 001c
            0202 0006 0000 696f2d31
            0203 0006 0000 00b0 015f
            0204 0004 0000 0200");
        let (facts, events) = run(&hello);
        assert_eq!(events[0].0, "hello");
        assert_eq!(events[0].2, "name=io-1");
        assert_eq!(values(&facts, Attribute::ProductCode), ["pn:0x00b0/0x015f"]);
        assert!(values(&facts, Attribute::Vendor).is_empty());
        assert_eq!(
            values(&facts, Attribute::Capability),
            ["profinet io-controller"]
        );
    }

    #[test]
    fn errors_and_truncation() {
        assert_eq!(
            Pdu::parse(&hex("c000 0102")),
            Err(DcpError::NotDcp { frame_id: 0xc000 })
        );
        // Not DCP: left to other dissectors.
        let mut out = Observations::default();
        assert!(!DcpDissector.on_frame(&frame(&hex("c000 0102"), [0; 6]), &mut out));
        // Every cut of a valid response is an error or fewer blocks, never a panic.
        let bytes = hex(IDENTIFY_RESPONSE);
        for cut in 0..bytes.len() {
            let _ = run(&bytes[..cut]);
        }
        let (_, events) = run(&bytes[..20]);
        assert_eq!(events[0].0, "malformed");
        assert_eq!(events[0].2, "DCP blocks truncated at 12");
        // A block running past the data length.
        let bad = hex("feff 05 01 00000001 0000 0008 0202 0010 0000 6162");
        assert!(matches!(
            Pdu::parse(&bad).unwrap().blocks().next(),
            Some(Err(DcpError::Truncated { .. }))
        ));
        // An IP block too short for an IP suite.
        let short = hex("feff 05 01 00000001 0000 0008 0102 0004 0000 c0a8");
        assert!(matches!(
            Pdu::parse(&short).unwrap().blocks().next(),
            Some(Err(DcpError::BadLength { .. }))
        ));
        // Many tiny blocks stop at MAX_BLOCKS.
        let mut many = hex("fefd 03 00 00000001 0000 0100");
        many.extend(std::iter::repeat_n([1u8, 2], 128).flatten());
        let pdu = Pdu::parse(&many).unwrap();
        let blocks: Vec<_> = pdu.blocks().collect();
        assert_eq!(blocks.len(), MAX_BLOCKS + 1);
        assert!(matches!(
            blocks.last(),
            Some(Err(DcpError::TooManyBlocks { .. }))
        ));
    }
}
