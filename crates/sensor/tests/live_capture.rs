//! Live AF_PACKET capture against a veth pair whose far end lives in a network namespace the
//! test creates (and always removes).
//!
//! Traffic is ICMP echo sent from the root namespace, through a raw socket bound to the test's
//! own interface, to the address of the far end; the far end's kernel answers. Nothing else is
//! ever addressed. Needs root and iproute2; otherwise each test prints why it is skipped and
//! passes.
#![cfg(target_os = "linux")]
// The raw ICMP socket that generates traffic (no `ping` binary needed) is the only unsafe code.
#![allow(unsafe_code)]

mod netns;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ironward_sensor::capture::live::{LiveCapture, LiveConfig, LiveError};
use ironward_wire::LinkType;
use netns::{ip, missing_prerequisite};

const VLAN: u16 = 42;
const ECHOES: u16 = 3;

fn skip(reason: &str) {
    println!("skipped: live capture test needs root and iproute2 ({reason})");
}

/// MAC addresses of the two veth ends (locally administered; every test has its own link, so
/// reusing them across tests is harmless).
const HOST_MAC: [u8; 6] = [0x02, 0x49, 0x57, 0x00, 0x00, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0x49, 0x57, 0x00, 0x00, 0x02];

/// A veth pair: `host` in the root namespace (captured), `peer` in namespace `ns`. Dropping it
/// deletes the link and the namespace, also when the test panics.
struct TestNet {
    ns: String,
    host: String,
    peer: String,
    host_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // Deleting one end of a veth deletes its peer too.
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

impl TestNet {
    /// Builds the network for test number `test` (unique per test, so tests can run in
    /// parallel). `Err` carries a reason to skip when the environment cannot do it.
    fn new(test: u32) -> Result<Self, String> {
        let pid = std::process::id();
        // 10.213.N.0/24, N differing per test and (mostly) per process. An overlap with another
        // run would not misroute anything: the root namespace only sends through sockets bound
        // to this test's link, and the peer answers from its own namespace.
        let net = u8::try_from((pid % 120) * 2 + test).map_err(|e| e.to_string())?;
        let ns = format!("iwtest-{pid}-{test}");
        ip(&["netns", "add", &ns])?;
        let this = Self {
            ns,
            host: format!("iw{pid}a{test}"),
            peer: format!("iw{pid}b{test}"),
            host_ip: Ipv4Addr::new(10, 213, net, 1),
            peer_ip: Ipv4Addr::new(10, 213, net, 2),
        };
        let (host_mac, peer_mac) = (mac_str(HOST_MAC), mac_str(PEER_MAC));
        let (host, peer) = (this.host.as_str(), this.peer.as_str());
        ip(&[
            "link", "add", host, "address", &host_mac, "type", "veth", "peer", "name", peer,
            "address", &peer_mac,
        ])?;
        // From here on a failure is a bug, not a missing prerequisite: fail loudly (the guard
        // still cleans up while unwinding).
        if let Err(e) = this.configure() {
            panic!("network setup failed: {e}");
        }
        Ok(this)
    }

    fn configure(&self) -> Result<(), String> {
        let (ns, host, peer) = (self.ns.as_str(), self.host.as_str(), self.peer.as_str());
        ip(&["link", "set", peer, "netns", ns])?;
        ip(&["addr", "add", &format!("{}/24", self.host_ip), "dev", host])?;
        ip(&["link", "set", host, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", self.peer_ip),
            "dev",
            peer,
        ])?;
        ip(&["-n", ns, "link", "set", peer, "up"])
    }

