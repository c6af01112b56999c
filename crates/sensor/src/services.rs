//! Well-known service ports: the protocol a server port usually carries.
//!
//! This is a port-based *guess*, used to name connections and services until a dissector has
//! identified the protocol from the bytes themselves. Names are lower case and match the names
//! dissectors report.

/// Transport protocol numbers, as in the IP header.
pub mod ip_proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// The protocol usually served on `port` over `ip_protocol` (6 TCP, 17 UDP).
pub fn protocol_for_port(ip_protocol: u8, port: u16) -> Option<&'static str> {
    let tcp = ip_protocol == ip_proto::TCP;
    let udp = ip_protocol == ip_proto::UDP;
    let name = match port {
        20 | 21 if tcp => "ftp",
        22 if tcp => "ssh",
        23 if tcp => "telnet",
        25 | 587 if tcp => "smtp",
        53 => "dns",
        67 | 68 if udp => "dhcp",
        69 if udp => "tftp",
        80 | 8080 if tcp => "http",
        102 if tcp => "s7comm",
        110 if tcp => "pop3",
        123 if udp => "ntp",
        135 if tcp => "dcerpc",
        137 if udp => "nbns",
        138 if udp => "nbdgm",
        139 | 445 if tcp => "smb",
        143 if tcp => "imap",
        161 | 162 if udp => "snmp",
        389 => "ldap",
        443 | 8443 if tcp => "tls",
        502 => "modbus",
        514 if udp => "syslog",
        546 | 547 if udp => "dhcpv6",
        789 if tcp => "redlion",
        1089..=1091 => "ff-hse",
        1883 if tcp => "mqtt",
        1900 if udp => "ssdp",
        1911 if tcp => "fox",
        1962 if tcp => "pcworx",
        2222 if udp => "cip_io",
        2455 if tcp => "codesys",
        1217 if tcp => "codesys",
        11740 if tcp => "codesys",
        2404 if tcp => "iec104",
        3389 if tcp => "rdp",
        4000 if udp => "c37118",
        4712 | 4713 if tcp => "c37118",
        4840 if tcp => "opcua",
        5007 if tcp => "melsec",
        5094 => "hart_ip",
        5353 if udp => "mdns",
        5355 if udp => "llmnr",
        5683 if udp => "coap",
        5900..=5903 if tcp => "rfb",
        8883 if tcp => "mqtt-tls",
        9600 => "fins",
        18245 | 18246 if tcp => "srtp",
        20000 => "dnp3",
        34962..=34964 if udp => "pn_io",
        44818 => "enip",
        47808 if udp => "bacnet",
        48898 if tcp => "ads",
        3671 if udp => "knxip",
        6666 | 6667 if udp => "tuya",
        9999 if tcp => "tplink-shp",
        _ => return None,
    };
    Some(name)
}

/// Ports below 1024 and the registered industrial, IoT and IT service ports: when no handshake
/// tells who is the server, the side on such a port is (the lower one when both are). The
/// client ports of DHCP (68) and DHCPv6 (546) never are: a server's answer to a multicast request
/// is a flow of its own, which must not make the client a server.
pub fn is_well_known_server_port(ip_protocol: u8, port: u16) -> bool {
    let client_only = ip_protocol == ip_proto::UDP && matches!(port, 68 | 546);
    port != 0
        && !client_only
        && (port < 1024 || protocol_for_port(ip_protocol, port).is_some() || is_it_service(port))
}

/// Registered IT service ports above 1023 that name no protocol Ironward reports yet.
fn is_it_service(port: u16) -> bool {
    matches!(
        port,
        1433 | 1521 | 3306 | 5432 | 6379 | 8000 | 8008 | 8888 | 9090 | 9200
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn industrial_ports_are_named() {
        assert_eq!(protocol_for_port(ip_proto::TCP, 502), Some("modbus"));
        assert_eq!(protocol_for_port(ip_proto::TCP, 44818), Some("enip"));
        assert_eq!(protocol_for_port(ip_proto::UDP, 47808), Some("bacnet"));
        assert_eq!(protocol_for_port(ip_proto::UDP, 502), Some("modbus"));
    }

    #[test]
    fn ephemeral_ports_are_not_servers() {
        assert!(!is_well_known_server_port(ip_proto::TCP, 51_234));
        assert!(is_well_known_server_port(ip_proto::TCP, 443));
        assert!(!is_well_known_server_port(ip_proto::TCP, 0));
    }

    #[test]
    fn dhcp_client_ports_are_never_servers() {
        assert!(!is_well_known_server_port(ip_proto::UDP, 68));
        assert!(!is_well_known_server_port(ip_proto::UDP, 546));
        assert!(is_well_known_server_port(ip_proto::UDP, 547));
    }
}
