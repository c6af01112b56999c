//! Facts: single, sourced statements about a device.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::{DeviceKey, Timestamp};

/// Which attribute of a device a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Attribute {
    /// Manufacturer of the device or of its network interface.
    Vendor,
    /// A name the device goes by.
    Hostname,
    /// An IP address the device uses.
    Ip,
    /// The MAC address is locally administered (often randomised for privacy).
    MacLocallyAdministered,
    /// Device type (PLC, HMI, printer, phone, ...).
    Type,
    /// Network role (router, switch, engineering workstation, ...).
    Role,
    /// Model name or number.
    Model,
    /// Firmware or software version.
    Firmware,
    /// Serial number.
    Serial,
    /// Operating system.
    Os,
    /// Windows workgroup or domain, DNS domain.
    Domain,
    /// Free-text self-description (SNMP sysDescr, LLDP system description).
    Description,
    /// Where the device says it is (SNMP sysLocation).
    Location,
    /// Who the device says is responsible for it (SNMP sysContact).
    Contact,
    /// SNMP sysObjectID.
    ObjectId,
    /// A service the device advertises (`_ipp._tcp`, a UPnP device or service type).
    Service,
    /// Server software the device announces in a banner (`OpenSSH_8.9p1`, `Apache/2.4.41`).
    Software,
    /// Client software the device announces (`User-Agent`, MQTT client id, SIP `User-Agent`).
    UserAgent,
    /// DHCP vendor class identifier (option 60, DHCPv6 vendor class).
    VendorClass,
    /// DHCP parameter request list (option 55), a fingerprint of the DHCP client.
    DhcpFingerprint,
    /// DHCP client identifier (option 61) or DHCPv6 DUID.
    ClientId,
    /// TLS client fingerprint, JA3 (MD5 hex).
    Ja3,
    /// TLS client fingerprint, JA4.
    Ja4,
    /// The server certificate the device presents (subject, issuer, validity).
    Certificate,
    /// Capabilities the device announces (LLDP/CDP: bridge, router, telephone, ...).
    Capability,
    /// A management address the device announces (LLDP/CDP).
    ManagementAddress,
    /// The device's own port it announces from (LLDP port id, CDP port).
    Port,
    /// VLAN the device announces (LLDP port VLAN, CDP native VLAN).
    Vlan,
    /// A URL where the device describes itself (SSDP `LOCATION`).
    Url,
    /// An insecure configuration seen on the device (see [`Finding`]).
    Finding,
    /// A controller's operating state (`run`, `stop`, `program`, with the key switch position
    /// where the protocol reports it).
    State,
    /// A vendor's product code or order number (`6ES7 516-3AN01-0AB0`, CIP product code `54`).
    ProductCode,
    /// An address the device answers to in an industrial protocol (`dnp3:10`,
    /// `bacnet:device:1234`, `iec104:ca:1`, `modbus:unit:1`).
    ProtocolAddress,
    /// The hardware revision of a module.
    Hardware,
}

impl Attribute {
    /// Every attribute, in declaration order.
    pub const ALL: [Attribute; 34] = [
        Self::Vendor,
        Self::Hostname,
        Self::Ip,
        Self::MacLocallyAdministered,
        Self::Type,
        Self::Role,
        Self::Model,
        Self::Firmware,
        Self::Serial,
        Self::Os,
        Self::Domain,
        Self::Description,
        Self::Location,
        Self::Contact,
        Self::ObjectId,
        Self::Service,
        Self::Software,
        Self::UserAgent,
        Self::VendorClass,
        Self::DhcpFingerprint,
        Self::ClientId,
        Self::Ja3,
        Self::Ja4,
        Self::Certificate,
        Self::Capability,
        Self::ManagementAddress,
        Self::Port,
        Self::Vlan,
        Self::Url,
        Self::Finding,
        Self::State,
        Self::ProductCode,
        Self::ProtocolAddress,
        Self::Hardware,
    ];

    /// The attribute's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Vendor => "vendor",
            Self::Hostname => "hostname",
            Self::Ip => "ip",
            Self::MacLocallyAdministered => "mac_locally_administered",
            Self::Type => "type",
            Self::Role => "role",
            Self::Model => "model",
            Self::Firmware => "firmware",
            Self::Serial => "serial",
            Self::Os => "os",
            Self::Domain => "domain",
            Self::Description => "description",
            Self::Location => "location",
            Self::Contact => "contact",
            Self::ObjectId => "object_id",
            Self::Service => "service",
            Self::Software => "software",
            Self::UserAgent => "user_agent",
            Self::VendorClass => "vendor_class",
            Self::DhcpFingerprint => "dhcp_fingerprint",
            Self::ClientId => "client_id",
            Self::Ja3 => "ja3",
            Self::Ja4 => "ja4",
            Self::Certificate => "certificate",
            Self::Capability => "capability",
            Self::ManagementAddress => "management_address",
            Self::Port => "port",
            Self::Vlan => "vlan",
            Self::Url => "url",
            Self::Finding => "finding",
            Self::State => "state",
            Self::ProductCode => "product_code",
            Self::ProtocolAddress => "protocol_address",
            Self::Hardware => "hardware",
        }
    }

    /// The attribute with this JSON name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether a device has one value of this attribute (the strongest fact wins and conflicts
    /// are explained) rather than a set of values (addresses, names, services, findings).
    pub const fn is_single_valued(self) -> bool {
        matches!(
            self,
            Self::Vendor
                | Self::Type
                | Self::Role
                | Self::Model
                | Self::Firmware
                | Self::Serial
                | Self::Os
                | Self::State
                | Self::ProductCode
                | Self::Hardware
        )
    }
}

