//! Lab test: real traffic made by independent implementations, analysed by Ironward and by
//! Wireshark's `tshark`, which must agree.
//!
//! The test builds two network namespaces joined by a veth pair (MTU 1500) and lets the Linux
//! kernel's IP stack talk across it, driven by `python3`'s standard library:
//!
//! * IPv4 UDP datagrams of 4000 bytes, each fragmented by the kernel into 3 frames, echoed back
//!   (fragmented again) by a UDP server in the other namespace; a few small datagrams too;
//! * the same with IPv6 (IPv6 fragment headers, 3 frames per datagram);
//! * small UDP datagrams between the IPv6 link-local addresses;
//! * an HTTP GET to Python's `http.server`, answered with a 200 000-byte file over one TCP
//!   connection (handshake, about 140 full-size segments, both FINs);
//! * whatever the kernel does on its own: ARP before the first IPv4 packet, Neighbor Discovery
//!   before the first IPv6 packet to each address, and the MLD reports (behind a hop-by-hop
//!   header) and router solicitations that fall inside the capture.
//!
//! `tcpdump` captures on one veth end (inside its namespace) into a pcap file. Ironward's engine
//! (timeouts so long that, like tshark, it never splits a conversation) and tshark then read that
//! same file, and must agree on:
//!
//! * the frame count (also equal to what tcpdump says it captured);
//! * the IPv4 and IPv6 conversation tables (`-z conv,ip`, `-z conv,ipv6`), frames and bytes each
//!   way, and the same tables built from tshark's per-frame IP addresses and frame lengths
//!   (`-T fields`), where every fragment frame counts;
//! * the TCP conversation table (`-z conv,tcp`) exactly, and the UDP table for every flow without
//!   fragments;
//! * the number of fragmented datagrams (first fragments in tshark) against the engine's
//!   `fragments_reassembled`, with no overlaps, and that number against what the test sent;
//! * ARP sender bindings;
//! * the reassembled bytes of the HTTP connection, both ways (`-z follow,tcp,raw,0`), which also
//!   contain the served file.
//!
//! It also checks that both veth ends appear as devices under their MAC addresses, with their
//! IPv4 address learnt from ARP and their IPv6 addresses (link-local and ULA) from Neighbor
//! Discovery or traffic.
//!
//! # Deliberate differences from tshark
//!
//! * A fragmented datagram is one packet of its flow for Ironward (`FlowInfo::packets`), whose
//!   bytes are the wire bytes of all its fragments; the other fragment frames are counted in
//!   `FlowRecord::extra_fragment_frames` (per direction). tshark counts every fragment frame in `conv,ip` but only
//!   the reassembling frame (and only that frame's bytes) in `conv,udp`. So IP-level frames are
//!   ours `packets + extra_fragment_frames`, and for fragmented UDP flows only the frame counts
//!   (one per datagram on both sides) are compared, not the bytes.
//! * tshark (4.0) counts a fragmented IPv6 datagram once in `conv,ipv6`, unlike IPv4 in
//!   `conv,ip`: only the reassembling frame, with that frame's bytes (with
//!   `-o ipv6.defragment:FALSE`, only the first fragment). So `conv,ipv6` is compared for the
//!   conversations without fragments, and every IPv6 conversation is compared with the table
//!   built from tshark's per-frame fields.
//!
//! The veths are created with `gso_max_segs 1`: otherwise the kernel hands the capture TCP
//! "super-segments" of up to 64 KB (GSO) that never exist on a real wire.
//!
//! Needs root, iproute2, sysctl, tcpdump, tshark and python3; otherwise it prints why it is
//! skipped and passes. Nothing outside the two namespaces it creates is ever addressed; the
//! namespaces (and with them the veth pair) and every process the test started are removed when
//! it ends, also when it fails. Set `IRONWARD_LAB_KEEP=<dir>` to keep the capture for debugging.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use ironward_sensor::engine::{Analysis, FlowRecord};
use ironward_sensor::flow::{Direction, TcpState};

mod common;

use common::{analyze, endpoint, tshark_bytes, tshark_ok as tshark, Streams};