    /// Sends raw Ethernet frames out of the peer end, from inside the namespace: a thread joins
    /// the namespace (`setns` affects only the calling thread) and opens an AF_PACKET socket
    /// there. This is how tagged frames reach the captured end without kernel VLAN devices.
    fn send_from_peer(&self, frames: Vec<Vec<u8>>) {
        let ns_path = format!("/run/netns/{}", self.ns);
        let peer = std::ffi::CString::new(self.peer.as_str()).expect("interface name");
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&ns_path).expect("open namespace");
            // SAFETY: `ns` is an open namespace descriptor; only this thread changes namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            // SAFETY: plain system call.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            assert!(
                fd >= 0,
                "packet socket: {}",
                std::io::Error::last_os_error()
            );
            // SAFETY: `fd` is fresh and owned by nobody else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: `peer` is a valid NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(peer.as_ptr()) };
            assert!(ifindex > 0, "no {peer:?} in the namespace");
            let addr = libc::sockaddr_ll {
                sll_family: libc::AF_PACKET as u16,
                sll_protocol: 0,
                sll_ifindex: ifindex as i32,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 6,
                sll_addr: [
                    HOST_MAC[0],
                    HOST_MAC[1],
                    HOST_MAC[2],
                    HOST_MAC[3],
                    HOST_MAC[4],
                    HOST_MAC[5],
                    0,
                    0,
                ],
            };
            for frame in frames {
                // SAFETY: `frame` and `addr` are valid for the lengths passed during the call.
                let n = unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
                        frame.as_ptr().cast(),
                        frame.len(),
                        0,
                        (&addr as *const libc::sockaddr_ll).cast(),
                        std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                    )
                };
                assert_eq!(
                    n,
                    frame.len() as isize,
                    "sendto: {}",
                    std::io::Error::last_os_error()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .join()
        .expect("sender thread");
    }
}

fn mac_str(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// An Ethernet frame from the peer to the host carrying an ICMP echo request, with an optional
/// `(tpid, tci)` tag after the MAC addresses.
fn echo_frame(net: &TestNet, tag: Option<(u16, u16)>, id: u16, seq: u16) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&HOST_MAC);
    frame.extend_from_slice(&PEER_MAC);
    if let Some((tpid, tci)) = tag {
        frame.extend_from_slice(&tpid.to_be_bytes());
        frame.extend_from_slice(&tci.to_be_bytes());
    }
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    let icmp = icmp_echo(id, seq);
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    ip[2..4].copy_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&net.peer_ip.octets());
    ip.extend_from_slice(&net.host_ip.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    frame
}

/// Sets up the network or explains why the test is skipped.
fn test_net(test: u32) -> Option<TestNet> {
    if let Some(reason) = missing_prerequisite() {
        skip(&reason);
        return None;
    }
    match TestNet::new(test) {
        Ok(net) => Some(net),
        Err(reason) => {
            skip(&reason);
            None
        }
    }
}

