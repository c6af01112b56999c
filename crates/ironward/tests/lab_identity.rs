//! The lab test of issue 4: a small network of network namespaces on one Linux bridge, each
//! namespace a "device" running a real, independent implementation (dnsmasq, busybox udhcpc,
//! lldpd, net-snmp, python-zeroconf, ssdpy, OpenSSH, inetutils telnetd — with a login, and
//! giving a shell without one — mosquitto, TigerVNC, OpenSSL, curl). Everything crossing the bridge is captured with tcpdump, the capture is
//! analysed by the `ironward` binary, and each device's identity and findings are checked,
//! including devices whose NIC's OUI names another vendor than the one they announce.
//!
//! Needs root (network namespaces) and the Debian and PyPI packages `scripts/test` installs;
//! otherwise it prints `skipped: <reason>` and passes. The capture is made at test time and
//! deleted with the lab (set `IRONWARD_LAB_PCAP=<path>` to keep a copy). Only addresses inside
//! the lab are used (10.77.0.0/24, link-local multicast on the lab bridge): no namespace has a
//! route anywhere else. Helper peers and files are in `tests/lab/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod lab_common;

use lab_common::{
    device, exited, find_program, tail, wait_until, AdministrationServers, Args, Device, Lab,
    LabOptions, SNMP_V1_V2_REMOVE, TELNET_DISABLE, TELNET_REQUIRE_AUTHENTICATION,
    VNC_REQUIRE_AUTHENTICATION,
};

/// The identity lab's network: LLDP forwarded, IPv6 and a multicast route on every device (mDNS,
/// SSDP, neighbour discovery).
const OPTIONS: LabOptions = LabOptions {
    prefix: "iwlab",
    dir_prefix: "ironward-lab-",
    forward_lldp: true,
    device_ipv6: true,
    multicast_route: true,
};

/// How long a client may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// dnsmasq: DHCP server and DNS server of the `lab.test` domain (a Xen virtual NIC).
const DNS: Device = device("dns", "00:16:3e:77:00:01", "10.77.0.1");
/// lldpd announcing a bridge (Arista OUI).
const SWITCH: Device = device("switch", "00:1c:73:77:00:02", "10.77.0.2");
/// net-snmp agent answering community `public` (QEMU virtual NIC).
const AGENT: Device = device("agent", "52:54:00:77:00:03", "10.77.0.3");
/// python-zeroconf announcing an HP LaserJet from an Intel NIC: the OUI lies.
const PRINTER: Device = device("printer", "00:1b:21:77:00:04", "10.77.0.4");
/// A UPnP device (ssdpy + its description over HTTP), Philips Lighting OUI, announcing Signify.
const HUE: Device = device("hue", "00:17:88:77:00:05", "10.77.0.5");
/// OpenSSH server.
const SSH: Device = device("ssh", "52:54:00:77:00:06", "10.77.0.6");
/// inetutils telnetd started by inetutils-inetd.
const TELNET: Device = device("telnet", "52:54:00:77:00:07", "10.77.0.7");
/// inetutils telnetd running a shell instead of login (`-E /bin/sh`): no credentials asked.
const SHELL: Device = device("shell", "52:54:00:77:00:0c", "10.77.0.12");
/// mosquitto broker, anonymous clients allowed (Raspberry Pi OUI).
const BROKER: Device = device("broker", "b8:27:eb:77:00:08", "10.77.0.8");
/// TigerVNC server (Xvnc) with security type None.
const VNC: Device = device("vnc", "52:54:00:77:00:09", "10.77.0.9");
/// `openssl s_server` with a self-signed certificate (Synology OUI).
const NAS: Device = device("nas", "00:11:32:77:00:0a", "10.77.0.10");
/// An HTTP server asking for Basic authentication (Axis OUI).
const CAMERA: Device = device("camera", "ac:cc:8e:77:00:0b", "10.77.0.11");
/// The administrator's workstation: the management clients run here.
const ADMIN: Device = device("admin", "52:54:00:77:00:14", "10.77.0.20");
/// A laptop with an Apple NIC that announces itself over DHCP as a Windows machine (vendor
/// class `MSFT 5.0`): the OUI says nothing true about what runs on it. It leases its address
/// from dnsmasq, asks dnsmasq's DNS, and fetches a page from the NAS with curl over TLS.
const LAPTOP: Device = device("laptop", "a4:83:e7:77:00:32", "10.77.0.50");

const DEVICES: [&Device; 14] = [
    &DNS, &SWITCH, &AGENT, &PRINTER, &HUE, &SSH, &TELNET, &SHELL, &BROKER, &VNC, &NAS, &CAMERA,
    &ADMIN, &LAPTOP,
];

/// Secrets the clients send; none may appear in the report.
const BASIC_PASSWORD: &str = "lab-secret-basic";
/// base64("admin:lab-secret-basic"), as it crosses in the `Authorization` header.
const BASIC_TOKEN: &str = "YWRtaW46bGFiLXNlY3JldC1iYXNpYw==";
const TELNET_PASSWORD: &str = "not-the-password";