/// Where a fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// The IEEE OUI registry (MA-L, MA-M, MA-S) entry of the MAC address prefix.
    Oui,
    /// The MAC address itself (its U/L bit).
    Mac,
    /// An ARP request or reply binding a MAC to an IPv4 address.
    Arp,
    /// IPv6 Neighbor Discovery (solicitation, advertisement, router advertisement).
    Ndp,
    /// Addresses seen in IP traffic on the local segment.
    Traffic,
    /// DHCPv4.
    Dhcp,
    /// DHCPv6.
    Dhcpv6,
    /// A DNS answer (what a name server says about an address).
    Dns,
    /// Multicast DNS and DNS service discovery.
    Mdns,
    /// Link-Local Multicast Name Resolution.
    Llmnr,
    /// NetBIOS name service and browser announcements.
    Nbns,
    /// SSDP announcements and search responses.
    Ssdp,
    /// A UPnP device description document.
    Upnp,
    /// LLDP.
    Lldp,
    /// Cisco Discovery Protocol.
    Cdp,
    /// SNMP responses and engine ids.
    Snmp,
    /// HTTP/1.x headers and pages.
    Http,
    /// TLS handshakes and certificates.
    Tls,
    /// SSH banners.
    Ssh,
    /// Telnet sessions.
    Telnet,
    /// RFB (VNC) handshakes.
    Rfb,
    /// MQTT.
    Mqtt,
    /// Printer Job Language (raw printing on port 9100).
    Pjl,
    /// Internet Printing Protocol.
    Ipp,
    /// RTSP.
    Rtsp,
    /// SIP.
    Sip,
    /// SMB (1, 2 and 3).
    Smb,
    /// NTLMSSP authentication messages (inside SMB, HTTP, RPC).
    Ntlmssp,
    /// RDP connection requests.
    Rdp,
    /// FTP banners and commands.
    Ftp,
    /// NTP.
    Ntp,
    /// Modbus/TCP and Modbus/UDP (Read Device Identification, Report Server ID).
    Modbus,
    /// Siemens S7comm (SZL module and component identification).
    S7comm,
    /// Siemens S7comm-plus.
    S7commPlus,
    /// EtherNet/IP and CIP (ListIdentity, Identity object).
    Enip,
    /// DNP3.
    Dnp3,
    /// IEC 60870-5-104.
    Iec104,
    /// BACnet/IP (I-Am, device object properties).
    Bacnet,
    /// OPC UA binary (endpoint descriptions, application descriptions).
    Opcua,
    /// PROFINET DCP (Identify responses).
    ProfinetDcp,
    /// PROFINET IO (RT and CM).
    ProfinetIo,
    /// IEC 61850 MMS and ICCP/TASE.2 (Identify, name lists).
    Mms,
    /// IEC 61850 GOOSE.
    Goose,
    /// IEC 61850 Sampled Values.
    Sv,
    /// Omron FINS.
    Fins,
    /// Mitsubishi MELSEC MC protocol.
    Melsec,
    /// GE SRTP.
    Srtp,
    /// CODESYS V3.
    Codesys,
    /// HART-IP.
    HartIp,
    /// Niagara Fox.
    Fox,
    /// EtherCAT.
    Ethercat,
    /// IEC 60870-5-101 carried over TCP.
    Iec101,
    /// What the device does on the network: the operations it performs and answers (an engineering workstation downloads programs, a controller answers polls).
    Behaviour,
    /// A device-classification rule applied to the device's other facts.
    Rules,
}

/// How a source knows what it says, strongest first: precedence between conflicting facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Guessed from registries (the OUI) — weakest.
    Registry,
    /// Derived from other facts by a classification rule.
    Inferred,
    /// Said about the device by another device (a DNS server, a TLS client's SNI).
    Hearsay,
    /// Observed from the device's own traffic (ARP, addresses it uses).
    Observed,
    /// Announced by the device itself (DHCP, mDNS, SSDP, LLDP, SNMP, banners) — strongest.
    Announced,
}

impl Provenance {
    /// A phrase for explanations ("announced by the device").
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Registry => "guessed from a registry",
            Self::Inferred => "inferred by a classification rule",
            Self::Hearsay => "reported by another device",
            Self::Observed => "observed in the device's traffic",
            Self::Announced => "announced by the device",
        }
    }
}