fn capture_config(interface: &str) -> LiveConfig {
    LiveConfig {
        interface: interface.into(),
        // Frames are read only after all traffic was sent, and with a 10 ms block timeout
        // nearly every frame retires its own block: keep enough blocks for all of them.
        block_size: 1 << 16,
        block_count: 64,
        snaplen: 2048,
        block_timeout_ms: 10,
        ..LiveConfig::default()
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request message with its checksum.
fn icmp_echo(id: u16, seq: u16) -> [u8; 32] {
    let mut msg = [0u8; 8 + 24];
    msg[0] = 8; // echo request
    msg[4..6].copy_from_slice(&id.to_be_bytes());
    msg[6..8].copy_from_slice(&seq.to_be_bytes());
    msg[8..].copy_from_slice(b"ironward live capture ok");
    let sum = checksum(&msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    msg
}

/// Sends ICMP echo requests through a raw socket bound to one interface, so they can only
/// leave through the test's own link.
struct Pinger(OwnedFd);

impl Pinger {
    fn new(device: &str) -> Self {
        // SAFETY: plain system call.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` is fresh and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the device name buffer is valid for its length during the call.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                device.as_ptr().cast(),
                device.len() as libc::socklen_t,
            )
        };
        assert_eq!(
            rc,
            0,
            "SO_BINDTODEVICE: {}",
            std::io::Error::last_os_error()
        );
        Self(fd)
    }

    fn echo(&self, dst: Ipv4Addr, id: u16, seq: u16) {
        let msg = icmp_echo(id, seq);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(dst).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `msg` and `addr` are valid for the lengths passed during the call.
        let n = unsafe {
            libc::sendto(
                self.0.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        assert_eq!(
            n,
            msg.len() as isize,
            "sendto: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// An ICMP echo found in a captured Ethernet frame, decoded by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Echo {
    /// The outer tag as it appears in the frame: `(tpid, tci)`.
    tag: Option<(u16, u16)>,
    reply: bool,
    id: u16,
    seq: u16,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The outer 802.1Q / 802.1ad tag of a frame, `None` when untagged.
fn frame_tag(frame: &[u8]) -> Option<(u16, u16)> {
    match be16(frame, 12)? {
        tpid @ (0x8100 | 0x88a8) => Some((tpid, be16(frame, 14)?)),
        _ => None,
    }
}

/// The VLAN id of a frame, `None` when untagged.
fn frame_vlan(frame: &[u8]) -> Option<u16> {
    frame_tag(frame).map(|(_, tci)| tci & 0x0fff)
}

/// Ethernet (optionally one tag) / IPv4 (ethertype 0x0800) / ICMP (protocol 1) echo.
fn parse_echo(frame: &[u8]) -> Option<Echo> {
    let tag = frame_tag(frame);
    let l3 = if tag.is_some() { 18 } else { 14 };
    if be16(frame, l3 - 2)? != 0x0800 {
        return None;
    }
    let ip = frame.get(l3..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if ip.first()? >> 4 != 4 || *ip.get(9)? != 1 {
        return None;
    }
    let icmp = ip.get(ihl..)?;
    let reply = match icmp.first()? {
        0 => true,
        8 => false,
        _ => return None,
    };
    Some(Echo {
        tag,
        reply,
        id: be16(icmp, 4)?,
        seq: be16(icmp, 6)?,
    })
}

/// What one capture saw.
#[derive(Debug, Default)]
struct Seen {
    frames: usize,
    echoes: BTreeSet<Echo>,
    vlans: BTreeSet<Option<u16>>,
}

/// Reads frames until `done` says enough was seen, or the capture has been idle for `idle`, or
/// `limit` passes; checks the invariants every frame must satisfy on the way.
fn collect(
    capture: &mut LiveCapture,
    id: u16,
    idle: Duration,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) -> Seen {
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as i64;
    let end = Instant::now() + limit;
    let mut seen = Seen::default();
    while !done(&seen) && Instant::now() < end {
        let Some(frame) = capture.next_frame(idle) else {
            break;
        };
        assert_eq!(frame.linktype, LinkType::ETHERNET);
        assert_eq!(frame.interface, 0);
        assert!(frame.data.len() >= 14, "runt frame {:?}", frame.data);
        assert!(frame.original_len as usize >= frame.data.len());
        assert!(
            (frame.timestamp_ns - now_ns).abs() < 60_000_000_000,
            "timestamp {} far from now {now_ns}",
            frame.timestamp_ns
        );
        seen.frames += 1;
        seen.vlans.insert(frame_vlan(frame.data));
        if let Some(echo) = parse_echo(frame.data).filter(|e| e.id == id) {
            // Nothing was cut (snaplen 2048), and a re-inserted tag counts in the wire length.
            assert_eq!(frame.original_len as usize, frame.data.len(), "{echo:?}");
            seen.echoes.insert(echo);
        }
    }
    seen
}

fn echoes(tag: Option<(u16, u16)>, id: u16, reply: bool) -> BTreeSet<Echo> {
    (1..=ECHOES)
        .map(|seq| Echo {
            tag,
            reply,
            id,
            seq,
        })
        .collect()
}

fn has_all(seen: &Seen, want: &BTreeSet<Echo>) -> bool {
    want.is_subset(&seen.echoes)
}

#[test]
fn captures_icmp_echo_both_directions() {
    let Some(net) = test_net(0) else { return };
    let mut all = LiveCapture::open(&capture_config(&net.host)).expect("open capture");
    assert_eq!(all.linktype(), LinkType::ETHERNET);
    let mut incoming = LiveCapture::open(&LiveConfig {
        ignore_outgoing: true,
        ..capture_config(&net.host)
    })
    .expect("open capture with ignore_outgoing");

    // Requests from the root namespace to the peer; the peer's kernel answers.
    let id = std::process::id() as u16;
    let pinger = Pinger::new(&net.host);
    for seq in 1..=ECHOES {
        pinger.echo(net.peer_ip, id, seq);
        std::thread::sleep(Duration::from_millis(20));
    }

    let requests = echoes(None, id, false);
    let replies = echoes(None, id, true);
    let want: BTreeSet<Echo> = requests.union(&replies).copied().collect();
    let seen = collect(
        &mut all,
        id,
        Duration::from_secs(2),
        Duration::from_secs(4),
        |s| has_all(s, &want),
    );
    assert_eq!(seen.echoes, want, "echo requests and replies, untagged");
    assert_eq!(seen.vlans, BTreeSet::from([None]));

    // Outgoing frames (our requests) are dropped in the kernel; replies still arrive.
    let seen = collect(
        &mut incoming,
        id,
        Duration::from_millis(500),
        Duration::from_secs(4),
        |_| false,
    );
    assert_eq!(
        seen.echoes, replies,
        "ignore_outgoing keeps only what the peer sent"
    );

    let stats = all.stats();
    assert!(stats.packets >= 6, "{stats:?}");
    assert_eq!(stats.drops, 0, "{stats:?}");
    // The kernel resets its counters on read; ours keep the total.
    assert!(all.stats().packets >= stats.packets);
    assert!(incoming.stats().packets > 0);
}

#[test]
fn vlan_tag_is_reinserted_and_filtered() {
    let Some(net) = test_net(1) else { return };
    let open = |vlan_filter: Option<Vec<u16>>| {
        LiveCapture::open(&LiveConfig {
            vlan_filter,
            ..capture_config(&net.host)
        })
        .expect("open capture")
    };
    let mut all = open(None);
    let mut only42 = open(Some(vec![VLAN]));
    let mut untagged = open(Some(vec![0]));
    let mut other = open(Some(vec![7]));

    // From the peer: echo requests tagged VLAN 42 (priority 5, so the whole TCI is checked),
    // one of them with the 802.1ad TPID. The receiving kernel moves the tag out of the frame
    // into metadata; the capture must put it back as it was. The host has no VLAN 42 interface
    // and ignores them. Untagged traffic: echo requests from the host, answered by the peer.
    let id = (std::process::id() as u16).wrapping_add(1);
    let tci = (5 << 13) | VLAN;
    let tpid = |seq| if seq == ECHOES { 0x88a8 } else { 0x8100 };
    let tagged = (1..=ECHOES).map(|seq| echo_frame(&net, Some((tpid(seq), tci)), id, seq));
    net.send_from_peer(tagged.collect());
    let pinger = Pinger::new(&net.host);
    for seq in 1..=ECHOES {
        pinger.echo(net.peer_ip, id, seq);
        std::thread::sleep(Duration::from_millis(20));
    }

    let want42: BTreeSet<Echo> = (1..=ECHOES)
        .map(|seq| Echo {
            tag: Some((tpid(seq), tci)),
            reply: false,
            id,
            seq,
        })
        .collect();
    let mut want0 = echoes(None, id, false);
    want0.extend(echoes(None, id, true));
    let limit = Duration::from_secs(4);

    // No filter: everything, with the stripped tags back in place.
    let want_all: BTreeSet<Echo> = want42.union(&want0).copied().collect();
    let seen = collect(&mut all, id, Duration::from_secs(2), limit, |s| {
        has_all(s, &want_all)
    });
    assert_eq!(seen.echoes, want_all, "drops: {:?}", all.stats());
    assert!(seen.vlans.contains(&Some(VLAN)), "{:?}", seen.vlans);

    // Filter 42: only VLAN 42 frames, all of them.
    let seen = collect(&mut only42, id, Duration::from_millis(500), limit, |_| {
        false
    });
    assert_eq!(seen.echoes, want42);
    assert_eq!(seen.vlans, BTreeSet::from([Some(VLAN)]));

    // Filter 0: untagged frames count as VLAN 0.
    let seen = collect(&mut untagged, id, Duration::from_millis(500), limit, |_| {
        false
    });
    assert_eq!(seen.echoes, want0);
    assert_eq!(seen.vlans, BTreeSet::from([None]));

    // Filter 7: nothing passes, though the kernel delivered the frames.
    let seen = collect(&mut other, id, Duration::from_millis(300), limit, |_| false);
    assert_eq!(seen.frames, 0, "{seen:?}");
    let stats = other.stats();
    assert!(stats.packets >= 9, "{stats:?}");
    assert!(stats.vlan_filtered >= 9, "{stats:?}");
}

#[test]
fn ring_wraps_around_and_survives_overflow() {
    let Some(net) = test_net(2) else { return };
    // Two blocks: every round trip below retires at least one, so the ring wraps many times.
    let mut capture = LiveCapture::open(&LiveConfig {
        block_count: 2,
        ..capture_config(&net.host)
    })
    .expect("open capture");
    let id = (std::process::id() as u16).wrapping_add(2);
    let pinger = Pinger::new(&net.host);
    let round_trip = |seq| -> BTreeSet<Echo> {
        [false, true]
            .map(|reply| Echo {
                tag: None,
                reply,
                id,
                seq,
            })
            .into()
    };
    let idle = Duration::from_secs(1);
    let limit = Duration::from_secs(2);

    for seq in 1..=12 {
        pinger.echo(net.peer_ip, id, seq);
        let want = round_trip(seq);
        let seen = collect(&mut capture, id, idle, limit, |s| has_all(s, &want));
        assert!(has_all(&seen, &want), "seq {seq}: {seen:?}");
    }
    assert_eq!(capture.stats().drops, 0);

    // Not reading while the kernel retires block after block: the ring fills up and freezes,
    // and the kernel drops frames until blocks come back.
    for seq in 100..110 {
        pinger.echo(net.peer_ip, id, seq);
        std::thread::sleep(Duration::from_millis(25));
    }
    let stats = capture.stats();
    assert!(stats.drops > 0 && stats.freeze_queue_count > 0, "{stats:?}");

    // Drain, then the capture works again.
    collect(&mut capture, id, Duration::from_millis(200), limit, |_| {
        false
    });
    pinger.echo(net.peer_ip, id, 200);
    let want = round_trip(200);
    let seen = collect(&mut capture, id, idle, limit, |s| has_all(s, &want));
    assert!(has_all(&seen, &want), "after overflow: {seen:?}");
    let after = capture.stats();
    assert!(
        after.drops >= stats.drops && after.packets > stats.packets,
        "{after:?}"
    );
}

#[test]
fn open_reports_typed_errors() {
    let err = LiveCapture::open(&capture_config("iwnosuch0")).unwrap_err();
    assert!(
        matches!(err, LiveError::NoSuchInterface(ref n) if n == "iwnosuch0"),
        "{err}"
    );

    let err = LiveCapture::open(&LiveConfig {
        block_size: 5000,
        ..capture_config("lo")
    })
    .unwrap_err();
    assert!(matches!(err, LiveError::InvalidConfig(_)), "{err}");

    // Opened and closed without reading: this test neither sends nor looks at traffic on lo.
    let lo = LiveConfig {
        promiscuous: false,
        ..capture_config("lo")
    };
    match LiveCapture::open(&lo) {
        // Root: loopback frames carry an Ethernet header.
        Ok(capture) => assert_eq!(capture.linktype(), LinkType::ETHERNET),
        Err(err @ LiveError::Permission { .. }) => {
            assert!(err.to_string().contains("CAP_NET_RAW"), "{err}");
        }
        Err(err) => panic!("unexpected error opening lo: {err}"),
    }
}