/// Programs the lab runs, with the Debian package that brings each.
const PROGRAMS: [(&str, &str); 21] = [
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("tcpdump", "tcpdump"),
    ("tshark", "tshark"),
    ("dnsmasq", "dnsmasq"),
    ("busybox", "busybox"),
    ("lldpd", "lldpd"),
    ("lldpcli", "lldpd"),
    ("snmpd", "snmpd"),
    ("snmpget", "snmp"),
    ("sshd", "openssh-server"),
    ("ssh", "openssh-client"),
    ("ssh-keyscan", "openssh-client"),
    ("inetutils-inetd", "inetutils-inetd"),
    ("telnetd", "inetutils-telnetd"),
    ("mosquitto", "mosquitto"),
    ("mosquitto_pub", "mosquitto-clients"),
    ("Xvnc", "tigervnc-standalone-server"),
    ("curl", "curl"),
    ("openssl", "openssl"),
    ("python3", "python3"),
];

fn program(name: &str) -> String {
    find_program(name).unwrap().display().to_string()
}

/// Why the lab cannot run here, if it cannot.
fn missing_prerequisites() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("the identity lab needs root (network namespaces, a bridge)".into());
    }
    let missing: Vec<String> = PROGRAMS
        .iter()
        .filter(|(p, _)| find_program(p).is_none())
        .map(|(p, package)| format!("{p} (Debian package {package})"))
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

/// A helper peer or file in `tests/lab/`.
fn lab_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(name)
        .display()
        .to_string()
}

/// The command behind `ip netns exec NS`: the peers' own command lines.
fn python(script: &str) -> Args {
    Args::new("python3").arg(lab_file(script))
}

/// An X display number free on this machine (Xvnc takes one even without X clients).
fn free_display() -> u32 {
    let start = 70 + std::process::id() % 100;
    (start..start + 100)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .unwrap_or(start)
}

