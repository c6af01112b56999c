/*!
Application-protocol dissectors.

Each module turns one protocol's bytes into typed messages (zero-copy views over `&[u8]` with a
typed error) and, from them, [`Fact`](ironward_model::Fact)s about devices and
[`Event`](ironward_model::Event)s, through the [`Dissector`] interface the sensor drives. Every
parser is bounded in time and memory and never panics on hostile input.

[`registry`] builds the registry of every dissector, in the order they are tried.
*/

pub mod bacnet;
pub mod ber;
pub mod cdp;
pub mod cip_io;
pub mod codesys;
pub mod cotp;
pub mod dhcp;
pub mod dhcpv6;
pub mod dissector;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod ethercat;
pub mod fins;
pub mod fox;
mod framing;
pub mod ftp;
pub mod goose;
pub mod hart_ip;
pub mod http;
pub mod id_table;
pub mod iec101;
pub mod iec104;
pub mod ipp;
pub mod iso_tsap;
pub mod lldp;
pub mod llmnr;
pub mod mdns;
pub mod melsec;
pub mod mms;
pub mod modbus;
pub mod mqtt;
pub mod nbns;
pub mod ntlmssp;
pub mod ntp;
pub mod observations;
pub mod opcua;
pub mod pjl;
pub mod pn_dcp;
pub mod pn_io;
pub mod rdp;
pub mod rfb;
pub mod rtsp;
pub mod s7comm;
pub mod s7comm_plus;
pub mod session;
pub mod sip;
pub mod smb;
pub mod snmp;
pub mod srtp;
pub mod ssdp;
pub mod ssh;
pub mod sv;
pub mod telnet;
#[cfg(test)]
mod test_support;
pub mod text;
pub mod tls;
pub mod upnp;
pub mod value;

pub use dissector::{Dissector, DissectorFactory, DissectorRegistry, FrameDissector, LinkFrame};
pub use observations::Observations;
pub use session::{Direction, FlowMeta, StreamChunk, Transport};

/// Every dissector of this crate, content-recognised protocols first, then port-recognised ones.
pub fn registry() -> DissectorRegistry {
    let mut registry = DissectorRegistry::new();
    // Recognised by content first (any port), then by well-known ports.
    tls::register(&mut registry);
    ssh::register(&mut registry);
    rfb::register(&mut registry);
    ipp::register(&mut registry);
    rtsp::register(&mut registry);
    sip::register(&mut registry);
    http::register(&mut registry);
    mqtt::register(&mut registry);
    smb::register(&mut registry);
    rdp::register(&mut registry);
    pjl::register(&mut registry);
    ftp::register(&mut registry);
    telnet::register(&mut registry);
    dhcp::register(&mut registry);
    dhcpv6::register(&mut registry);
    mdns::register(&mut registry);
    llmnr::register(&mut registry);
    nbns::register(&mut registry);
    dns::register(&mut registry);
    ssdp::register(&mut registry);
    snmp::register(&mut registry);
    ntp::register(&mut registry);
    // Industrial protocols.
    iso_tsap::register(&mut registry);
    modbus::register(&mut registry);
    iec104::register(&mut registry);
    dnp3::register(&mut registry);
    iec101::register(&mut registry);
    fox::register(&mut registry);
    bacnet::register(&mut registry);
    opcua::register(&mut registry);
    enip::register(&mut registry);
    cip_io::register(&mut registry);
    hart_ip::register(&mut registry);
    fins::register(&mut registry);
    melsec::register(&mut registry);
    srtp::register(&mut registry);
    codesys::register(&mut registry);
    pn_io::register(&mut registry);
    ethercat::register(&mut registry);
    // Link-layer frames.
    lldp::register(&mut registry);
    cdp::register(&mut registry);
    pn_dcp::register(&mut registry);
    pn_io::register_frames(&mut registry);
    ethercat::register_frames(&mut registry);
    goose::register(&mut registry);
    sv::register(&mut registry);
    // Helpers of other dissectors (UPnP descriptions ride on HTTP, NTLMSSP on SMB and HTTP).
    upnp::register(&mut registry);
    ntlmssp::register(&mut registry);
    registry
}
