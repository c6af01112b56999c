//! Whole-frame builders for tests and traffic generators, on top of the `Repr::emit`s.
//!
//! They fill in what the layers must agree on (ether type, IP protocol and lengths, transport
//! checksums over the pseudo-header), so a generator only states the interesting fields. Frames
//! are not padded to the Ethernet minimum of 60 bytes, like frames captured on the sending host.

use std::net::IpAddr;

use crate::ethernet::{self, EtherType};
use crate::ip::IpProtocol;
use crate::{arp, ipv4, ipv6, tcp, udp, EmitError};

/// The network layer of a built frame. Its protocol and payload length are overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    /// IPv4 without options.
    V4(ipv4::Repr),
    /// IPv6 without extension headers.
    V6(ipv6::Repr),
}

impl Ip {
    fn addrs(&self) -> (IpAddr, IpAddr) {
        match self {
            Ip::V4(r) => (r.src_addr.into(), r.dst_addr.into()),
            Ip::V6(r) => (r.src_addr.into(), r.dst_addr.into()),
        }
    }

    const fn header_len(&self) -> usize {
        match self {
            Ip::V4(_) => ipv4::HEADER_LEN,
            Ip::V6(_) => ipv6::HEADER_LEN,
        }
    }
}

/// The transport layer of a built frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    /// TCP; the checksum is computed.
    Tcp(tcp::Repr<'a>),
    /// UDP; the checksum is computed.
    Udp(udp::Repr<'a>),
    /// Any protocol, bytes written as given (ICMP checksums are the caller's).
    Raw {
        /// IP protocol number.
        protocol: u8,
        /// The bytes after the IP header.
        payload: &'a [u8],
    },
}

impl L4<'_> {
    const fn len(&self) -> usize {
        match self {
            L4::Tcp(t) => t.buffer_len(),
            L4::Udp(u) => u.buffer_len(),
            L4::Raw { payload, .. } => payload.len(),
        }
    }

    const fn protocol(&self) -> IpProtocol {
        match self {
            L4::Tcp(_) => IpProtocol::TCP,
            L4::Udp(_) => IpProtocol::UDP,
            L4::Raw { protocol, .. } => IpProtocol(*protocol),
        }
    }
}

/// Length of the frame [`write_frame`] builds.
pub const fn frame_len(eth: &ethernet::Repr, ip: &Ip, l4: &L4<'_>) -> usize {
    eth.buffer_len() + ip.header_len() + l4.len()
}

/// Writes an Ethernet/IP/transport frame at the start of `buf`; returns its length.
pub fn write_frame(
    buf: &mut [u8],
    eth: &ethernet::Repr,
    ip: &Ip,
    l4: &L4<'_>,
) -> Result<usize, EmitError> {
    let total = frame_len(eth, ip, l4);
    let buf = buf.get_mut(..total).ok_or(EmitError)?;
    let ethertype = match ip {
        Ip::V4(_) => EtherType::IPV4,
        Ip::V6(_) => EtherType::IPV6,
    };
    let at = ethernet::Repr { ethertype, ..*eth }.emit(buf)?;
    let rest = &mut buf[at..];
    let at = match *ip {
        Ip::V4(r) => ipv4::Repr {
            protocol: l4.protocol(),
            payload_len: l4.len(),
            ..r
        }
        .emit(rest)?,
        Ip::V6(r) => ipv6::Repr {
            next_header: l4.protocol(),
            payload_len: l4.len(),
            ..r
        }
        .emit(rest)?,
    };
    let rest = &mut rest[at..];
    let (src, dst) = ip.addrs();
    match l4 {
        L4::Tcp(t) => t.emit(rest, src, dst)?,
        L4::Udp(u) => u.emit(rest, src, dst)?,
        L4::Raw { payload, .. } => {
            rest.get_mut(..payload.len())
                .ok_or(EmitError)?
                .copy_from_slice(payload);
            payload.len()
        }
    };
    Ok(total)
}

/// Builds an Ethernet/IP/transport frame.
pub fn frame(eth: &ethernet::Repr, ip: &Ip, l4: &L4<'_>) -> Result<Vec<u8>, EmitError> {
    let mut buf = vec![0u8; frame_len(eth, ip, l4)];
    write_frame(&mut buf, eth, ip, l4)?;
    Ok(buf)
}

/// Builds an Ethernet/IPv4/TCP frame.
pub fn ethernet_ipv4_tcp(
    eth: &ethernet::Repr,
    ip: &ipv4::Repr,
    tcp: &tcp::Repr<'_>,
) -> Result<Vec<u8>, EmitError> {
    frame(eth, &Ip::V4(*ip), &L4::Tcp(*tcp))
}

/// Builds an Ethernet/IPv4/UDP frame.
pub fn ethernet_ipv4_udp(
    eth: &ethernet::Repr,
    ip: &ipv4::Repr,
    udp: &udp::Repr<'_>,
) -> Result<Vec<u8>, EmitError> {
    frame(eth, &Ip::V4(*ip), &L4::Udp(*udp))
}

/// Builds an Ethernet/IPv6/TCP frame.
pub fn ethernet_ipv6_tcp(
    eth: &ethernet::Repr,
    ip: &ipv6::Repr,
    tcp: &tcp::Repr<'_>,
) -> Result<Vec<u8>, EmitError> {
    frame(eth, &Ip::V6(*ip), &L4::Tcp(*tcp))
}

/// Builds an Ethernet/IPv6/UDP frame.
pub fn ethernet_ipv6_udp(
    eth: &ethernet::Repr,
    ip: &ipv6::Repr,
    udp: &udp::Repr<'_>,
) -> Result<Vec<u8>, EmitError> {
    frame(eth, &Ip::V6(*ip), &L4::Udp(*udp))
}

/// Builds an Ethernet/ARP frame (Ethernet/IPv4 flavour).
pub fn ethernet_arp(eth: &ethernet::Repr, arp: &arp::Repr) -> Result<Vec<u8>, EmitError> {
    let eth = ethernet::Repr {
        ethertype: EtherType::ARP,
        ..*eth
    };
    let mut buf = vec![0u8; eth.buffer_len() + arp.buffer_len()];
    let at = eth.emit(&mut buf)?;
    arp.emit(&mut buf[at..])?;
    Ok(buf)
}