/// Writes the servers' configuration files, starts every server and waits until each is ready.
/// Returns what did not become ready.
fn start_servers(lab: &mut Lab) -> Vec<String> {
    // DHCP and DNS for lab.test; the laptop's MAC gets a reserved address.
    let dnsmasq = Args::new(
        "dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
         --bind-interfaces --interface=eth0 --listen-address=10.77.0.1 \
         --dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,10m --no-ping --dhcp-authoritative \
         --domain=lab.test --local=/lab.test/ --host-record=nas.lab.test,10.77.0.10 \
         --log-facility=- --log-dhcp --user=root --group=root",
    )
    .arg(format!("--dhcp-host={},{}", LAPTOP.mac, LAPTOP.ip))
    .arg(format!("--dhcp-leasefile={}", lab.path("dnsmasq.leases")))
    .arg(format!("--pid-file={}", lab.path("dnsmasq.pid")));
    lab.spawn(&DNS, "dnsmasq", dnsmasq);

    // LLDP every second: system name and description set through lldpcli, an enabled bridge.
    let lldpd_conf = lab.write(
        "lldpd.conf",
        "configure system hostname lab-switch-1\n\
         configure system description \"Ironward lab switch (lldpd)\"\n\
         configure system capabilities enabled bridge\n\
         configure lldp tx-interval 1\n",
    );
    let lldpd = Args::new("lldpd -d -I eth0 -m 10.77.0.2 -u")
        .arg(lab.path("lldpd.socket"))
        .then("-O")
        .arg(lldpd_conf);
    lab.spawn(&SWITCH, "lldpd", lldpd);

    // SNMP agent: system group configured, v1/v2c read-only community `public`, numeric OIDs
    // only (no MIB modules to load).
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
    let snmp_dir = lab.path("snmp");
    std::fs::create_dir_all(&snmp_dir).unwrap();
    let snmpd = Args::new("snmpd -f -Lo -C -I -smux -c")
        .arg(snmpd_conf)
        .then("-p")
        .arg(lab.path("snmpd.pid"));
    let env = [("SNMP_PERSISTENT_DIR", snmp_dir.as_str()), ("MIBS", "")];
    lab.spawn_in(AGENT.name, "snmpd", snmpd, &env);

    // mDNS printer and UPnP device.
    lab.spawn(
        &PRINTER,
        "printer",
        python("mdns_printer.py").then("10.77.0.4 lab-printer 120"),
    );
    lab.spawn(
        &HUE,
        "upnp",
        python("upnp_device.py").then("10.77.0.5 49152 120"),
    );

    // OpenSSH on its own configuration and a host key made now; sshd insists on its
    // privilege-separation directory.
    let key = lab.path("ssh_host_ed25519_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", &key])
        .status();
    assert!(keygen.is_ok_and(|s| s.success()), "ssh-keygen failed");
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd_conf = lab.write(
        "sshd_config",
        &format!(
            "ListenAddress 10.77.0.6:22\nHostKey {key}\nPidFile {}\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
            lab.path("sshd.pid")
        ),
    );
    lab.spawn(
        &SSH,
        "sshd",
        Args::new(&program("sshd")).then("-D -e -f").arg(sshd_conf),
    );

    // Telnet: inetutils-inetd runs inetutils telnetd (and login) on port 23, in a UTS namespace
    // of its own so that the banner names the lab device.
    let inetd_conf = lab.write(
        "inetd.conf",
        &format!(
            "10.77.0.7:telnet stream tcp nowait root {} telnetd\n",
            program("telnetd")
        ),
    );
    let inetd = format!(
        "hostname lab-telnet && exec inetutils-inetd -d --pidfile='{}' '{inetd_conf}'",
        lab.path("inetd.pid")
    );
    lab.spawn(
        &TELNET,
        "inetd",
        Args::new("unshare --uts sh -c").arg(inetd),
    );
    // The same telnetd running a shell instead of login: whoever connects gets `# `.
    let shell_conf = lab.write(
        "inetd-shell.conf",
        &format!(
            "10.77.0.12:telnet stream tcp nowait root {} telnetd -E /bin/sh\n",
            program("telnetd")
        ),
    );
    let shell_inetd = format!(
        "hostname lab-shell && exec inetutils-inetd -d --pidfile='{}' '{shell_conf}'",
        lab.path("inetd-shell.pid")
    );
    lab.spawn(
        &SHELL,
        "inetd-shell",
        Args::new("unshare --uts sh -c").arg(shell_inetd),
    );

    // MQTT broker: anonymous clients, clear text.
    let mosquitto_conf = lab.write(
        "mosquitto.conf",
        "listener 1883 10.77.0.8\nallow_anonymous true\npersistence false\nlog_dest stdout\n",
    );
    lab.spawn(
        &BROKER,
        "mosquitto",
        Args::new("mosquitto -c").arg(mosquitto_conf),
    );

    // VNC without authentication.
    let xvnc = Args::new("Xvnc").arg(format!(":{}", free_display())).then(
        "-SecurityTypes None -rfbport 5900 -interface 10.77.0.9 -desktop lab-vnc \
         -geometry 320x240 -depth 16 -nolisten tcp -nolisten unix",
    );
    lab.spawn(&VNC, "xvnc", xvnc);

    // HTTPS with a self-signed certificate made now; TLS 1.2 at most so that the certificate
    // crosses in clear.
    let (cert, cert_key) = (lab.path("tls.crt"), lab.path("tls.key"));
    let req = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", "/O=Ironward Lab/CN=nas.lab.test"])
        .args(["-addext", "subjectAltName=DNS:nas.lab.test"])
        .args(["-keyout", &cert_key, "-out", &cert])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(req.is_ok_and(|s| s.success()), "openssl req failed");
    let s_server = Args::new("openssl s_server -accept 10.77.0.10:443 -www -no_tls1_3 -quiet")
        .then("-cert")
        .arg(cert)
        .then("-key")
        .arg(cert_key);
    lab.spawn(&NAS, "s_server", s_server);

    // HTTP Basic authentication in clear text.
    lab.spawn(
        &CAMERA,
        "camera",
        python("basic_http.py").then("10.77.0.11 80 120"),
    );

    // Readiness: listening sockets, or what the peer says once ready.
    let mut problems = Vec::new();
    let sockets = [
        ("dnsmasq", &DNS, 'u', 67),
        ("dnsmasq", &DNS, 'u', 53),
        ("snmpd", &AGENT, 'u', 161),
        ("upnp", &HUE, 't', 49152),
        ("upnp", &HUE, 'u', 1900),
        ("sshd", &SSH, 't', 22),
        ("inetd", &TELNET, 't', 23),
        ("inetd-shell", &SHELL, 't', 23),
        ("mosquitto", &BROKER, 't', 1883),
        ("xvnc", &VNC, 't', 5900),
        ("s_server", &NAS, 't', 443),
        ("camera", &CAMERA, 't', 80),
    ];
    for (label, device, transport, port) in sockets {
        if !wait_until(Duration::from_secs(10), || {
            lab.listening(device, transport, port)
        }) {
            problems.push(format!(
                "{label} does not listen on {transport}{port} in {}; its log:\n{}",
                device.name,
                tail(&lab.log(label))
            ));
        }
    }
    for (label, line) in [
        ("printer", "registered"),
        ("lldpd", "lldpd should resume operations"),
    ] {
        if !wait_until(Duration::from_secs(10), || lab.log(label).contains(line)) {
            problems.push(format!(
                "{label} did not say {line:?}:\n{}",
                tail(&lab.log(label))
            ));
        }
    }
    let labels: Vec<String> = lab.processes.iter().map(|p| p.label.clone()).collect();
    for label in labels {
        if exited(&mut lab.process(&label).child) {
            problems.push(format!("{label} exited early:\n{}", tail(&lab.log(&label))));
        }
    }
    problems
}