impl Source {
    /// The source's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Oui => "oui",
            Self::Mac => "mac",
            Self::Arp => "arp",
            Self::Ndp => "ndp",
            Self::Traffic => "traffic",
            Self::Dhcp => "dhcp",
            Self::Dhcpv6 => "dhcpv6",
            Self::Dns => "dns",
            Self::Mdns => "mdns",
            Self::Llmnr => "llmnr",
            Self::Nbns => "nbns",
            Self::Ssdp => "ssdp",
            Self::Upnp => "upnp",
            Self::Lldp => "lldp",
            Self::Cdp => "cdp",
            Self::Snmp => "snmp",
            Self::Http => "http",
            Self::Tls => "tls",
            Self::Ssh => "ssh",
            Self::Telnet => "telnet",
            Self::Rfb => "rfb",
            Self::Mqtt => "mqtt",
            Self::Pjl => "pjl",
            Self::Ipp => "ipp",
            Self::Rtsp => "rtsp",
            Self::Sip => "sip",
            Self::Smb => "smb",
            Self::Ntlmssp => "ntlmssp",
            Self::Rdp => "rdp",
            Self::Ftp => "ftp",
            Self::Ntp => "ntp",
            Self::Modbus => "modbus",
            Self::S7comm => "s7comm",
            Self::S7commPlus => "s7comm_plus",
            Self::Enip => "enip",
            Self::Dnp3 => "dnp3",
            Self::Iec104 => "iec104",
            Self::Bacnet => "bacnet",
            Self::Opcua => "opcua",
            Self::ProfinetDcp => "pn_dcp",
            Self::ProfinetIo => "pn_io",
            Self::Mms => "mms",
            Self::Goose => "goose",
            Self::Sv => "sv",
            Self::Fins => "fins",
            Self::Melsec => "melsec",
            Self::Srtp => "srtp",
            Self::Codesys => "codesys",
            Self::HartIp => "hart_ip",
            Self::Fox => "fox",
            Self::Ethercat => "ethercat",
            Self::Iec101 => "iec101",
            Self::Behaviour => "behaviour",
            Self::Rules => "rules",
        }
    }

    /// How this source usually knows what it says. A dissector reporting hearsay (a name a
    /// client used for a server) lowers the fact's confidence instead (see [`Fact::hearsay`]).
    pub const fn provenance(self) -> Provenance {
        match self {
            Self::Oui => Provenance::Registry,
            Self::Rules | Self::Behaviour => Provenance::Inferred,
            Self::Dns => Provenance::Hearsay,
            Self::Mac | Self::Arp | Self::Ndp | Self::Traffic => Provenance::Observed,
            _ => Provenance::Announced,
        }
    }

    /// How much this source is trusted for identity attributes, 0–100: what a device announces
    /// about itself beats what others say about it, which beats the OUI registry.
    pub const fn default_confidence(self) -> u8 {
        match self {
            Self::Mac => 100,
            Self::Snmp | Self::Lldp | Self::Cdp | Self::Upnp => 95,
            // Identity answers of industrial protocols come from the controller's firmware.
            Self::Modbus
            | Self::S7comm
            | Self::Enip
            | Self::Bacnet
            | Self::ProfinetDcp
            | Self::Mms
            | Self::Opcua => 95,
            Self::Behaviour => 70,
            Self::Arp | Self::Ndp => 90,
            Self::Traffic => 70,
            Self::Dns => 60,
            Self::Rules => 50,
            Self::Oui => 40,
            _ => 90,
        }
    }
}

/// Confidence of hearsay: what one device says about another (a client's SNI or `Host` for a
/// server, a DNS answer).
pub const HEARSAY_CONFIDENCE: u8 = 60;

/// A statement about a device: "MAC 00:80:f4:.. has vendor Schneider Electric (source: oui)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The device the fact is about.
    pub subject: DeviceKey,
    /// What the fact is about.
    pub attribute: Attribute,
    /// The value, as shown to the user (borrowed when it comes from a static table, such as an
    /// OUI vendor name, so that thousands of devices do not each copy it).
    pub value: Cow<'static, str>,
    /// 0–100: how much the source is trusted for this attribute.
    pub confidence: u8,
    /// Where it came from.
    pub source: Source,
    /// When it was (last) observed.
    pub seen_at: Timestamp,
}

impl Fact {
    /// A fact with the source's default confidence.
    pub fn new(
        subject: DeviceKey,
        attribute: Attribute,
        value: impl Into<Cow<'static, str>>,
        source: Source,
        seen_at: Timestamp,
    ) -> Self {
        Self {
            subject,
            attribute,
            value: value.into(),
            confidence: source.default_confidence(),
            source,
            seen_at,
        }
    }

    /// The same fact, as said by another device about this one (lower confidence).
    pub fn hearsay(mut self) -> Self {
        self.confidence = self.confidence.min(HEARSAY_CONFIDENCE);
        self
    }

    /// The fact's provenance: its source's, or hearsay when its confidence was lowered to it.
    pub fn provenance(&self) -> Provenance {
        let provenance = self.source.provenance();
        if provenance == Provenance::Announced && self.confidence <= HEARSAY_CONFIDENCE {
            Provenance::Hearsay
        } else {
            provenance
        }
    }
}