/// UDP and TCP port of the servers in namespace B.
const PORT: u16 = 8214;
/// Payload of a fragmented UDP datagram: 4008 bytes of UDP → 3 fragments at MTU 1500.
const BIG: u64 = 4000;
/// Fragmented datagrams sent each way, per IP version (each is echoed).
const BIG_COUNT: u64 = 5;
/// Small datagrams sent (and echoed) over IPv4 and over IPv6 link-local.
const SMALL_COUNT: u64 = 3;
/// Size of the file served over HTTP.
const FILE_SIZE: usize = 200_000;

/// UDP echo servers (IPv4, IPv6 ULA, IPv6 link-local) and an HTTP server serving a directory.
const SERVER_PY: &str = r#"
import functools, http.server, socket, sys, threading
v4, v6, ll, dev, port, root = sys.argv[1:7]
port = int(port)
def echo(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)
sockets = []
for family, addr in ((socket.AF_INET, (v4, port)), (socket.AF_INET6, (v6, port)),
                     (socket.AF_INET6, (ll, port, 0, socket.if_nametoindex(dev)))):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind(addr)
    sockets.append(s)
for s in sockets:
    threading.Thread(target=echo, args=(s,), daemon=True).start()
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
httpd = http.server.ThreadingHTTPServer((v4, port), functools.partial(Quiet, directory=root))
print("ready", flush=True)
httpd.serve_forever()
"#;

/// Sends the datagrams one at a time, waiting for each echo, then fetches the file.
const CLIENT_PY: &str = r#"
import http.client, socket, sys
v4, v6, ll, dev, port, big, big_count, small_count = sys.argv[1:9]
port, big, big_count, small_count = int(port), int(big), int(big_count), int(small_count)
def exchange(name, family, addr, size, count):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    for i in range(count):
        payload = bytes((i * 7 + j) % 251 for j in range(size))
        s.sendto(payload, addr)
        data, _ = s.recvfrom(65535)
        assert data == payload, (name, i, len(data))
    s.close()
    print(name, count, flush=True)
exchange("udp4-big", socket.AF_INET, (v4, port), big, big_count)
exchange("udp4-small", socket.AF_INET, (v4, port), 100, small_count)
exchange("udp6-big", socket.AF_INET6, (v6, port), big, big_count)
exchange("udp6-ll", socket.AF_INET6, (ll, port, 0, socket.if_nametoindex(dev)), 100, small_count)
conn = http.client.HTTPConnection(v4, port, timeout=5)
conn.request("GET", "/blob.bin")
response = conn.getresponse()
body = response.read()
conn.close()
print("http", response.status, len(body), flush=True)
"#;

fn skip(reason: &str) {
    println!("skipped: lab kernel traffic test ({reason})");
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        return Some(format!("not root, euid {euid}"));
    }
    for (program, arg) in [
        ("ip", "-V"),
        ("sysctl", "--version"),
        ("tcpdump", "--version"),
        ("tshark", "--version"),
        ("python3", "--version"),
    ] {
        if !runs(program, arg) {
            return Some(format!("`{program}` not found"));
        }
    }
    None
}

/// Runs `ip` with whitespace-separated arguments; returns its standard output.
fn ip(command: &str) -> Result<String, String> {
    let out = Command::new("ip")
        .args(command.split_whitespace())
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {command}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One side of the lab.
#[derive(Debug, Clone)]
struct Host {
    ns: String,
    dev: String,
    mac: &'static str,
    v4: String,
    ula: &'static str,
    /// The kernel-generated (EUI-64) link-local address.
    link_local: String,
}

/// Two namespaces joined by a veth pair, and the processes started in them. Dropping it ends
/// those processes and deletes the namespaces (which deletes the veth pair), also on panic.
struct Lab {
    hosts: [Host; 2],
    children: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for host in &self.hosts {
            let _ = ip(&format!("netns del {}", host.ns));
        }
    }
}

impl Lab {
    /// `Err` carries a reason to skip when the environment cannot build namespaces.
    fn new() -> Result<Self, String> {
        let pid = std::process::id();
        // Each lab is its own link in its own namespaces: nothing is shared with other runs.
        let net = pid % 250 + 1;
        let host = |side: &str, n: u8, mac, ula| Host {
            ns: format!("iwlab-{pid}-{side}"),
            dev: format!("iwl{pid}{side}"),
            mac,
            v4: format!("10.214.{net}.{n}"),
            ula,
            link_local: String::new(),
        };
        let mut lab = Self {
            hosts: [
                host("a", 1, "02:49:57:4c:00:0a", "fd00:214::a"),
                host("b", 2, "02:49:57:4c:00:0b", "fd00:214::b"),
            ],
            children: Vec::new(),
        };
        ip(&format!("netns add {}", lab.hosts[0].ns))?;
        // From here on the guard exists; a failure is a bug, not a missing prerequisite.
        if let Err(e) = lab.configure() {
            panic!("lab setup failed: {e}");
        }
        Ok(lab)
    }

