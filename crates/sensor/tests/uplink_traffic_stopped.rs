//! A live interface whose traffic stops raises `operational.traffic_stopped`, and the alert
//! reaches the console: the sensor captures the root end of a veth pair whose other end is in a
//! network namespace the test creates (and removes), streams in short windows to the fake
//! console on loopback, the test sends UDP datagrams over the link for a while, then stops; once
//! the link stays silent for the sensor's `traffic_stopped_after` (2 s here) a batch carries the
//! alert, naming sensor and interface, and none did while traffic flowed. IPv6 is off on both
//! ends and neighbours are static, so that the kernel sends nothing of its own on the link.
//! Needs root and iproute2; otherwise it prints why it is skipped.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod netns;
mod uplink_console;

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironward_model::{AlertEngine, Severity};
use ironward_sensor::uplink::{run, CaptureSource, SensorConfig, SensorControl};
use netns::{ip, missing_prerequisite};
use uplink_console::{ConsoleState, FakeConsole, Identity};

const KIND: &str = "operational.traffic_stopped";

/// A veth pair, `host` in the root namespace (captured), `peer` in namespace `ns`; dropping it
/// deletes both, also when the test panics.
struct TestNet {
    ns: String,
    host: String,
    host_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
}

impl Drop for TestNet {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

impl TestNet {
    fn new() -> Result<Self, String> {
        let pid = std::process::id();
        let net = u8::try_from(pid % 250).map_err(|e| e.to_string())?;
        let ns = format!("iwstop-{pid}");
        ip(&["netns", "add", &ns])?;
        let this = Self {
            ns,
            host: format!("iw{pid}s"),
            host_ip: Ipv4Addr::new(10, 214, net, 1),
            peer_ip: Ipv4Addr::new(10, 214, net, 2),
        };
        let peer = format!("iw{pid}t");
        let (host_mac, peer_mac) = ("02:49:57:00:01:01", "02:49:57:00:01:02");
        ip(&[
            "link", "add", &this.host, "address", host_mac, "type", "veth", "peer", "name", &peer,
            "address", peer_mac,
        ])?;
        let ns = this.ns.as_str();
        let host = this.host.as_str();
        // No IPv6 on the link: no router solicitations or MLD reports after the silence began.
        std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/disable_ipv6"), "1")
            .map_err(|e| format!("disable IPv6 on {host}: {e}"))?;
        ip(&["link", "set", &peer, "netns", ns])?;
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw"])
            .arg(format!("net.ipv6.conf.{peer}.disable_ipv6=1"))
            .output()
            .map_err(|e| format!("sysctl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "sysctl in {ns}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let (host_ip, peer_ip) = (this.host_ip.to_string(), this.peer_ip.to_string());
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", host])?;
        ip(&[
            "neigh",
            "add",
            &peer_ip,
            "lladdr",
            peer_mac,
            "dev",
            host,
            "nud",
            "permanent",
        ])?;
        ip(&["link", "set", host, "up"])?;
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{peer_ip}/24"),
            "dev",
            &peer,
        ])?;
        ip(&[
            "-n",
            ns,
            "neigh",
            "add",
            &host_ip,
            "lladdr",
            host_mac,
            "dev",
            &peer,
            "nud",
            "permanent",
        ])?;
        ip(&["-n", ns, "link", "set", &peer, "up"])?;
        Ok(this)
    }
}

#[test]
fn a_live_interface_that_falls_silent_raises_traffic_stopped_at_the_console() {
    if let Some(reason) = missing_prerequisite() {
        println!("skipped: needs root and iproute2 ({reason})");
        return;
    }
    let net = match TestNet::new() {
        Ok(net) => net,
        Err(reason) => {
            println!("skipped: cannot build the test network ({reason})");
            return;
        }
    };
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let dir = tempfile::tempdir().unwrap();
    let mut config = SensorConfig::new(
        &console.url(),
        dir.path(),
        CaptureSource::Interface(net.host.clone()),
        "stop-test",
    );
    config.enroll_token = Some("t".into());
    config.window = Duration::from_millis(300);
    config.traffic_stopped_after = Duration::from_secs(2);
    let control = Arc::new(SensorControl::new());
    let runner = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || run(&config, &control))
    };
    let alerted = |batches: &[ironward_model::Batch]| {
        batches
            .iter()
            .flat_map(|b| &b.alerts)
            .filter(|a| a.kind == KIND)
            .cloned()
            .collect::<Vec<_>>()
    };

    // Traffic for 3 s (several windows), sent over the link to the peer's discard port.
    let socket = UdpSocket::bind((net.host_ip, 0)).unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        socket
            .send_to(b"ironward traffic-stopped test", (net.peer_ip, 9))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(socket);
    let silence = Instant::now();
    let during_traffic = state.committed.lock().unwrap().len();

    // Silence: the alert arrives after 2 s (plus up to a window), not before.
    let mut arrived = None;
    while silence.elapsed() < Duration::from_secs(20) {
        if !alerted(&state.committed.lock().unwrap()).is_empty() {
            arrived = Some(silence.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A few more windows: the silence is reported once.
    std::thread::sleep(Duration::from_secs(1));
    control.stop();
    let summary = runner.join().unwrap().unwrap();
    assert_eq!(summary.pending, 0, "{summary:?}");

    let committed = state.committed.lock().unwrap().clone();
    assert!(
        during_traffic >= 3,
        "{during_traffic} windows while sending"
    );
    assert!(
        alerted(&committed[..during_traffic]).is_empty(),
        "no alert while traffic flowed"
    );
    let sent: u64 = committed[..during_traffic]
        .iter()
        .flat_map(|b| &b.connections)
        .filter(|c| c.port == Some(9) && c.transport == "udp")
        .map(|c| c.packets)
        .sum();
    assert!(sent > 20, "{sent} datagrams captured");
    let arrived = arrived.expect("traffic_stopped alert within 20 s of silence");
    assert!(
        arrived >= Duration::from_millis(1500),
        "alerted {arrived:?} after the last datagram"
    );
    let alerts = alerted(&committed);
    assert_eq!(alerts.len(), 1, "one delta, once per silence: {alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.engine, AlertEngine::Operational);
    assert_eq!(alert.severity, Severity::Major);
    assert_eq!(alert.count, 1);
    assert!(
        alert.title.contains("stop-test") && alert.title.contains(&net.host),
        "{}",
        alert.title
    );
    assert_eq!(alert.techniques[0].id, "T0815");
}
