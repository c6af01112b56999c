//! The lab test of issue 4: a small network of network namespaces on one Linux bridge, each
//! namespace a "device" running a real, independent implementation (dnsmasq, busybox udhcpc,
//! lldpd, net-snmp, python-zeroconf, ssdpy, OpenSSH, inetutils telnetd, mosquitto, TigerVNC,
//! OpenSSL, curl). Everything crossing the bridge is captured with tcpdump, the capture is
//! analysed by the `ironward` binary, and each device's identity and findings are checked.
//!
//! Needs root (network namespaces) and the Debian packages `scripts/test` installs; otherwise it
//! prints `skipped: <reason>` and passes. The capture is made at test time and never kept (set
//! `IRONWARD_LAB_PCAP=<path>` to keep a copy). Only addresses inside the lab (10.77.0.0/24,
//! multicast on the lab bridge) are ever used: no namespace has a route anywhere else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One device of the lab: a namespace with one interface on the bridge.
struct Device {
    /// Short name (namespace suffix, bridge port `v-<name>`).
    name: &'static str,
    /// The interface's MAC address; its OUI is chosen on purpose (see each device).
    mac: &'static str,
    /// Static address, `None` for the DHCP client.
    ip: Option<&'static str>,
}

/// dnsmasq: DHCP server and DNS server of the `lab.test` domain (a Xen virtual NIC).
const DNS: Device = Device {
    name: "dns",
    mac: "00:16:3e:77:00:01",
    ip: Some("10.77.0.1"),
};
/// lldpd announcing a bridge (Arista OUI).
const SWITCH: Device = Device {
    name: "switch",
    mac: "00:1c:73:77:00:02",
    ip: Some("10.77.0.2"),
};
/// net-snmp agent answering to community `public` (QEMU virtual NIC).
const AGENT: Device = Device {
    name: "agent",
    mac: "52:54:00:77:00:03",
    ip: Some("10.77.0.3"),
};
/// An mDNS printer announcing an HP LaserJet from an Intel NIC: the OUI lies.
const PRINTER: Device = Device {
    name: "printer",
    mac: "00:1b:21:77:00:04",
    ip: Some("10.77.0.4"),
};
/// A UPnP device (SSDP + description over HTTP) with a Philips Lighting OUI.
const HUE: Device = Device {
    name: "hue",
    mac: "00:17:88:77:00:05",
    ip: Some("10.77.0.5"),
};
/// OpenSSH server.
const SSH: Device = Device {
    name: "ssh",
    mac: "52:54:00:77:00:06",
    ip: Some("10.77.0.6"),
};
/// inetutils telnetd behind inetutils-inetd.
const TELNET: Device = Device {
    name: "telnet",
    mac: "52:54:00:77:00:07",
    ip: Some("10.77.0.7"),
};
/// mosquitto broker, anonymous clients allowed (Raspberry Pi OUI).
const BROKER: Device = Device {
    name: "broker",
    mac: "b8:27:eb:77:00:08",
    ip: Some("10.77.0.8"),
};
/// TigerVNC server with security type None.
const VNC: Device = Device {
    name: "vnc",
    mac: "52:54:00:77:00:09",
    ip: Some("10.77.0.9"),
};
/// HTTPS server with a self-signed certificate (Synology OUI).
const NAS: Device = Device {
    name: "nas",
    mac: "00:11:32:77:00:0a",
    ip: Some("10.77.0.10"),
};
/// HTTP server asking for Basic authentication (Axis OUI).
const CAMERA: Device = Device {
    name: "camera",
    mac: "ac:cc:8e:77:00:0b",
    ip: Some("10.77.0.11"),
};
/// The administrator's workstation: every management client runs here.
const ADMIN: Device = Device {
    name: "admin",
    mac: "52:54:00:77:00:14",
    ip: Some("10.77.0.20"),
};
/// A laptop with an Apple NIC that announces itself over DHCP as a Windows machine
/// (vendor class `MSFT 5.0`): the OUI lies about what runs on it. It gets its address from
/// dnsmasq, asks dnsmasq's DNS, and connects to the NAS with curl (TLS fingerprints).
const LAPTOP: Device = Device {
    name: "laptop",
    mac: "a4:83:e7:77:00:32",
    ip: None,
};

const DEVICES: [&Device; 13] = [
    &DNS, &SWITCH, &AGENT, &PRINTER, &HUE, &SSH, &TELNET, &BROKER, &VNC, &NAS, &CAMERA, &ADMIN,
    &LAPTOP,
];

/// The address dnsmasq reserves for the laptop's MAC.
const LAPTOP_IP: &str = "10.77.0.50";

/// Secrets the clients send; none may appear in the report.
const BASIC_PASSWORD: &str = "lab-secret-basic";
const TELNET_PASSWORD: &str = "not-the-password";

/// Programs the lab runs (looked up on PATH and in the sbin directories).
const PROGRAMS: [&str; 21] = [
    "ip",
    "ss",
    "tcpdump",
    "dnsmasq",
    "busybox",
    "lldpd",
    "lldpcli",
    "snmpd",
    "snmpget",
    "sshd",
    "ssh-keyscan",
    "ssh-keygen",
    "inetutils-inetd",
    "telnetd",
    "mosquitto",
    "mosquitto_pub",
    "Xvnc",
    "curl",
    "openssl",
    "python3",
    "tshark",
];

/// The Debian package that brings each program, for the skip message.
fn package_of(program: &str) -> &str {
    match program {
        "ip" | "ss" => "iproute2",
        "lldpcli" => "lldpd",
        "snmpget" => "snmp",
        "sshd" => "openssh-server",
        "ssh-keyscan" | "ssh-keygen" => "openssh-client",
        "telnetd" => "inetutils-telnetd",
        "mosquitto_pub" => "mosquitto-clients",
        "Xvnc" => "tigervnc-standalone-server",
        "tshark" => "tshark",
        other => other,
    }
}

fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Why the lab cannot run here, if it cannot.
fn missing_prerequisites() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("the identity lab needs root (network namespaces, a bridge)".into());
    }
    let missing: Vec<String> = PROGRAMS
        .iter()
        .filter(|p| find_program(p).is_none())
        .map(|p| format!("{p} (Debian package {})", package_of(p)))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "the identity lab needs {} (scripts/test installs them as root)",
            missing.join(", ")
        ));
    }
    let modules = Command::new("python3")
        .args(["-c", "import zeroconf, ssdpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !modules.is_ok_and(|s| s.success()) {
        return Some(
            "the identity lab needs the Python packages zeroconf and ssdpy \
             (scripts/test installs them with pip as root)"
                .into(),
        );
    }
    None
}