    fn configure(&mut self) -> Result<(), String> {
        let [a, b] = &self.hosts;
        ip(&format!("netns add {}", b.ns))?;
        for h in [a, b] {
            // No duplicate address detection: addresses are usable at once, deterministically.
            let sysctl = Command::new("ip")
                .args(["netns", "exec", &h.ns, "sysctl", "-qw"])
                .arg("net.ipv6.conf.all.accept_dad=0")
                .arg("net.ipv6.conf.default.accept_dad=0")
                .status()
                .map_err(|e| e.to_string())?;
            if !sysctl.success() {
                return Err(format!("sysctl in {}: {sysctl}", h.ns));
            }
            ip(&format!("-n {} link set lo up", h.ns))?;
        }
        ip(&format!(
            "link add {} netns {} address {} mtu 1500 gso_max_segs 1 type veth \
             peer name {} netns {} address {} mtu 1500 gso_max_segs 1",
            a.dev, a.ns, a.mac, b.dev, b.ns, b.mac
        ))?;
        for h in [a, b] {
            ip(&format!("-n {} addr add {}/24 dev {}", h.ns, h.v4, h.dev))?;
            ip(&format!(
                "-n {} addr add {}/64 dev {} nodad",
                h.ns, h.ula, h.dev
            ))?;
            ip(&format!("-n {} link set {} up", h.ns, h.dev))?;
        }
        let end = Instant::now() + Duration::from_secs(5);
        for h in &mut self.hosts {
            loop {
                let out = ip(&format!(
                    "-n {} -6 -o addr show dev {} scope link",
                    h.ns, h.dev
                ))?;
                let address = out
                    .split_whitespace()
                    .find(|w| w.starts_with("fe80:"))
                    .and_then(|w| w.split('/').next());
                match address {
                    Some(address) if !out.contains("tentative") => {
                        h.link_local = address.to_owned();
                        break;
                    }
                    _ if Instant::now() > end => {
                        return Err(format!("no link-local address on {}: {out}", h.dev))
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        Ok(())
    }

    /// Starts `args` inside the namespace of host `side`; returns its index in `children`.
    fn spawn(&mut self, side: usize, args: &[&str]) -> usize {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.hosts[side].ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in namespace");
        self.children.push(child);
        self.children.len() - 1
    }
}

/// Forwards every line a pipe produces.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`.
fn wait_for(rx: &Receiver<String>, needle: &str, limit: Duration) {
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no {needle:?} within {limit:?}; got {seen:?}");
}

/// A deterministic, incompressible file body (xorshift).
fn file_body() -> Vec<u8> {
    let mut x: u32 = 0x1bad_b002;
    (0..FILE_SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// What `tcpdump` reported when it stopped.
struct Captured {
    captured: u64,
    dropped: u64,
}

/// Builds the lab, makes the traffic and captures it into `pcap`; `None` when skipped. The lab
/// is gone when this returns.
fn make_traffic(dir: &Path, pcap: &Path) -> Option<(Captured, [Host; 2])> {
    let mut lab = match Lab::new() {
        Ok(lab) => lab,
        Err(reason) => {
            skip(&reason);
            return None;
        }
    };
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("blob.bin"), file_body()).unwrap();
    let port = PORT.to_string();
    let [a, b] = lab.hosts.clone();

    let server = lab.spawn(
        1,
        &[
            "python3",
            "-c",
            SERVER_PY,
            &b.v4,
            b.ula,
            &b.link_local,
            &b.dev,
            &port,
            www.to_str().unwrap(),
        ],
    );
    let server_out = lines(lab.children[server].stdout.take().unwrap());
    let server_err = lines(lab.children[server].stderr.take().unwrap());
    wait_for(&server_out, "ready", Duration::from_secs(10));

    // `--immediate-mode`: frames reach the file as they come, not when a ring block retires.
    // Its ring has one slot of snapshot length per frame: keep that small (every frame here is
    // at most 1514 bytes) and the ring large, so the TCP burst cannot overflow it.
    // `-Z root`: write the file without dropping privileges to a user that may not exist.
    let tcpdump = lab.spawn(
        0,
        &[
            "tcpdump",
            "-i",
            &a.dev,
            "-n",
            "-U",
            "--immediate-mode",
            "-s",
            "2048",
            "-B",
            "16384",
            "-Z",
            "root",
            "-w",
            pcap.to_str().unwrap(),
        ],
    );
    let tcpdump_err = lines(lab.children[tcpdump].stderr.take().unwrap());
    wait_for(&tcpdump_err, "listening on", Duration::from_secs(5));

    let client = Command::new("ip")
        .args(["netns", "exec", &a.ns, "python3", "-c", CLIENT_PY])
        .args([&b.v4, b.ula, &b.link_local, &a.dev, &port])
        .args([BIG, BIG_COUNT, SMALL_COUNT].map(|n| n.to_string()))
        .output()
        .expect("client runs");
    let client_out = String::from_utf8_lossy(&client.stdout).into_owned();
    assert!(
        client.status.success(),
        "client failed: {client_out}\n{}\nserver: {:?}",
        String::from_utf8_lossy(&client.stderr),
        server_err.try_iter().collect::<Vec<_>>()
    );
    let want = format!(
        "udp4-big {BIG_COUNT}\nudp4-small {SMALL_COUNT}\nudp6-big {BIG_COUNT}\n\
         udp6-ll {SMALL_COUNT}\nhttp 200 {FILE_SIZE}\n"
    );
    assert_eq!(client_out, want);

    // Every frame is written as it arrives; stop once the file has been quiet for a while.
    let mut last = (0, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let size = std::fs::metadata(pcap).map(|m| m.len()).unwrap_or(0);
        if size != last.0 {
            last = (size, Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    let pid = lab.children[tcpdump].id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let end = Instant::now() + Duration::from_secs(5);
    while lab.children[tcpdump].try_wait().unwrap().is_none() {
        assert!(Instant::now() < end, "tcpdump did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let report: Vec<String> = tcpdump_err.iter().collect();
    let count = |what: &str| -> u64 {
        report
            .iter()
            .find(|l| l.ends_with(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {what:?} in tcpdump's report {report:?}"))
    };
    let captured = Captured {
        captured: count("packets captured"),
        dropped: count("packets dropped by kernel"),
    };
    drop(lab);
    Some((captured, [a, b]))
}

// ---------------------------------------------------------------------------------------------
// Ironward's side

// ---------------------------------------------------------------------------------------------
// tshark's side, and tables in its format

/// Frames and (formatted) bytes of one direction.
type Way = (u64, String);
/// Conversations keyed by the ordered endpoint pair; each holds (lo→hi, hi→lo).
type Table = BTreeMap<(String, String), (Way, Way)>;

/// Parses one `-z conv,...` table: A, B, frames/bytes B→A, frames/bytes A→B.
fn parse_conv(output: &str, title: &str) -> Table {
    let mut table = Table::new();
    let mut inside = false;
    for line in output.lines() {
        if line.starts_with(title) {
            inside = true;
            continue;
        }
        if inside && line.starts_with("=====") {
            break;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if !inside || t.len() < 12 || t[1] != "<->" {
            continue;
        }
        let to_a = (t[3].parse().unwrap(), format!("{} {}", t[4], t[5]));
        let to_b = (t[6].parse().unwrap(), format!("{} {}", t[7], t[8]));
        let (a, b) = (t[0].to_owned(), t[2].to_owned());
        let entry = if a <= b {
            ((a, b), (to_b, to_a))
        } else {
            ((b, a), (to_a, to_b))
        };
        let previous = table.insert(entry.0.clone(), entry.1);
        assert!(previous.is_none(), "{title}: {:?} twice", entry.0);
    }
    table
}

/// Per-direction sums lo→hi then hi→lo: frames, bytes, frames, bytes.
type Sums = [u64; 4];

fn add_oriented(sums: &mut BTreeMap<(String, String), Sums>, a: String, b: String, ab: Sums) {
    let (key, v) = if a <= b {
        ((a, b), ab)
    } else {
        ((b, a), [ab[2], ab[3], ab[0], ab[1]])
    };
    let entry = sums.entry(key).or_default();
    for (e, v) in entry.iter_mut().zip(v) {
        *e += v;
    }
}

fn format_table(sums: BTreeMap<(String, String), Sums>) -> Table {
    sums.into_iter()
        .map(|(key, [p1, b1, p2, b2])| (key, ((p1, tshark_bytes(b1)), (p2, tshark_bytes(b2)))))
        .collect()
}

/// Frames each way of a flow at the IP layer: every fragment frame counts.
fn ip_frames(record: &FlowRecord) -> [u64; 2] {
    let f = &record.info;
    let (c2s, s2c) = (
        Direction::ClientToServer.index(),
        Direction::ServerToClient.index(),
    );
    let extra = record.extra_fragment_frames;
    [f.packets[c2s] + extra[c2s], f.packets[s2c] + extra[s2c]]
}

/// IP conversations of the flows `keep` selects, keyed by addresses.
fn our_ip_table(analysis: &Analysis, v6: bool, keep: impl Fn(&FlowRecord) -> bool) -> Table {
    let mut sums = BTreeMap::new();
    for record in analysis.flows.iter().filter(|r| keep(r)) {
        let f = &record.info;
        if f.client.is_ipv6() != v6 {
            continue;
        }
        let [c2s, s2c] = ip_frames(record);
        let (i, j) = (
            Direction::ClientToServer.index(),
            Direction::ServerToClient.index(),
        );
        add_oriented(
            &mut sums,
            f.client.ip().to_string(),
            f.server.ip().to_string(),
            [c2s, f.bytes[i], s2c, f.bytes[j]],
        );
    }
    format_table(sums)
}

/// Transport conversations of the flows `keep` selects, keyed by endpoints.
fn our_transport_table(
    analysis: &Analysis,
    protocol: u8,
    keep: impl Fn(&FlowRecord) -> bool,
) -> Table {
    let mut sums = BTreeMap::new();
    for record in analysis
        .flows
        .iter()
        .filter(|r| r.info.protocol == protocol && keep(r))
    {
        let f = &record.info;
        let (i, j) = (
            Direction::ClientToServer.index(),
            Direction::ServerToClient.index(),
        );
        add_oriented(
            &mut sums,
            endpoint(f.client),
            endpoint(f.server),
            [f.packets[i], f.bytes[i], f.packets[j], f.bytes[j]],
        );
    }
    format_table(sums)
}

fn diff(kind: &str, theirs: &Table, ours: &Table, problems: &mut Vec<String>) {
    let keys: BTreeSet<_> = theirs.keys().chain(ours.keys()).collect();
    for key in keys {
        let (t, o) = (theirs.get(key), ours.get(key));
        if t != o {
            problems.push(format!(
                "{kind} {} <-> {}: tshark {t:?}, ironward {o:?}",
                key.0, key.1
            ));
        }
    }
}

fn count_lines(file: &str, filter: &str) -> u64 {
    let out = tshark(&[
        "-r",
        file,
        "-Y",
        filter,
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    out.lines().filter(|l| !l.is_empty()).count() as u64
}

/// An IP conversation table built from tshark's dissection of every frame's (outermost) IP
/// header: each frame counts once, with its own length, fragment or not.
fn tshark_frame_table(file: &str, v6: bool) -> Table {
    let (filter, src, dst) = if v6 {
        ("ipv6", "ipv6.src", "ipv6.dst")
    } else {
        ("ip", "ip.src", "ip.dst")
    };
    let out = tshark(&[
        "-r",
        file,
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=f",
        "-e",
        src,
        "-e",
        dst,
        "-e",
        "frame.len",
    ]);
    let mut sums = BTreeMap::new();
    for line in out.lines() {
        let t: Vec<&str> = line.split('\t').collect();
        let len = t[2].parse().unwrap();
        add_oriented(&mut sums, t[0].to_owned(), t[1].to_owned(), [1, len, 0, 0]);
    }
    format_table(sums)
}

/// `table` without the conversations in `without`.
fn except(table: &Table, without: &Table) -> Table {
    table
        .iter()
        .filter(|(key, _)| !without.contains_key(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn arp_senders(file: &str) -> BTreeSet<(String, String)> {
    let out = tshark(&[
        "-r",
        file,
        "-Y",
        "arp && arp.src.proto_ipv4 != 0.0.0.0",
        "-T",
        "fields",
        "-e",
        "arp.src.hw_mac",
        "-e",
        "arp.src.proto_ipv4",
    ]);
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(mac, ip)| (mac.to_owned(), ip.to_owned()))
        .collect()
}

#[test]
fn kernel_traffic_matches_tshark() {
    if let Some(reason) = missing_prerequisite() {
        skip(&reason);
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("lab.pcap");
    let Some((tcpdump, hosts)) = make_traffic(dir.path(), &pcap) else {
        return;
    };
    if let Some(keep) = std::env::var_os("IRONWARD_LAB_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&pcap, Path::new(&keep).join("lab.pcap")).unwrap();
    }
    let traffic_done = started.elapsed();
    let file = pcap.to_str().unwrap();

    let streams = Streams::default();
    let analysis = analyze(&pcap, &streams);
    let stats = &analysis.report.stats;
    let mut problems = Vec::new();

    // Frames.
    assert_eq!(tcpdump.dropped, 0, "tcpdump dropped frames");
    let frames = count_lines(file, "frame");
    assert_eq!(frames, tcpdump.captured, "tshark vs tcpdump frame count");
    assert_eq!(stats.packets, frames, "frames: tshark {frames}");
    assert!(stats.decode_errors.is_empty(), "{:?}", stats.decode_errors);

    // Conversation tables.
    let conv = tshark(&[
        "-r",
        file,
        "-q",
        "-z",
        "conv,ip",
        "-z",
        "conv,ipv6",
        "-z",
        "conv,tcp",
        "-z",
        "conv,udp",
    ]);
    let ipv4 = parse_conv(&conv, "IPv4 Conversations");
    let ipv6 = parse_conv(&conv, "IPv6 Conversations");
    let tcp = parse_conv(&conv, "TCP Conversations");
    let udp = parse_conv(&conv, "UDP Conversations");
    let all = |_: &FlowRecord| true;
    let unfragmented = |r: &FlowRecord| r.extra_fragment_frames == [0, 0];
    let fragmented = |r: &FlowRecord| r.extra_fragment_frames != [0, 0];

    // IPv4: every fragment frame counts, in tshark's table and in ours.
    diff(
        "IPv4",
        &ipv4,
        &our_ip_table(&analysis, false, all),
        &mut problems,
    );
    diff(
        "IPv4 (per frame)",
        &tshark_frame_table(file, false),
        &our_ip_table(&analysis, false, all),
        &mut problems,
    );
    // IPv6: tshark's table counts a fragmented datagram once, so it is compared for the
    // conversations without fragments; all of them are compared per frame.
    let ours_v6_fragmented = our_ip_table(&analysis, true, fragmented);
    assert_eq!(ours_v6_fragmented.len(), 1, "{ours_v6_fragmented:?}");
    diff(
        "IPv6",
        &except(&ipv6, &ours_v6_fragmented),
        &except(&our_ip_table(&analysis, true, all), &ours_v6_fragmented),
        &mut problems,
    );
    diff(
        "IPv6 (per frame)",
        &tshark_frame_table(file, true),
        &our_ip_table(&analysis, true, all),
        &mut problems,
    );

    // TCP exactly.
    diff(
        "TCP",
        &tcp,
        &our_transport_table(&analysis, 6, all),
        &mut problems,
    );

    // UDP: flows without fragments exactly; fragmented flows by frame count only (tshark counts
    // the reassembling frame, we count the datagram: one each).
    let ours_udp_fragmented = our_transport_table(&analysis, 17, fragmented);
    diff(
        "UDP",
        &except(&udp, &ours_udp_fragmented),
        &our_transport_table(&analysis, 17, unfragmented),
        &mut problems,
    );
    assert_eq!(ours_udp_fragmented.len(), 2, "one per IP version");
    for (key, ((ours_ab, _), (ours_ba, _))) in &ours_udp_fragmented {
        assert_eq!((*ours_ab, *ours_ba), (BIG_COUNT, BIG_COUNT), "{key:?}");
        match udp.get(key) {
            Some(((theirs_ab, _), (theirs_ba, _)))
                if (theirs_ab, theirs_ba) == (ours_ab, ours_ba) => {}
            theirs => problems.push(format!(
                "UDP (fragmented) {} <-> {}: tshark {theirs:?}, ironward {ours_ab}+{ours_ba} \
                 datagrams",
                key.0, key.1
            )),
        }
    }

    // Fragments: every datagram that was fragmented (first fragments), both ways.
    let first_v4 = count_lines(file, "ip.flags.mf == 1 && ip.frag_offset == 0");
    let first_v6 = count_lines(file, "ipv6.fraghdr.more == 1 && ipv6.fraghdr.offset == 0");
    assert_eq!(
        (first_v4, first_v6),
        (2 * BIG_COUNT, 2 * BIG_COUNT),
        "tshark's first fragments vs what was sent (and echoed)"
    );
    assert_eq!(stats.fragments_reassembled, first_v4 + first_v6);
    assert_eq!(stats.fragment_overlaps, 0);
    let extra: u64 = analysis
        .flows
        .iter()
        .map(|r| r.extra_fragment_frames[0] + r.extra_fragment_frames[1])
        .sum();
    assert_eq!(extra, 2 * (first_v4 + first_v6), "3 frames per datagram");

    // ARP.
    let theirs = arp_senders(file);
    let ours: BTreeSet<(String, String)> = analysis
        .arp_senders
        .iter()
        .map(|(mac, ip)| (mac.to_string(), ip.to_string()))
        .collect();
    assert_eq!(theirs, ours, "ARP sender bindings");
    let both: BTreeSet<(String, String)> = hosts
        .iter()
        .map(|h| (h.mac.to_owned(), h.v4.clone()))
        .collect();
    assert_eq!(theirs, both, "one request and one reply");

    // Devices: both veth ends, with addresses from ARP and Neighbor Discovery (or traffic).
    for host in &hosts {
        let device = analysis
            .report
            .devices
            .iter()
            .find(|d| d.mac.is_some_and(|m| m.to_string() == host.mac))
            .unwrap_or_else(|| panic!("no device {}: {:#?}", host.mac, analysis.report.devices));
        for (address, sources) in [
            (host.v4.as_str(), &["arp"][..]),
            (host.link_local.as_str(), &["ndp", "traffic"][..]),
            (host.ula, &["ndp", "traffic"][..]),
        ] {
            assert!(
                device.ips.iter().any(|ip| ip.to_string() == address),
                "{} lacks {address}: {:?}",
                host.mac,
                device.ips
            );
            assert!(
                device.facts.iter().any(|f| f.attribute == "ip"
                    && f.value == address
                    && sources.contains(&f.source.as_ref())),
                "{}: no ip fact {address} from {sources:?}: {:#?}",
                host.mac,
                device.facts
            );
        }
    }

    // The HTTP connection: one TCP flow, closed by both FINs, the same bytes as tshark follows.
    let tcp_flows: Vec<&FlowRecord> = analysis
        .flows
        .iter()
        .filter(|r| r.info.protocol == 6)
        .collect();
    assert_eq!(tcp_flows.len(), 1, "{tcp_flows:#?}");
    let record = tcp_flows[0];
    assert_eq!(record.info.tcp_state, Some(TcpState::Closed), "{record:?}");
    assert_eq!(record.info.gaps, [0, 0]);
    assert_eq!(stats.streams_with_gaps, 0);
    let (node0, node1, bytes0, bytes1) =
        common::follow(Path::new(file), 0).expect("tshark follows stream 0");
    let (client, server) = (endpoint(record.info.client), endpoint(record.info.server));
    assert_eq!(
        (&node0, &node1),
        (&client, &server),
        "stream 0 is the client's"
    );
    assert!(bytes0.starts_with(b"GET /blob.bin HTTP/1.1\r\n"));
    assert!(
        bytes1.ends_with(&file_body()),
        "the response carries the file"
    );
    let ours = streams.0.lock().unwrap().get(&record.info.id).cloned();
    let [ours0, ours1] = ours.unwrap_or_default();
    if (&ours0, &ours1) != (&bytes0, &bytes1) {
        problems.push(format!(
            "TCP stream 0: tshark {}+{} bytes, ironward {}+{} bytes",
            bytes0.len(),
            bytes1.len(),
            ours0.len(),
            ours1.len()
        ));
    }

    println!(
        "lab: {frames} frames; {} IPv4, {} IPv6, {} TCP, {} UDP conversations; \
         {} datagrams reassembled; {} ARP bindings; traffic {:.1} s, total {:.1} s",
        ipv4.len(),
        ipv6.len(),
        tcp.len(),
        udp.len(),
        stats.fragments_reassembled,
        theirs.len(),
        traffic_done.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} differences from tshark:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