/// Runs every client; returns what went wrong.
fn run_clients(lab: &mut Lab) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |label: &str, (ok, text): (bool, String), wanted: &str| {
        if !ok || !text.contains(wanted) {
            problems.push(format!(
                "client {label} failed (wanted {wanted:?} in its output):\n{text}"
            ));
        }
    };

    // The Telnet login takes seconds (login's failure delay): it runs while the others do.
    let telnet = python("telnet_login.py")
        .then("10.77.0.7 23 labuser")
        .arg(TELNET_PASSWORD);
    lab.spawn(&ADMIN, "telnet-client", telnet);

    // The laptop: DHCP with host name and vendor class, DNS, HTTPS with SNI.
    let udhcpc = Args::new("busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -x hostname:lab-laptop -V")
        .arg("MSFT 5.0")
        .then("-s")
        .arg(lab_file("udhcpc.script"));
    expect(
        "udhcpc",
        lab.run(&LAPTOP, "udhcpc", udhcpc, CLIENT_TIMEOUT),
        "leased 10.77.0.50/24",
    );
    let nslookup = Args::new("busybox nslookup nas.lab.test 10.77.0.1");
    expect(
        "nslookup",
        lab.run(&LAPTOP, "nslookup", nslookup, CLIENT_TIMEOUT),
        "10.77.0.10",
    );
    let https = Args::new("curl -sk --max-time 5 -o /dev/null -w")
        .arg("status %{http_code}")
        .then("--resolve nas.lab.test:443:10.77.0.10 https://nas.lab.test/");
    expect(
        "curl-https",
        lab.run(&LAPTOP, "curl-https", https, CLIENT_TIMEOUT),
        "status 200",
    );

    // The administrator's workstation.
    let snmpget = Args::new(
        "snmpget -v2c -c public -On -t 2 -r 1 10.77.0.3 1.3.6.1.2.1.1.1.0 1.3.6.1.2.1.1.2.0 \
         1.3.6.1.2.1.1.4.0 1.3.6.1.2.1.1.5.0 1.3.6.1.2.1.1.6.0",
    );
    expect(
        "snmpget",
        lab.run(&ADMIN, "snmpget", snmpget, CLIENT_TIMEOUT),
        "lab-snmp-agent",
    );
    let keyscan = Args::new("ssh-keyscan -T 3 -t ed25519 10.77.0.6");
    expect(
        "ssh-keyscan",
        lab.run(&ADMIN, "ssh-keyscan", keyscan, CLIENT_TIMEOUT),
        "ssh-ed25519",
    );
    // A real login attempt, refused (public keys only, none offered): the client's banner.
    let ssh = Args::new(
        "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o IdentityFile=/dev/null \
         -o PreferredAuthentications=publickey -o ConnectTimeout=3 labuser@10.77.0.6 true",
    );
    let (_, ssh_output) = lab.run(&ADMIN, "ssh", ssh, CLIENT_TIMEOUT);
    expect("ssh", (true, ssh_output), "Permission denied");
    // The administrator reaches the switch's management address.
    let ping = Args::new("busybox ping -c 1 -W 2 10.77.0.2");
    expect(
        "ping",
        lab.run(&ADMIN, "ping", ping, CLIENT_TIMEOUT),
        "1 packets received",
    );
    let publish = Args::new(
        "mosquitto_pub -h 10.77.0.8 -p 1883 -i lab-sensor-1 -t lab/temperature -m 21.5 -q 1",
    );
    expect(
        "mosquitto_pub",
        lab.run(&ADMIN, "mosquitto_pub", publish, CLIENT_TIMEOUT),
        "",
    );
    let shell = python("telnet_shell.py").then("10.77.0.12 23");
    expect(
        "telnet-shell",
        lab.run(&ADMIN, "telnet-shell", shell, CLIENT_TIMEOUT),
        "shell answered: True",
    );
    let vnc = python("vnc_client.py").then("10.77.0.9 5900");
    expect(
        "vnc-client",
        lab.run(&ADMIN, "vnc-client", vnc, CLIENT_TIMEOUT),
        "desktop: 320 240 lab-vnc",
    );
    let search = python("ssdp_search.py").then("10.77.0.20 urn:schemas-upnp-org:device:Basic:1");
    let search = lab.run(&ADMIN, "ssdp-search", search, CLIENT_TIMEOUT);
    match search
        .1
        .lines()
        .find(|l| l.starts_with("http://10.77.0.5:"))
    {
        Some(location) => {
            let fetch = Args::new("curl -s --max-time 5").arg(location);
            let wanted = "<serialNumber>001788770005</serialNumber>";
            expect(
                "curl-upnp",
                lab.run(&ADMIN, "curl-upnp", fetch, CLIENT_TIMEOUT),
                wanted,
            );
        }
        None => expect(
            "ssdp-search",
            search,
            "http://10.77.0.5:49152/description.xml",
        ),
    }
    let basic = Args::new("curl -s --max-time 5 -o /dev/null -u")
        .arg(format!("admin:{BASIC_PASSWORD}"))
        .then("-w")
        .arg("status %{http_code}")
        .then("http://10.77.0.11/");
    expect(
        "curl-basic",
        lab.run(&ADMIN, "curl-basic", basic, CLIENT_TIMEOUT),
        "status 401",
    );
    let browse = python("mdns_browse.py").then("10.77.0.20 3");
    expect(
        "mdns-browse",
        lab.run(&ADMIN, "mdns-browse", browse, CLIENT_TIMEOUT),
        "lab-printer.local.",
    );

    // The Telnet session ends when login refuses the password.
    let client = &mut lab.process("telnet-client").child;
    let done = wait_until(Duration::from_secs(20), || exited(client));
    let output = tail(&lab.log("telnet-client"));
    expect("telnet-client", (done, output), "login refused: True");
    problems
}

/// A ClientHello's fingerprints as the reference sees them (tshark's JA3, and JA4 computed by
/// `tests/lab/tls_fingerprints.py` from tshark's fields).
#[derive(Debug)]
struct TlsReference {
    client: String,
    ja3: String,
    ja4: String,
}