/// The directory of the lab's helper scripts and files.
fn lab_files() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab")
}

/// A background process of the lab, in its own process group.
struct Process {
    label: String,
    child: Child,
}

/// The lab network: namespaces, bridge, processes and files. Dropping it stops every process
/// (whole process groups, then anything left in its namespaces) and deletes every namespace,
/// also when the test panics.
struct Lab {
    tag: String,
    dir: tempfile::TempDir,
    namespaces: Vec<String>,
    processes: Vec<Process>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Sends `signal` to the process group `pgid`.
fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `timeout` for `child` to exit.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `ready` every 50 ms for up to `timeout`.
fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Deletes namespaces left by earlier runs of this test that were killed before their
/// teardown (their name carries the pid of a process that no longer exists).
fn remove_stale_labs() {
    let Ok(list) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("iwlab") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        kill_namespace_processes(name);
        let _ = ip(&["netns", "del", name]);
    }
}

/// Kills every process still running inside namespace `name` (only lab namespaces).
fn kill_namespace_processes(name: &str) {
    let Ok(pids) = Command::new("ip").args(["netns", "pids", name]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

impl Lab {
    /// Creates the bridge namespace and its bridge. LLDP frames (group address
    /// 01:80:c2:00:00:0e) are forwarded (group_fwd_mask bit 14) so that they cross the bridge,
    /// and multicast snooping is off so that mDNS and SSDP reach every port.
    fn new() -> Result<Lab, String> {
        remove_stale_labs();
        let dir = tempfile::Builder::new()
            .prefix("ironward-lab-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        // lldpd and mosquitto drop privileges after reading their files.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let mut lab = Lab {
            tag: format!("iwlab{}", std::process::id()),
            dir,
            namespaces: Vec::new(),
            processes: Vec::new(),
        };
        let bridge = lab.ns("br");
        ip(&["netns", "add", &bridge])?;
        lab.namespaces.push(bridge.clone());
        // The capture point stays silent, like a SPAN port: no IPv6 on the bridge.
        let sysctl = Command::new("ip")
            .args(["netns", "exec", &bridge, "sysctl", "-qw"])
            .args([
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])
            .status();
        if !sysctl.is_ok_and(|s| s.success()) {
            return Err("cannot disable IPv6 in the bridge namespace".into());
        }
        ip(&[
            "-n",
            &bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "mcast_snooping",
            "0",
            "group_fwd_mask",
            "0x4000",
        ])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        Ok(lab)
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.tag)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write(&self, file: &str, text: &str) -> String {
        let path = self.path(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// Adds a device namespace, its veth pair to the bridge, its MAC and address, and a
    /// multicast route on its lab interface (no default route: nothing can leave the lab).
    fn add_device(&mut self, device: &Device) -> Result<(), String> {
        let (bridge, ns) = (self.ns("br"), self.ns(device.name));
        let port = format!("v-{}", device.name);
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        ip(&[
            "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            &ns,
        ])?;
        ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"])?;
        ip(&["-n", &ns, "link", "set", "eth0", "address", device.mac])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        if let Some(address) = device.ip {
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{address}/24"),
                "dev",
                "eth0",
            ])?;
        }
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"])?;
        Ok(())
    }

    fn command(&self, device: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(device)])
            .args(args)
            .stdin(Stdio::null())
            .process_group(0);
        command
    }

    /// Starts a long-running program in `device`'s namespace, its output in `<label>.log`.
    fn spawn(&mut self, device: &str, label: &str, args: &[&str]) {
        self.spawn_with(device, label, args, &[]);
    }

    fn spawn_with(&mut self, device: &str, label: &str, args: &[&str], env: &[(&str, &str)]) {
        let log = self.path(&format!("{label}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = self
            .command(device, args)
            .envs(env.iter().copied())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({}): {e}", args.join(" ")));
        self.processes.push(Process {
            label: label.to_owned(),
            child,
        });
    }

    fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{label}.log"))).unwrap_or_default()
    }

    /// The end of a process's log, for error messages.
    fn log_tail(&self, label: &str) -> String {
        tail(&self.log(label))
    }

    fn has_exited(&mut self, label: &str) -> bool {
        self.processes
            .iter_mut()
            .find(|p| p.label == label)
            .is_some_and(|p| !matches!(p.child.try_wait(), Ok(None)))
    }

    /// Runs a client in `device`'s namespace to completion (killed after `timeout`); returns
    /// whether it succeeded and what it printed.
    fn run(&self, device: &str, label: &str, args: &[&str], timeout: Duration) -> (bool, String) {
        let log = self.path(&format!("{label}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut child = self
            .command(device, args)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {label} ({}): {e}", args.join(" ")));
        let finished = wait_for_exit(&mut child, timeout);
        if !finished {
            kill_group(child.id(), "-KILL");
            let _ = child.wait();
        }
        let status = child.try_wait().ok().flatten();
        let text = tail(&std::fs::read_to_string(&log).unwrap_or_default());
        (finished && status.is_some_and(|s| s.success()), text)
    }

    /// Whether something in `device`'s namespace listens on `port` (`transport` "t" or "u").
    fn listening(&self, device: &str, transport: &str, port: u16) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(device), "ss"])
            .arg(format!("-Hln{transport}"))
            .arg(format!("sport = :{port}"))
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    }

    /// Stops a background process: SIGTERM to its group, SIGKILL after `grace`.
    fn stop(&mut self, label: &str, grace: Duration) {
        if let Some(p) = self.processes.iter_mut().find(|p| p.label == label) {
            stop_process(p, grace);
        }
    }
}

/// The last 3000 bytes of `text` (whole lines).
fn tail(text: &str) -> String {
    if text.len() <= 3000 {
        return text.to_owned();
    }
    let cut = text.len() - 3000;
    let start = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
    format!("[…]\n{}", &text[start..])
}

fn stop_process(p: &mut Process, grace: Duration) {
    if let Ok(None) = p.child.try_wait() {
        kill_group(p.child.id(), "-TERM");
        if !wait_for_exit(&mut p.child, grace) {
            kill_group(p.child.id(), "-KILL");
            let _ = p.child.wait();
        }
    }
    // Anything the group left behind (forked children) goes too.
    kill_group(p.child.id(), "-KILL");
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in self.processes.iter_mut().rev() {
            stop_process(p, Duration::from_secs(2));
        }
        for ns in self.namespaces.iter().rev() {
            kill_namespace_processes(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// An X display number free on this machine (Xvnc needs one even without X clients).
fn free_display() -> u32 {
    let start = 70 + std::process::id() % 100;
    (start..start + 100)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .unwrap_or(start)
}

/// Writes the servers' configuration files and starts every server, then waits until each is
/// ready. Returns what did not become ready.
fn start_servers(lab: &mut Lab) -> Vec<String> {
    let files = lab_files();
    let script = |name: &str| files.join(name).display().to_string();
    let dir = lab.dir.path().display().to_string();

    // DHCP and DNS for the lab.test domain; the laptop's MAC gets a fixed address.
    lab.spawn(
        DNS.name,
        "dnsmasq",
        &[
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--interface=eth0",
            "--listen-address=10.77.0.1",
            "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,10m",
            &format!("--dhcp-host={},{LAPTOP_IP}", LAPTOP.mac),
            "--no-ping",
            "--dhcp-authoritative",
            &format!("--dhcp-leasefile={dir}/dnsmasq.leases"),
            &format!("--pid-file={dir}/dnsmasq.pid"),
            "--domain=lab.test",
            "--local=/lab.test/",
            "--host-record=nas.lab.test,10.77.0.10",
            "--log-facility=-",
            "--log-dhcp",
            "--user=root",
            "--group=root",
        ],
    );

    // LLDP: system name and description from lldpcli configuration, a bridge, every second.
    let lldpd_conf = lab.write(
        "lldpd.conf",
        "configure system hostname lab-switch-1\n\
         configure system description \"Ironward lab switch (lldpd)\"\n\
         configure system capabilities enabled bridge\n\
         configure lldp tx-interval 1\n",
    );
    lab.spawn(
        SWITCH.name,
        "lldpd",
        &[
            "lldpd",
            "-d",
            "-I",
            "eth0",
            "-m",
            SWITCH.ip.unwrap(),
            "-u",
            &format!("{dir}/lldpd.socket"),
            "-O",
            &lldpd_conf,
        ],
    );

    // SNMP agent with the system group configured, answering v1/v2c community `public`.
    let snmpd_conf = lab.write(
        "snmpd.conf",
        "agentaddress udp:10.77.0.3:161\n\
         rocommunity public 10.77.0.0/24\n\
         sysname lab-snmp-agent\n\
         sysdescr Ironward lab SNMP agent (net-snmp on Debian)\n\
         syslocation Lab rack 3, row B\n\
         syscontact NOC <noc@lab.test>\n\
         sysservices 72\n",
    );
    std::fs::create_dir_all(lab.path("snmp")).unwrap();
    let snmp_dir = format!("{dir}/snmp");
    lab.spawn_with(
        AGENT.name,
        "snmpd",
        &[
            "snmpd",
            "-f",
            "-Lo",
            "-C",
            "-c",
            &snmpd_conf,
            "-p",
            &format!("{dir}/snmpd.pid"),
            "-I",
            "-smux",
        ],
        // No MIB modules: the agent serves numeric OIDs (Debian ships few MIB files anyway).
        &[("SNMP_PERSISTENT_DIR", &snmp_dir), ("MIBS", "")],
    );

    // mDNS printer (python-zeroconf).
    lab.spawn(
        PRINTER.name,
        "printer",
        &[
            "python3",
            &script("mdns_printer.py"),
            PRINTER.ip.unwrap(),
            "lab-printer",
            "120",
        ],
    );

    // UPnP device: ssdpy SSDP server and its description over HTTP.
    lab.spawn(
        HUE.name,
        "upnp",
        &[
            "python3",
            &script("upnp_device.py"),
            HUE.ip.unwrap(),
            "49152",
            "120",
        ],
    );

    // OpenSSH server on its own configuration and host key. sshd insists on its
    // privilege-separation directory.
    let key = lab.path("ssh_host_ed25519_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status();
    assert!(keygen.is_ok_and(|s| s.success()), "ssh-keygen failed");
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd_conf = lab.write(
        "sshd_config",
        &format!(
            "ListenAddress 10.77.0.6:22\nHostKey {}\nPidFile {dir}/sshd.pid\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            key.display()
        ),
    );
    let sshd = find_program("sshd").unwrap().display().to_string();
    lab.spawn(SSH.name, "sshd", &[&sshd, "-D", "-e", "-f", &sshd_conf]);

    // Telnet: inetutils-inetd starting inetutils telnetd (and login) on port 23, in a UTS
    // namespace of its own so that the login banner names the lab device.
    let telnetd = find_program("telnetd").unwrap().display().to_string();
    let inetd_conf = lab.write(
        "inetd.conf",
        &format!("10.77.0.7:telnet stream tcp nowait root {telnetd} telnetd\n"),
    );
    lab.spawn(
        TELNET.name,
        "inetd",
        &[
            "unshare",
            "--uts",
            "sh",
            "-c",
            &format!(
                "hostname lab-telnet && exec inetutils-inetd -d --pidfile={dir}/inetd.pid {inetd_conf}"
            ),
        ],
    );

    // MQTT broker, anonymous clients allowed, clear text.
    let mosquitto_conf = lab.write(
        "mosquitto.conf",
        "listener 1883 10.77.0.8\nallow_anonymous true\npersistence false\nlog_dest stdout\n",
    );
    lab.spawn(
        BROKER.name,
        "mosquitto",
        &["mosquitto", "-c", &mosquitto_conf],
    );

    // VNC without authentication.
    let display = format!(":{}", free_display());
    lab.spawn(
        VNC.name,
        "xvnc",
        &[
            "Xvnc",
            &display,
            "-SecurityTypes",
            "None",
            "-rfbport",
            "5900",
            "-interface",
            VNC.ip.unwrap(),
            "-desktop",
            "lab-vnc",
            "-geometry",
            "320x240",
            "-depth",
            "16",
            "-nolisten",
            "tcp",
            "-nolisten",
            "unix",
        ],
    );

    // HTTPS with a self-signed certificate made now; TLS 1.2 at most so that the certificate
    // crosses in clear.
    let (cert, cert_key) = (lab.path("tls.crt"), lab.path("tls.key"));
    let req = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/O=Ironward Lab/CN=nas.lab.test"])
        .args(["-addext", "subjectAltName=DNS:nas.lab.test"])
        .arg("-keyout")
        .arg(&cert_key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(req.is_ok_and(|s| s.success()), "openssl req failed");
    lab.spawn(
        NAS.name,
        "s_server",
        &[
            "openssl",
            "s_server",
            "-accept",
            "10.77.0.10:443",
            "-cert",
            &cert.display().to_string(),
            "-key",
            &cert_key.display().to_string(),
            "-www",
            "-no_tls1_3",
            "-quiet",
        ],
    );

    // HTTP Basic authentication in clear text.
    lab.spawn(
        CAMERA.name,
        "camera",
        &[
            "python3",
            &script("basic_http.py"),
            CAMERA.ip.unwrap(),
            "80",
            "120",
        ],
    );

    // Readiness.
    let waits: [(&str, &str, &str, u16); 11] = [
        ("dnsmasq", DNS.name, "u", 67),
        ("dnsmasq", DNS.name, "u", 53),
        ("snmpd", AGENT.name, "u", 161),
        ("upnp", HUE.name, "t", 49152),
        ("upnp", HUE.name, "u", 1900),
        ("sshd", SSH.name, "t", 22),
        ("inetd", TELNET.name, "t", 23),
        ("mosquitto", BROKER.name, "t", 1883),
        ("xvnc", VNC.name, "t", 5900),
        ("s_server", NAS.name, "t", 443),
        ("camera", CAMERA.name, "t", 80),
    ];
    let mut problems = Vec::new();
    for (label, device, transport, port) in waits {
        if !wait_until(Duration::from_secs(10), || {
            lab.listening(device, transport, port)
        }) {
            problems.push(format!(
                "{label} is not listening on {transport}{port} in {device}; its log:\n{}",
                lab.log_tail(label)
            ));
        }
    }
    for (label, line) in [
        ("printer", "registered"),
        ("lldpd", "lldpd should resume operations"),
    ] {
        if !wait_until(Duration::from_secs(10), || lab.log(label).contains(line)) {
            problems.push(format!(
                "{label} did not say {line:?}; its log:\n{}",
                lab.log_tail(label)
            ));
        }
    }
    for p in lab
        .processes
        .iter()
        .map(|p| p.label.clone())
        .collect::<Vec<_>>()
    {
        if p != "tcpdump" && lab.has_exited(&p) {
            problems.push(format!("{p} exited early; its log:\n{}", lab.log_tail(&p)));
        }
    }
    problems
}

/// Runs every client; returns what went wrong.
fn run_clients(lab: &mut Lab) -> Vec<String> {
    let files = lab_files();
    let script = |name: &str| files.join(name).display().to_string();
    let mut problems = Vec::new();
    let mut expect = |label: &str, (ok, text): (bool, String), wanted: &str| {
        if !ok || !text.contains(wanted) {
            problems.push(format!(
                "client {label} failed (wanted {wanted:?} in its output):\n{text}"
            ));
        }
    };
    let short = Duration::from_secs(10);

    // The Telnet login takes a few seconds (login's failure delay): start it first.
    lab.spawn(
        ADMIN.name,
        "telnet-client",
        &[
            "python3",
            &script("telnet_login.py"),
            TELNET.ip.unwrap(),
            "23",
            "labuser",
            TELNET_PASSWORD,
        ],
    );

    // The laptop: DHCP with host name and vendor class, DNS, HTTPS.
    let udhcpc = lab.run(
        LAPTOP.name,
        "udhcpc",
        &[
            "busybox",
            "udhcpc",
            "-i",
            "eth0",
            "-f",
            "-q",
            "-n",
            "-t",
            "5",
            "-T",
            "1",
            "-x",
            "hostname:lab-laptop",
            "-V",
            "MSFT 5.0",
            "-s",
            &script("udhcpc.script"),
        ],
        Duration::from_secs(15),
    );
    expect("udhcpc", udhcpc, &format!("leased {LAPTOP_IP}/24"));
    expect(
        "nslookup",
        lab.run(
            LAPTOP.name,
            "nslookup",
            &["busybox", "nslookup", "nas.lab.test", DNS.ip.unwrap()],
            short,
        ),
        "10.77.0.10",
    );
    expect(
        "curl-https",
        lab.run(
            LAPTOP.name,
            "curl-https",
            &[
                "curl",
                "-sk",
                "--max-time",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "status %{http_code}",
                "--resolve",
                "nas.lab.test:443:10.77.0.10",
                "https://nas.lab.test/",
            ],
            short,
        ),
        "status 200",
    );

    // The administrator's workstation.
    expect(
        "snmpget",
        lab.run(
            ADMIN.name,
            "snmpget",
            &[
                "snmpget",
                "-v2c",
                "-c",
                "public",
                "-On",
                "-t",
                "2",
                "-r",
                "1",
                AGENT.ip.unwrap(),
                "1.3.6.1.2.1.1.1.0",
                "1.3.6.1.2.1.1.2.0",
                "1.3.6.1.2.1.1.4.0",
                "1.3.6.1.2.1.1.5.0",
                "1.3.6.1.2.1.1.6.0",
            ],
            short,
        ),
        "lab-snmp-agent",
    );
    expect(
        "ssh-keyscan",
        lab.run(
            ADMIN.name,
            "ssh-keyscan",
            &["ssh-keyscan", "-T", "3", "-t", "ed25519", SSH.ip.unwrap()],
            short,
        ),
        "ssh-ed25519",
    );
    // A real login attempt (public key only, none offered): the client's full banner.
    let (_, ssh_text) = lab.run(
        ADMIN.name,
        "ssh",
        &[
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityFile=/dev/null",
            "-o",
            "PreferredAuthentications=publickey",
            "-o",
            "ConnectTimeout=3",
            &format!("labuser@{}", SSH.ip.unwrap()),
            "true",
        ],
        short,
    );
    expect("ssh", (true, ssh_text), "Permission denied");
    // The administrator reaches the switch's management address.
    expect(
        "ping-switch",
        lab.run(
            ADMIN.name,
            "ping-switch",
            &["busybox", "ping", "-c", "1", "-W", "2", SWITCH.ip.unwrap()],
            short,
        ),
        "1 packets received",
    );
    expect(
        "mosquitto_pub",
        lab.run(
            ADMIN.name,
            "mosquitto_pub",
            &[
                "mosquitto_pub",
                "-h",
                BROKER.ip.unwrap(),
                "-p",
                "1883",
                "-i",
                "lab-sensor-1",
                "-t",
                "lab/temperature",
                "-m",
                "21.5",
                "-q",
                "1",
            ],
            short,
        ),
        "",
    );
    expect(
        "vnc-client",
        lab.run(
            ADMIN.name,
            "vnc-client",
            &["python3", &script("vnc_client.py"), VNC.ip.unwrap(), "5900"],
            short,
        ),
        "desktop: 320 240 lab-vnc",
    );
    let search = lab.run(
        ADMIN.name,
        "ssdp-search",
        &[
            "python3",
            &script("ssdp_search.py"),
            ADMIN.ip.unwrap(),
            "urn:schemas-upnp-org:device:Basic:1",
        ],
        short,
    );
    let location = search
        .1
        .lines()
        .find(|l| l.starts_with("http://10.77.0.5:"))
        .map(str::to_owned);
    match location {
        Some(location) => expect(
            "curl-upnp",
            lab.run(
                ADMIN.name,
                "curl-upnp",
                &["curl", "-s", "--max-time", "5", &location],
                short,
            ),
            "<serialNumber>001788770005</serialNumber>",
        ),
        None => expect(
            "ssdp-search",
            search,
            "http://10.77.0.5:49152/description.xml",
        ),
    }
    expect(
        "curl-basic",
        lab.run(
            ADMIN.name,
            "curl-basic",
            &[
                "curl",
                "-s",
                "--max-time",
                "5",
                "-u",
                &format!("admin:{BASIC_PASSWORD}"),
                "-o",
                "/dev/null",
                "-w",
                "status %{http_code}",
                "http://10.77.0.11/",
            ],
            short,
        ),
        "status 401",
    );
    expect(
        "mdns-browse",
        lab.run(
            ADMIN.name,
            "mdns-browse",
            &["python3", &script("mdns_browse.py"), ADMIN.ip.unwrap(), "3"],
            short,
        ),
        "lab-printer.local.",
    );

    // The Telnet session ends when login refuses the password.
    let telnet_done = wait_until(Duration::from_secs(20), || lab.has_exited("telnet-client"));
    let telnet_log = lab.log("telnet-client");
    expect(
        "telnet-client",
        (telnet_done, telnet_log),
        "login refused: True",
    );
    problems
}

/// Expectations on the analysed report, grouped by device; failures are collected so that one
/// run reports every missing fact.
#[derive(Default)]
struct Checks {
    held: usize,
    failed: BTreeMap<String, (String, Vec<String>)>,
}

impl Checks {
    fn check(&mut self, label: &str, device: &Value, ok: bool, expected: impl Into<String>) {
        if ok {
            self.held += 1;
        } else {
            let pretty = serde_json::to_string_pretty(device).unwrap();
            self.failed
                .entry(label.to_owned())
                .or_insert_with(|| (pretty, Vec::new()))
                .1
                .push(expected.into());
        }
    }

    fn report(&self) -> String {
        let mut text = String::new();
        for (label, (device, expectations)) in &self.failed {
            let _ = writeln!(text, "--- {label}: expected");
            for e in expectations {
                let _ = writeln!(text, "  - {e}");
            }
            let _ = writeln!(text, "device JSON:\n{device}");
        }
        text
    }

    fn count_failed(&self) -> usize {
        self.failed.values().map(|(_, e)| e.len()).sum()
    }
}

/// The device with this MAC address.
fn device_by_mac<'a>(report: &'a Value, mac: &str) -> Option<&'a Value> {
    report["devices"]
        .as_array()?
        .iter()
        .find(|d| d["mac"].as_str() == Some(mac))
}

/// Values of `attribute` facts (from `source` when given).
fn facts<'a>(device: &'a Value, attribute: &str, source: Option<&str>) -> Vec<&'a str> {
    device["facts"]
        .as_array()
        .map(|facts| {
            facts
                .iter()
                .filter(|f| f["attribute"] == attribute)
                .filter(|f| source.is_none_or(|s| f["source"] == s))
                .filter_map(|f| f["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn has_fact(device: &Value, attribute: &str, source: &str, value: &str) -> bool {
    facts(device, attribute, Some(source)).contains(&value)
}

fn has_finding(device: &Value, finding: &str) -> bool {
    device["findings"]
        .as_array()
        .is_some_and(|f| f.iter().any(|v| v == finding))
}

fn list_contains(device: &Value, key: &str, value: &str) -> bool {
    device[key]
        .as_array()
        .is_some_and(|l| l.iter().any(|v| v == value))
}

/// The OUI-lies rule: when the device announced a vendor (any source but the OUI registry)
/// that differs from the registry's, the announced one is shown and the conflict explains it.
fn check_announced_vendor_wins(checks: &mut Checks, label: &str, device: &Value) {
    let oui = facts(device, "vendor", Some("oui"));
    let announced: Vec<&str> = device["facts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["attribute"] == "vendor" && f["source"] != "oui" && f["source"] != "rules")
        .filter_map(|f| f["value"].as_str())
        .collect();
    if announced.is_empty() {
        return;
    }
    let shown = device["vendor"].as_str().unwrap_or_default();
    checks.check(
        label,
        device,
        announced.contains(&shown) && !oui.contains(&shown),
        format!(
            "vendor to be the announced one ({announced:?}), not the OUI registry's ({oui:?}); shown {shown:?}"
        ),
    );
    if !oui.is_empty() && !oui.iter().all(|o| announced.contains(o)) {
        let explained = device["conflicts"].as_array().is_some_and(|conflicts| {
            conflicts.iter().any(|c| {
                c["attribute"] == "vendor"
                    && c["chosen"] == shown
                    && c["chosen_source"] != "oui"
                    && c["others"]
                        .as_array()
                        .is_some_and(|o| o.iter().any(|f| f["source"] == "oui"))
                    && c["reason"].as_str().is_some_and(|r| !r.is_empty())
            })
        });
        checks.check(
            label,
            device,
            explained,
            "a vendor conflict naming the OUI registry's value as the loser, with a reason",
        );
    }
}

/// Whether the report has an event of this protocol and kind between these addresses whose
/// detail contains `detail` (case-insensitive).
fn has_event(
    report: &Value,
    protocol: &str,
    kind: &str,
    (src, dst): (&str, &str),
    detail: &str,
) -> bool {
    report["events"].as_array().is_some_and(|events| {
        events.iter().any(|e| {
            e["protocol"] == protocol
                && e["kind"] == kind
                && e["src"] == src
                && e["dst"] == dst
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.to_lowercase().contains(&detail.to_lowercase()))
        })
    })
}

/// A ClientHello's fingerprints as the reference (tshark, lab/tls_fingerprints.py) sees them.
#[derive(Debug)]
struct TlsReference {
    client: String,
    ja3: String,
    ja4: String,
}

fn tls_reference(pcap: &Path) -> Vec<TlsReference> {
    let output = Command::new("python3")
        .arg(lab_files().join("tls_fingerprints.py"))
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tls_fingerprints.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            Some(TlsReference {
                client: parts.next()?.to_owned(),
                ja3: parts.next()?.to_owned(),
                ja4: parts.next()?.to_owned(),
            })
        })
        .collect()
}

fn check_report(report: &Value, tls: &[TlsReference], checks: &mut Checks) {
    let missing = Value::Null;
    let get = |d: &Device| device_by_mac(report, d.mac).unwrap_or(&missing);
    // Only the lab's devices talk on the bridge (the bridge itself stays silent).
    for device in report["devices"].as_array().into_iter().flatten() {
        let known = DEVICES.iter().any(|d| device["mac"] == d.mac);
        checks.check(
            "report",
            device,
            known,
            "only devices of the lab (this one is not)",
        );
    }
    for d in DEVICES {
        let device = get(d);
        checks.check(
            d.name,
            device,
            !device.is_null(),
            format!("a device with MAC {}", d.mac),
        );
        let ip = d.ip.unwrap_or(LAPTOP_IP);
        checks.check(
            d.name,
            device,
            list_contains(device, "ips", ip),
            format!("address {ip} on MAC {}", d.mac),
        );
    }

    // DHCP and DNS server.
    let dns = get(&DNS);
    checks.check(
        "dns",
        dns,
        has_fact(dns, "service", "dhcp", "dhcp-server"),
        "service dhcp-server (dhcp)",
    );
    checks.check(
        "dns",
        dns,
        has_event(
            report,
            "dhcp",
            "discovery",
            (DNS.ip.unwrap(), LAPTOP_IP),
            &format!("ACK {LAPTOP_IP} to {}", LAPTOP.mac),
        ),
        format!(
            "a dhcp event for the ACK of {LAPTOP_IP} to {}; events: {}",
            LAPTOP.mac, report["events"]
        ),
    );

    // The laptop: what it announced over DHCP, bound to its MAC; its OS from the vendor class
    // although its NIC is Apple's; its TLS client fingerprints.
    let laptop = get(&LAPTOP);
    checks.check(
        "laptop",
        laptop,
        has_fact(laptop, "hostname", "dhcp", "lab-laptop"),
        "hostname lab-laptop (dhcp)",
    );
    checks.check(
        "laptop",
        laptop,
        list_contains(laptop, "hostnames", "lab-laptop"),
        "lab-laptop among hostnames",
    );
    checks.check(
        "laptop",
        laptop,
        has_fact(laptop, "vendor_class", "dhcp", "MSFT 5.0"),
        "vendor_class MSFT 5.0 (dhcp)",
    );
    checks.check(
        "laptop",
        laptop,
        !facts(laptop, "dhcp_fingerprint", Some("dhcp")).is_empty(),
        "a dhcp_fingerprint (dhcp)",
    );
    checks.check(
        "laptop",
        laptop,
        has_fact(laptop, "domain", "dhcp", "lab.test"),
        "domain lab.test (dhcp, from dnsmasq's answer)",
    );
    checks.check(
        "laptop",
        laptop,
        laptop["os"] == "Windows",
        "os Windows (from vendor class MSFT 5.0, whatever the Apple OUI suggests)",
    );
    checks.check(
        "laptop",
        laptop,
        laptop["type"] == "workstation",
        "type workstation (a Windows client)",
    );
    checks.check(
        "laptop",
        laptop,
        !facts(laptop, "vendor", Some("oui")).is_empty(),
        "the OUI registry's vendor as a fact (Apple NIC)",
    );
    check_announced_vendor_wins(checks, "laptop", laptop);
    // The same fingerprints as tshark's JA3 and a JA4 computed from tshark's fields.
    let expected: Vec<&TlsReference> = tls.iter().filter(|r| r.client == LAPTOP_IP).collect();
    checks.check(
        "laptop",
        laptop,
        !expected.is_empty(),
        format!("tshark to decode the laptop's ClientHello (reference: {tls:?})"),
    );
    let (ja3, ja4) = (
        facts(laptop, "ja3", Some("tls")),
        facts(laptop, "ja4", Some("tls")),
    );
    for reference in expected {
        checks.check(
            "laptop",
            laptop,
            ja3.contains(&reference.ja3.as_str()),
            format!("ja3 {} (tls), as tshark computes it", reference.ja3),
        );
        checks.check(
            "laptop",
            laptop,
            ja4.contains(&reference.ja4.as_str()),
            format!(
                "ja4 {} (tls), as computed from tshark's fields",
                reference.ja4
            ),
        );
    }

    // LLDP.
    let switch = get(&SWITCH);
    checks.check(
        "switch",
        switch,
        has_fact(switch, "hostname", "lldp", "lab-switch-1"),
        "hostname lab-switch-1 (lldp)",
    );
    checks.check(
        "switch",
        switch,
        has_fact(switch, "description", "lldp", "Ironward lab switch (lldpd)"),
        "description \"Ironward lab switch (lldpd)\" (lldp)",
    );
    checks.check(
        "switch",
        switch,
        has_fact(switch, "capability", "lldp", "bridge"),
        "capability bridge (lldp)",
    );
    checks.check(
        "switch",
        switch,
        has_fact(switch, "management_address", "lldp", "10.77.0.2"),
        "management_address 10.77.0.2 (lldp)",
    );
    checks.check(
        "switch",
        switch,
        switch["type"] == "switch",
        "type switch (announces an enabled bridge capability)",
    );

    // SNMP.
    let agent = get(&AGENT);
    for (attribute, value) in [
        ("hostname", "lab-snmp-agent"),
        (
            "description",
            "Ironward lab SNMP agent (net-snmp on Debian)",
        ),
        ("location", "Lab rack 3, row B"),
        ("contact", "NOC <noc@lab.test>"),
        ("object_id", "1.3.6.1.4.1.8072.3.2.10"),
    ] {
        checks.check(
            "agent",
            agent,
            has_fact(agent, attribute, "snmp", value),
            format!("{attribute} {value:?} (snmp)"),
        );
    }
    checks.check(
        "agent",
        agent,
        has_fact(agent, "software", "snmp", "net-snmp"),
        "software net-snmp (sysObjectID under enterprise 8072)",
    );
    for finding in ["snmp_v1_v2c", "snmp_default_community"] {
        checks.check(
            "agent",
            agent,
            has_finding(agent, finding),
            format!("finding {finding}"),
        );
    }

    // mDNS printer on an Intel NIC: named after what it announces.
    let printer = get(&PRINTER);
    checks.check(
        "printer",
        printer,
        printer["vendor"] == "HP",
        "vendor HP (usb_MFG, ty) despite the Intel OUI",
    );
    checks.check(
        "printer",
        printer,
        printer["model"] == "HP LaserJet M507",
        "model HP LaserJet M507",
    );
    checks.check(
        "printer",
        printer,
        printer["type"] == "printer",
        "type printer",
    );
    checks.check(
        "printer",
        printer,
        has_fact(printer, "model", "mdns", "HP LaserJet M507"),
        "model HP LaserJet M507 (mdns, TXT ty)",
    );
    checks.check(
        "printer",
        printer,
        has_fact(printer, "vendor", "mdns", "HP"),
        "vendor HP (mdns, TXT usb_MFG)",
    );
    checks.check(
        "printer",
        printer,
        has_fact(printer, "service", "mdns", "_ipp._tcp"),
        "service _ipp._tcp (mdns)",
    );
    checks.check(
        "printer",
        printer,
        list_contains(printer, "hostnames", "lab-printer.local"),
        "hostname lab-printer.local (mdns SRV target)",
    );
    checks.check(
        "printer",
        printer,
        facts(printer, "vendor", Some("oui"))
            .iter()
            .any(|v| v.contains("Intel")),
        "the OUI registry's vendor (Intel) kept as a fact",
    );
    check_announced_vendor_wins(checks, "printer", printer);

    // UPnP: SSDP answer and the description fetched with curl.
    let hue = get(&HUE);
    for (attribute, source, value) in [
        ("vendor", "upnp", "Signify"),
        ("serial", "upnp", "001788770005"),
        ("hostname", "upnp", "Lab Hue Bridge (10.77.0.5)"),
        ("software", "ssdp", "Linux/3.14.0 UPnP/1.0 IpBridge/1.60.0"),
        ("service", "ssdp", "urn:schemas-upnp-org:device:Basic:1"),
        ("url", "ssdp", "http://10.77.0.5:49152/description.xml"),
    ] {
        checks.check(
            "hue",
            hue,
            has_fact(hue, attribute, source, value),
            format!("{attribute} {value:?} ({source})"),
        );
    }
    checks.check(
        "hue",
        hue,
        facts(hue, "model", Some("upnp"))
            .iter()
            .any(|m| m.contains("Philips hue bridge 2015")),
        "a model fact (upnp) naming Philips hue bridge 2015 (modelName)",
    );
    checks.check(
        "hue",
        hue,
        hue["vendor"] == "Signify",
        "vendor Signify (UPnP manufacturer beats the OUI registry)",
    );
    check_announced_vendor_wins(checks, "hue", hue);
    checks.check(
        "hue",
        hue,
        hue["type"] == "iot_gateway",
        "type iot_gateway (a Philips hue bridge)",
    );
    checks.check(
        "hue",
        hue,
        hue["serial"] == "001788770005",
        "serial 001788770005",
    );
    checks.check(
        "hue",
        hue,
        hue["model"]
            .as_str()
            .is_some_and(|m| m.contains("Philips hue bridge 2015")),
        "model naming Philips hue bridge 2015",
    );

    // SSH: Debian's OpenSSH banner names the software and the OS.
    let ssh = get(&SSH);
    checks.check(
        "ssh",
        ssh,
        facts(ssh, "software", Some("ssh"))
            .iter()
            .any(|s| s.starts_with("OpenSSH_") && s.contains("Debian")),
        "software OpenSSH_… Debian-… (ssh server banner)",
    );
    checks.check(
        "ssh",
        ssh,
        ssh["os"].as_str().is_some_and(|os| os.contains("Debian")),
        "os naming Debian (from the banner)",
    );
    let admin = get(&ADMIN);
    checks.check(
        "admin",
        admin,
        facts(admin, "user_agent", Some("ssh"))
            .iter()
            .any(|s| s.starts_with("OpenSSH_") && s.contains("Debian")),
        "user_agent OpenSSH_… Debian-… (ssh client banner)",
    );
    checks.check(
        "admin",
        admin,
        has_fact(admin, "user_agent", "ssh", "OpenSSH-keyscan"),
        "user_agent OpenSSH-keyscan (ssh-keyscan's banner)",
    );

    // Telnet: in use, and a failed login.
    let telnet = get(&TELNET);
    checks.check(
        "telnet",
        telnet,
        has_finding(telnet, "telnet_in_use"),
        "finding telnet_in_use",
    );
    checks.check(
        "telnet",
        telnet,
        has_event(
            report,
            "telnet",
            "auth",
            (ADMIN.ip.unwrap(), TELNET.ip.unwrap()),
            "fail",
        ),
        format!(
            "an auth event (protocol telnet) from {} to {} saying the login failed; events: {}",
            ADMIN.ip.unwrap(),
            TELNET.ip.unwrap(),
            report["events"]
        ),
    );

    checks.check(
        "telnet",
        telnet,
        facts(telnet, "description", Some("telnet"))
            .iter()
            .any(|d| d.contains("lab-telnet")),
        "a description (telnet banner) naming the host lab-telnet",
    );

    // MQTT without credentials, in clear text.
    let broker = get(&BROKER);
    for finding in ["mqtt_without_authentication", "mqtt_cleartext"] {
        checks.check(
            "broker",
            broker,
            has_finding(broker, finding),
            format!("finding {finding}"),
        );
    }
    checks.check(
        "admin",
        admin,
        has_finding(admin, "mqtt_without_authentication"),
        "finding mqtt_without_authentication on the MQTT client",
    );
    checks.check(
        "admin",
        admin,
        has_fact(admin, "client_id", "mqtt", "lab-sensor-1"),
        "client_id lab-sensor-1 (mqtt CONNECT)",
    );
    checks.check(
        "broker",
        broker,
        has_event(
            report,
            "mqtt",
            "auth",
            (ADMIN.ip.unwrap(), BROKER.ip.unwrap()),
            "accepted",
        ),
        format!(
            "an auth event (protocol mqtt) from {} to {} saying the connection was accepted; \
             events: {}",
            ADMIN.ip.unwrap(),
            BROKER.ip.unwrap(),
            report["events"]
        ),
    );

    // VNC.
    let vnc = get(&VNC);
    checks.check(
        "vnc",
        vnc,
        has_finding(vnc, "vnc_without_authentication"),
        "finding vnc_without_authentication",
    );
    checks.check(
        "vnc",
        vnc,
        has_fact(vnc, "description", "rfb", "lab-vnc"),
        "description lab-vnc (rfb ServerInit desktop name)",
    );
    checks.check(
        "vnc",
        vnc,
        has_event(
            report,
            "rfb",
            "auth",
            (ADMIN.ip.unwrap(), VNC.ip.unwrap()),
            "none",
        ),
        format!(
            "an auth event (protocol rfb) from {} to {} with security type none; events: {}",
            ADMIN.ip.unwrap(),
            VNC.ip.unwrap(),
            report["events"]
        ),
    );

    // TLS with a self-signed certificate; SNI and DNS name the server.
    let nas = get(&NAS);
    checks.check(
        "nas",
        nas,
        facts(nas, "certificate", Some("tls"))
            .iter()
            .any(|c| c.contains("nas.lab.test")),
        "a certificate fact (tls) naming nas.lab.test",
    );
    checks.check(
        "nas",
        nas,
        has_finding(nas, "tls_self_signed_certificate"),
        "finding tls_self_signed_certificate",
    );
    checks.check(
        "nas",
        nas,
        has_fact(nas, "hostname", "tls", "nas.lab.test"),
        "hostname nas.lab.test (tls SNI, hearsay)",
    );
    checks.check(
        "nas",
        nas,
        has_fact(nas, "hostname", "dns", "nas.lab.test"),
        "hostname nas.lab.test (dns answer from dnsmasq, hearsay)",
    );

    // HTTP Basic in clear text.
    let camera = get(&CAMERA);
    checks.check(
        "camera",
        camera,
        has_finding(camera, "http_basic_cleartext"),
        "finding http_basic_cleartext",
    );
    checks.check(
        "camera",
        camera,
        has_fact(camera, "software", "http", "lab-camera-httpd/1.0"),
        "software lab-camera-httpd/1.0 (http Server)",
    );
}

/// No secret that crossed the lab may be in the report: passwords, the Basic credentials
/// (clear or base64), the SNMP community.
fn check_no_secrets(report: &Value, checks: &mut Checks) {
    let text = report.to_string();
    let basic = "YWRtaW46bGFiLXNlY3JldC1iYXNpYw=="; // base64("admin:lab-secret-basic")
    for secret in [BASIC_PASSWORD, TELNET_PASSWORD, basic] {
        checks.check(
            "report",
            &Value::Null,
            !text.contains(secret),
            format!("no trace of the secret {secret:?} anywhere in the report"),
        );
    }
    let community = report["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["facts"].as_array().into_iter().flatten())
        .any(|f| f["value"] == "public");
    checks.check(
        "report",
        &Value::Null,
        !community,
        "no fact whose value is the SNMP community \"public\"",
    );
}

#[test]
fn lab_devices_are_identified_by_what_they_announce() {
    let started = Instant::now();
    if let Some(reason) = missing_prerequisites() {
        println!("skipped: {reason}");
        return;
    }
    let mut lab = match Lab::new() {
        Ok(lab) => lab,
        Err(e) => {
            println!("skipped: could not build the lab bridge: {e}");
            return;
        }
    };
    for device in DEVICES {
        if let Err(e) = lab.add_device(device) {
            println!("skipped: could not build the lab network: {e}");
            return;
        }
    }

    // The capture starts first and stops last.
    let pcap = lab.path("lab.pcap");
    lab.spawn(
        "br",
        "tcpdump",
        &[
            "tcpdump",
            "-i",
            "br0",
            "-n",
            "-s",
            "0",
            "-U",
            "-Z",
            "root",
            "-w",
            &pcap.display().to_string(),
        ],
    );
    assert!(
        wait_until(Duration::from_secs(10), || lab
            .log("tcpdump")
            .contains("listening on")),
        "tcpdump did not start: {}",
        lab.log("tcpdump")
    );

    let mut problems = start_servers(&mut lab);
    let ready = started.elapsed();
    if problems.is_empty() {
        problems.extend(run_clients(&mut lab));
    }
    // A last LLDP frame and any late answers.
    std::thread::sleep(Duration::from_millis(1200));
    let labels: Vec<String> = lab.processes.iter().map(|p| p.label.clone()).collect();
    for label in labels.iter().filter(|l| *l != "tcpdump") {
        lab.stop(label, Duration::from_secs(2));
    }
    lab.stop("tcpdump", Duration::from_secs(5));
    let traffic_done = started.elapsed();
    assert!(
        problems.is_empty(),
        "the lab did not run as intended:\n{}",
        problems.join("\n")
    );
    if let Some(keep) = std::env::var_os("IRONWARD_LAB_PCAP") {
        std::fs::copy(&pcap, &keep).unwrap();
        println!("lab capture kept in {}", Path::new(&keep).display());
    }

    let output = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ironward analyze failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let packets = report["stats"]["packets"].as_u64().unwrap_or_default();
    assert!(packets > 100, "too few frames captured: {packets}");

    let mut checks = Checks::default();
    check_report(&report, &tls_reference(&pcap), &mut checks);
    check_no_secrets(&report, &mut checks);
    println!(
        "lab: {} devices, {packets} frames; servers ready after {:.1} s, traffic done after \
         {:.1} s, analysed after {:.1} s; {} expectations held, {} did not",
        DEVICES.len(),
        ready.as_secs_f64(),
        traffic_done.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        checks.held,
        checks.count_failed()
    );
    assert!(
        checks.failed.is_empty(),
        "{} expectations on the lab's devices did not hold:\n{}",
        checks.count_failed(),
        checks.report()
    );
}