fn tls_reference(pcap: &str) -> Vec<TlsReference> {
    let output = Command::new("python3")
        .args([&lab_file("tls_fingerprints.py"), pcap])
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
            let mut parts = line.split('\t').map(str::to_owned);
            Some(TlsReference {
                client: parts.next()?,
                ja3: parts.next()?,
                ja4: parts.next()?,
            })
        })
        .collect()
}

/// Values of a device's `attribute` facts (from `source` when given).
fn facts<'a>(device: &'a Value, attribute: &str, source: Option<&str>) -> Vec<&'a str> {
    device["facts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["attribute"] == attribute && source.is_none_or(|s| f["source"] == s))
        .filter_map(|f| f["value"].as_str())
        .collect()
}

fn contains(list: &Value, value: &str) -> bool {
    list.as_array()
        .is_some_and(|l| l.iter().any(|v| v == value))
}

/// Expectations on the analysed report. Failures are collected per device so that one run
/// reports every missing fact, each with what was expected, and the device's JSON once.
struct Verdict<'a> {
    report: &'a Value,
    held: usize,
    failed: BTreeMap<String, (String, Vec<String>)>,
}

impl<'a> Verdict<'a> {
    fn new(report: &'a Value) -> Verdict<'a> {
        Verdict {
            report,
            held: 0,
            failed: BTreeMap::new(),
        }
    }

    /// The device with `d`'s MAC address (`null` when there is none).
    fn device(&self, d: &Device) -> &'a Value {
        self.report["devices"]
            .as_array()
            .and_then(|devices| devices.iter().find(|x| x["mac"] == d.mac))
            .unwrap_or(&Value::Null)
    }

    fn check(&mut self, label: &str, device: &Value, ok: bool, expected: impl Into<String>) {
        if ok {
            self.held += 1;
            return;
        }
        let json = serde_json::to_string_pretty(device).unwrap();
        let entry = self
            .failed
            .entry(label.to_owned())
            .or_insert_with(|| (json, Vec::new()));
        entry.1.push(expected.into());
    }

    fn that(&mut self, d: &Device, ok: impl FnOnce(&Value) -> bool, expected: impl Into<String>) {
        let device = self.device(d);
        self.check(d.name, device, ok(device), expected);
    }

    /// The device has this fact.
    fn fact(&mut self, d: &Device, attribute: &str, source: &str, value: &str) {
        let ok = |x: &Value| facts(x, attribute, Some(source)).contains(&value);
        self.that(d, ok, format!("{attribute} {value:?} ({source})"));
    }

    /// The device has an `attribute` fact from `source` that satisfies `test`.
    fn fact_like(
        &mut self,
        d: &Device,
        (attribute, source): (&str, &str),
        test: impl Fn(&str) -> bool,
        expected: &str,
    ) {
        let ok = |x: &Value| facts(x, attribute, Some(source)).into_iter().any(&test);
        self.that(d, ok, format!("{attribute} ({source}): {expected}"));
    }

    /// The device shows `value` as its `key` (vendor, model, type, os, serial).
    fn shows(&mut self, d: &Device, key: &str, value: &str, why: &str) {
        self.that(d, |x| x[key] == value, format!("{key} {value:?}: {why}"));
    }

    fn finding(&mut self, d: &Device, finding: &str) {
        self.that(
            d,
            |x| contains(&x["findings"], finding),
            format!("finding {finding}"),
        );
    }

    fn no_finding(&mut self, d: &Device, finding: &str) {
        self.that(
            d,
            |x| !contains(&x["findings"], finding),
            format!("no finding {finding}"),
        );
    }

    /// An event of this protocol and category from `src` to `dst` whose detail contains `detail`
    /// (case-insensitive).
    fn event(
        &mut self,
        d: &Device,
        (protocol, kind): (&str, &str),
        (src, dst): (&str, &str),
        detail: &str,
    ) {
        let found = self.report["events"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| {
                e["protocol"] == protocol
                    && e["category"] == kind
                    && e["src"]["ip"] == src
                    && e["dst"]["ip"] == dst
                    && e["detail"]
                        .as_str()
                        .is_some_and(|x| x.to_lowercase().contains(&detail.to_lowercase()))
            });
        let events = self.report["events"].to_string();
        self.that(
            d,
            |_| found,
            format!(
                "a {protocol} {kind} event from {src} to {dst} saying {detail:?}; events: {events}"
            ),
        );
    }

    /// The OUI-lies rule: when the device announced a vendor (any source but the OUI registry
    /// and the rules), the announced one is shown, not the registry's, and a conflict explains
    /// why the registry's lost.
    fn announced_vendor_wins(&mut self, d: &Device) {
        let device = self.device(d);
        let oui = facts(device, "vendor", Some("oui"));
        let announced: Vec<&str> = device["facts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| {
                f["attribute"] == "vendor" && f["source"] != "oui" && f["source"] != "rules"
            })
            .filter_map(|f| f["value"].as_str())
            .collect();
        if announced.is_empty() {
            return;
        }
        let shown = device["vendor"].as_str().unwrap_or_default();
        self.check(
            d.name,
            device,
            announced.contains(&shown) && !oui.contains(&shown),
            format!("vendor to be the announced one {announced:?}, not the OUI registry's {oui:?}; shown {shown:?}"),
        );
        let explained = contains_conflict(device, shown);
        self.check(
            d.name,
            device,
            oui.is_empty() || explained,
            "a vendor conflict with the OUI registry's value among the losers, and a reason",
        );
    }

    fn count_failed(&self) -> usize {
        self.failed.values().map(|(_, e)| e.len()).sum()
    }

    fn failures(&self) -> String {
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
}

/// Whether a vendor conflict shows `chosen` over the OUI registry's value, with a reason.
fn contains_conflict(device: &Value, chosen: &str) -> bool {
    device["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| {
            c["attribute"] == "vendor"
                && c["chosen"] == chosen
                && c["chosen_source"] != "oui"
                && c["others"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|f| f["source"] == "oui")
                && c["reason"].as_str().is_some_and(|r| !r.is_empty())
        })
}

fn check_report(v: &mut Verdict<'_>, tls: &[TlsReference]) {
    // Every lab device is there with its address; nothing else talks on the bridge.
    for d in DEVICES {
        v.that(d, |x| !x.is_null(), format!("a device with MAC {}", d.mac));
        v.that(
            d,
            |x| contains(&x["ips"], d.ip),
            format!("address {} on MAC {}", d.ip, d.mac),
        );
    }
    for device in v.report["devices"].as_array().into_iter().flatten() {
        let known = DEVICES.iter().any(|d| device["mac"] == d.mac);
        v.check(
            "report",
            device,
            known,
            "only the lab's devices (this one is not)",
        );
    }

    // dnsmasq: the DHCP server, and the lease it granted.
    v.fact(&DNS, "service", "dhcp", "dhcp-server");
    let ack = format!("ACK {} to {}", LAPTOP.ip, LAPTOP.mac);
    v.event(&DNS, ("dhcp", "discovery"), (DNS.ip, LAPTOP.ip), &ack);

    // The laptop: what it announced over DHCP, bound to its MAC; its OS from the vendor class
    // whatever its Apple NIC suggests; its TLS fingerprints, the same as the reference's.
    v.fact(&LAPTOP, "hostname", "dhcp", "lab-laptop");
    v.that(
        &LAPTOP,
        |x| contains(&x["hostnames"], "lab-laptop"),
        "lab-laptop among hostnames",
    );
    v.fact(&LAPTOP, "vendor_class", "dhcp", "MSFT 5.0");
    v.fact_like(
        &LAPTOP,
        ("dhcp_fingerprint", "dhcp"),
        |f| f.starts_with("1,3,6,"),
        "1,3,6,…",
    );
    v.fact(&LAPTOP, "domain", "dhcp", "lab.test");
    v.shows(
        &LAPTOP,
        "os",
        "Windows",
        "from vendor class MSFT 5.0, whatever the Apple OUI says",
    );
    v.shows(&LAPTOP, "type", "workstation", "a Windows client");
    v.fact_like(
        &LAPTOP,
        ("vendor", "oui"),
        |o| o.starts_with("Apple"),
        "the NIC's maker",
    );
    v.announced_vendor_wins(&LAPTOP);
    let references: Vec<&TlsReference> = tls.iter().filter(|r| r.client == LAPTOP.ip).collect();
    let reference = format!("tshark to decode the laptop's ClientHello (reference: {tls:?})");
    v.that(&LAPTOP, |_| !references.is_empty(), reference);
    for r in references {
        v.fact(&LAPTOP, "ja3", "tls", &r.ja3);
        v.fact(&LAPTOP, "ja4", "tls", &r.ja4);
    }

    // lldpd.
    v.fact(&SWITCH, "hostname", "lldp", "lab-switch-1");
    v.fact(
        &SWITCH,
        "description",
        "lldp",
        "Ironward lab switch (lldpd)",
    );
    v.fact(&SWITCH, "capability", "lldp", "bridge");
    v.fact(&SWITCH, "management_address", "lldp", "10.77.0.2");
    v.shows(
        &SWITCH,
        "type",
        "switch",
        "it announces an enabled bridge capability",
    );

    // snmpd, asked with the default community.
    v.fact(&AGENT, "hostname", "snmp", "lab-snmp-agent");
    v.fact(
        &AGENT,
        "description",
        "snmp",
        "Ironward lab SNMP agent (net-snmp on Debian)",
    );
    v.fact(&AGENT, "location", "snmp", "Lab rack 3, row B");
    v.fact(&AGENT, "contact", "snmp", "NOC <noc@lab.test>");
    v.fact(&AGENT, "object_id", "snmp", "1.3.6.1.4.1.8072.3.2.10");
    v.fact(&AGENT, "software", "snmp", "net-snmp");
    v.finding(&AGENT, "snmp_v1_v2c");
    v.finding(&AGENT, "snmp_default_community");

    // The mDNS printer on an Intel NIC: named after what it announces.
    v.fact(&PRINTER, "model", "mdns", "HP LaserJet M507");
    v.fact(&PRINTER, "vendor", "mdns", "HP");
    v.fact(&PRINTER, "service", "mdns", "_ipp._tcp");
    v.fact(&PRINTER, "hostname", "mdns", "lab-printer.local");
    v.fact_like(
        &PRINTER,
        ("vendor", "oui"),
        |o| o.starts_with("Intel"),
        "Intel, kept",
    );
    v.shows(
        &PRINTER,
        "vendor",
        "HP",
        "announced in TXT usb_MFG, despite the Intel OUI",
    );
    v.shows(&PRINTER, "model", "HP LaserJet M507", "announced in TXT ty");
    v.shows(
        &PRINTER,
        "type",
        "printer",
        "an HP LaserJet announcing _ipp._tcp",
    );
    v.announced_vendor_wins(&PRINTER);

    // The UPnP device: its SSDP answer and the description fetched with curl.
    v.fact(
        &HUE,
        "software",
        "ssdp",
        "Linux/3.14.0 UPnP/1.0 IpBridge/1.60.0",
    );
    v.fact(
        &HUE,
        "service",
        "ssdp",
        "urn:schemas-upnp-org:device:Basic:1",
    );
    v.fact(
        &HUE,
        "url",
        "ssdp",
        "http://10.77.0.5:49152/description.xml",
    );
    v.fact(&HUE, "vendor", "upnp", "Signify");
    v.fact(&HUE, "serial", "upnp", "001788770005");
    v.fact(&HUE, "hostname", "upnp", "Lab Hue Bridge (10.77.0.5)");
    let hue_model = |m: &str| m.contains("Philips hue bridge 2015");
    v.fact_like(
        &HUE,
        ("model", "upnp"),
        hue_model,
        "modelName Philips hue bridge 2015",
    );
    v.shows(
        &HUE,
        "vendor",
        "Signify",
        "the UPnP manufacturer beats the OUI registry",
    );
    v.shows(&HUE, "serial", "001788770005", "the UPnP serialNumber");
    let shown_model = |x: &Value| x["model"].as_str().is_some_and(hue_model);
    v.that(&HUE, shown_model, "model naming Philips hue bridge 2015");
    v.shows(&HUE, "type", "iot_gateway", "a Philips hue bridge");
    v.announced_vendor_wins(&HUE);

    // OpenSSH: Debian's banners name the software and the OS.
    let debian_openssh = |s: &str| s.starts_with("OpenSSH_") && s.contains("Debian");
    v.fact_like(
        &SSH,
        ("software", "ssh"),
        debian_openssh,
        "OpenSSH_… Debian-… (server banner)",
    );
    v.that(
        &SSH,
        |x| x["os"].as_str().is_some_and(|o| o.contains("Debian")),
        "os naming Debian",
    );
    v.fact_like(
        &ADMIN,
        ("user_agent", "ssh"),
        debian_openssh,
        "OpenSSH_… Debian-… (client)",
    );
    v.fact(&ADMIN, "user_agent", "ssh", "OpenSSH-keyscan");

    // Telnet: in use, a banner naming the host, and a failed login.
    v.finding(&TELNET, "telnet_in_use");
    v.fact_like(
        &TELNET,
        ("description", "telnet"),
        |d| d.contains("lab-telnet"),
        "host name",
    );
    v.event(
        &TELNET,
        ("telnet", "authentication"),
        (ADMIN.ip, TELNET.ip),
        "fail",
    );
    // A login prompt: cleartext administration, but not a shell without login.
    v.no_finding(&TELNET, "telnet_without_authentication");
    // The shell given to whoever connects: both findings, its banner (the prompt cut off), no
    // login event; the client is no telnet server.
    v.finding(&SHELL, "telnet_in_use");
    v.finding(&SHELL, "telnet_without_authentication");
    v.fact_like(
        &SHELL,
        ("description", "telnet"),
        |d| d.contains("(lab-shell)") && !d.ends_with('#'),
        "host name, without the prompt",
    );
    let shell_logins = v.report["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["protocol"] == "telnet" && e["dst"]["ip"] == SHELL.ip)
        .count();
    v.that(
        &SHELL,
        |_| shell_logins == 0,
        format!("no telnet login event ({shell_logins})"),
    );
    v.no_finding(&ADMIN, "telnet_in_use");
    v.no_finding(&ADMIN, "telnet_without_authentication");

    // MQTT without credentials, in clear text.
    v.finding(&BROKER, "mqtt_without_authentication");
    v.finding(&BROKER, "mqtt_cleartext");
    v.finding(&ADMIN, "mqtt_without_authentication");
    v.fact(&ADMIN, "client_id", "mqtt", "lab-sensor-1");
    v.event(
        &BROKER,
        ("mqtt", "authentication"),
        (ADMIN.ip, BROKER.ip),
        "accepted",
    );

    // VNC without authentication.
    v.finding(&VNC, "vnc_without_authentication");
    v.fact(&VNC, "description", "rfb", "lab-vnc");
    v.event(&VNC, ("rfb", "authentication"), (ADMIN.ip, VNC.ip), "none");

    // TLS with a self-signed certificate; SNI and DNS name the server.
    v.fact_like(
        &NAS,
        ("certificate", "tls"),
        |c| c.contains("CN=nas.lab.test"),
        "its subject",
    );
    v.finding(&NAS, "tls_self_signed_certificate");
    v.fact(&NAS, "hostname", "tls", "nas.lab.test");
    v.fact(&NAS, "hostname", "dns", "nas.lab.test");

    // HTTP Basic in clear text.
    v.finding(&CAMERA, "http_basic_cleartext");
    v.fact(&CAMERA, "software", "http", "lab-camera-httpd/1.0");

    // No secret that crossed the lab is in the report.
    let text = v.report.to_string();
    for secret in [BASIC_PASSWORD, BASIC_TOKEN, TELNET_PASSWORD] {
        let ok = !text.contains(secret);
        v.check(
            "report",
            &Value::Null,
            ok,
            format!("no trace of the secret {secret:?}"),
        );
    }
    let community = DEVICES.iter().any(|d| {
        let device = v.device(d);
        device["facts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["value"] == "public")
    });
    v.check(
        "report",
        &Value::Null,
        !community,
        "no fact whose value is the community public",
    );
}

/// Issue 9's proof: the recommendations about insecure administration protocols list exactly
/// the devices that run them — what the lab was built to run, and what tshark reads in the
/// capture: the login-prompt Telnet device only "Disable … Telnet", the shell without login both
/// Telnet recommendations, Xvnc the VNC one, the net-snmp agent the SNMP one (not the
/// administrator's workstation polling it), and no other device any of the four.
fn check_recommendations(v: &mut Verdict<'_>, servers: &AdministrationServers) {
    let macs = |devices: &[&Device]| -> BTreeSet<String> {
        devices.iter().map(|d| d.mac.to_owned()).collect()
    };
    let designed = [
        ("Telnet servers", &servers.telnet, macs(&[&TELNET, &SHELL])),
        (
            "VNC servers offering None",
            &servers.vnc_none,
            macs(&[&VNC]),
        ),
        ("SNMP v1/v2c agents", &servers.snmp_v1_v2c, macs(&[&AGENT])),
    ];
    for (what, read, built) in designed {
        v.check(
            "recommendations",
            &Value::Null,
            *read == built,
            format!("tshark to read the {what} the lab runs, {built:?}; it reads {read:?}"),
        );
    }
    let expected: [(&str, &[&Device]); 4] = [
        (TELNET_REQUIRE_AUTHENTICATION, &[&SHELL]),
        (TELNET_DISABLE, &[&TELNET, &SHELL]),
        (VNC_REQUIRE_AUTHENTICATION, &[&VNC]),
        (SNMP_V1_V2_REMOVE, &[&AGENT]),
    ];
    for (title, devices) in expected {
        let wanted: BTreeSet<String> = devices.iter().map(|d| format!("mac:{}", d.mac)).collect();
        let listed = lab_common::recommendation_devices(v.report, title);
        let ids: Option<BTreeSet<String>> = listed
            .as_ref()
            .map(|l| l.iter().map(|(id, _)| id.clone()).collect());
        let once = listed
            .as_ref()
            .is_some_and(|l| l.len() == ids.as_ref().map_or(0, BTreeSet::len));
        v.check(
            "recommendations",
            &Value::Null,
            ids.as_ref() == Some(&wanted) && once,
            format!("{title:?} to list exactly {wanted:?}, each once; it lists {listed:?}"),
        );
        // Each listed device with one of its own addresses.
        for d in devices {
            let id = format!("mac:{}", d.mac);
            let ip = listed
                .iter()
                .flatten()
                .find(|(listed, _)| *listed == id)
                .map(|(_, ip)| ip.clone());
            v.that(
                d,
                |x| ip.as_deref().is_some_and(|ip| contains(&x["ips"], ip)),
                format!("{title:?} to give one of its addresses; it gives {ip:?}"),
            );
        }
    }
}

#[test]
fn lab_devices_are_identified_by_what_they_announce() {
    let started = Instant::now();
    if let Some(reason) = missing_prerequisites() {
        println!("skipped: {reason}");
        return;
    }
    let mut lab = match Lab::with_devices(OPTIONS, &DEVICES, |d| d.name != LAPTOP.name) {
        Ok(lab) => lab,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let pcap = lab.start_capture();

    let mut problems = start_servers(&mut lab);
    let ready = started.elapsed();
    if problems.is_empty() {
        problems.extend(run_clients(&mut lab));
    }
    // A last LLDP frame and any late answer.
    lab.stop_all(Duration::from_millis(1200));
    let traffic = started.elapsed();
    assert!(
        problems.is_empty(),
        "the lab did not run as intended:\n{}",
        problems.join("\n")
    );

    let report: Value = lab_common::analyze(&pcap);
    let packets = report["stats"]["packets"].as_u64().unwrap_or_default();
    assert!(packets > 100, "too few frames captured: {packets}");

    let mut verdict = Verdict::new(&report);
    check_report(&mut verdict, &tls_reference(&pcap));
    check_recommendations(&mut verdict, &lab_common::administration_servers(&pcap));
    println!(
        "lab: {} devices, {packets} frames; servers ready after {:.1} s, traffic done after \
         {:.1} s, analysed after {:.1} s; {} expectations held, {} did not",
        DEVICES.len(),
        ready.as_secs_f64(),
        traffic.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        verdict.held,
        verdict.count_failed()
    );
    assert!(
        verdict.failed.is_empty(),
        "{} expectations on the lab's devices did not hold:\n{}",
        verdict.count_failed(),
        verdict.failures()
    );
}
