//! The attack lab of issue 7: a small plant network of network namespaces on one Linux bridge
//! learns its normal traffic, then an attacker host attacks it with real tools, and each attack
//! must yield its alert, with the right engine and ATT&CK for ICS technique, from
//! `ironward analyze --learning <span> --detect` of the capture.
//!
//! Learning phase: an HMI polls a Modbus PLC (pymodbus server) every 100 ms, a SCADA server
//! reads a data block of an S7 PLC (python-snap7 server) every 250 ms and interrogates an
//! IEC 104 RTU (c104) every second, and the engineering workstation logs in to a gateway over
//! SSH (OpenSSH, public key) and to a Telnet-managed device (inetutils telnetd; with a mistyped
//! password, the lab has no account there). The polling goes on through the attack phase, and
//! the workstation logs in again after the attacks: normal traffic that must raise no alert.
//! The gateway also serves DHCP (dnsmasq), the workstation asks it for a lease (busybox
//! udhcpc, the address not applied), and the SCADA server reads the remote I/O rack's system
//! description over SNMP (net-snmp snmpget and snmpd, community `plant-ro`); both again after
//! the attacks.
//!
//! Attack phase, from a new host: nmap SYN scan of the subnet on four ports (an ARP sweep and
//! horizontal scans), nmap connect scan of 1024 ports of the Modbus PLC (vertical scan),
//! password guessing with hydra against the gateway's OpenSSH (64 guesses) and with a script
//! (hydra's telnet module stalls on inetutils telnetd) against inetutils telnetd on a
//! telnet-managed device (16 guesses; real servers, real failed logins), Modbus writes of
//! holding registers (pymodbus client), an S7 PLC STOP (python-snap7 client), and IEC 104
//! single commands opening ten breakers of a substation RTU (c104), as Industroyer does. A rack
//! of 40 remote I/O addresses (one namespace holding them) gives the subnet the hosts a
//! horizontal scan finds on a real plant floor. Then a rogue DHCP server (a second dnsmasq,
//! on the attacker, naming itself the router) answers the workstation's next DHCP request
//! beside the gateway's; onesixtyone guesses the rack's SNMP community from a word list; and
//! the workstation pulls 4 MB through its usually short SSH conversation with the gateway (a
//! bulk transfer: traffic far above the learned volume, the one expected alert on a host
//! other than the attacker).
//!
//! Each expectation names the attack, the engine, a technique and the addresses; the test
//! prints the table of expected against found (alert kind, count, evidence) and lists every
//! alert raised. It also checks that every alert involves the attacker (the normal traffic
//! raised none; operational alerts, effects of the attacks, excepted), and that the normal
//! traffic kept flowing.
//!
//! Needs root (network namespaces), tcpdump, nmap, hydra, OpenSSH's sshd and ssh, inetutils
//! telnetd and inetd, dnsmasq, busybox, net-snmp's snmpd and snmpget, onesixtyone, and the
//! PyPI packages pymodbus, python-snap7 and c104 (`scripts/test`
//! installs them as root); otherwise it prints `skipped: <reason>` and passes. Only lab
//! addresses (10.10.7.0/24) are used and no namespace has a route elsewhere; the lab removes
//! itself. `IRONWARD_LAB_PCAP=<path>` keeps a copy of the capture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

mod lab_common;

use lab_common::{device, exited, find_program, tail, wait_until, Args, Device, Lab, LabOptions};

/// The attack lab's network: IPv4 only, no multicast routes.
const OPTIONS: LabOptions = LabOptions {
    prefix: "iwat",
    dir_prefix: "ironward-attacklab-",
    forward_lldp: false,
    device_ipv6: false,
    multicast_route: false,
};

/// pymodbus server, unit 1 (Telemecanique OUI).
const PLC1: Device = device("plc1", "00:80:f4:0a:07:0a", "10.10.7.10");
/// python-snap7 server (Siemens OUI).
const PLC2: Device = device("plc2", "00:1b:1b:0a:07:0b", "10.10.7.11");
/// c104 server: a substation RTU, common address 47, ten breakers.
const RTU1: Device = device("rtu1", "52:54:00:0a:07:0d", "10.10.7.13");
/// The remote access gateway: OpenSSH.
const GATEWAY: Device = device("gateway", "52:54:00:0a:07:1e", "10.10.7.30");
/// A device managed over Telnet: inetutils telnetd under inetutils-inetd.
const TELNET: Device = device("telnet", "52:54:00:0a:07:1f", "10.10.7.31");
/// The HMI: polls the Modbus PLC.
const HMI: Device = device("hmi", "52:54:00:0a:07:14", "10.10.7.20");
/// The engineering workstation: logs in to the gateway with its key.
const EWS: Device = device("ews", "52:54:00:0a:07:15", "10.10.7.21");
/// The SCADA server: reads the S7 PLC.
const SCADA: Device = device("scada", "52:54:00:0a:07:16", "10.10.7.22");
/// The remote I/O rack: [`IO_ADDRESSES`] addresses from 10.10.7.100 on one interface.
const IO: Device = device("io", "52:54:00:0a:07:64", "10.10.7.100");
/// The attacker, new on the network after learning.
const ATTACKER: Device = device("attacker", "52:54:00:0a:07:42", "10.10.7.66");

/// How many addresses the remote I/O rack holds (more than the scan threshold).
const IO_ADDRESSES: u8 = 40;

const DEVICES: [&Device; 10] = [
    &PLC1, &PLC2, &RTU1, &GATEWAY, &TELNET, &HMI, &EWS, &SCADA, &IO, &ATTACKER,
];

/// How long the normal traffic runs before the first attack (wall time from its start).
const LEARNING: Duration = Duration::from_secs(10);

/// Programs the lab runs, with the Debian package that brings each.
const PROGRAMS: [(&str, &str); 16] = [
    ("ip", "iproute2"),
    ("ss", "iproute2"),
    ("tcpdump", "tcpdump"),
    ("python3", "python3"),
    ("nmap", "nmap"),
    ("hydra", "hydra"),
    ("sshd", "openssh-server"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    ("telnetd", "inetutils-telnetd"),
    ("inetutils-inetd", "inetutils-inetd"),
    ("dnsmasq", "dnsmasq"),
    ("busybox", "busybox"),
    ("snmpd", "snmpd"),
    ("snmpget", "snmp"),
    ("onesixtyone", "onesixtyone"),
];

/// Python packages the peers import, with the PyPI name of each.
const MODULES: [(&str, &str); 3] = [
    ("pymodbus", "pymodbus"),
    ("snap7", "python-snap7"),
    ("c104", "c104"),
];

fn program(name: &str) -> String {
    find_program(name).unwrap().display().to_string()
}

/// Why the lab cannot run here, if it cannot.
fn missing_prerequisites() -> Option<String> {
    let uid = Command::new("id").arg("-u").output();
    if !uid.is_ok_and(|uid| String::from_utf8_lossy(&uid.stdout).trim() == "0") {
        return Some("the attack lab needs root (network namespaces, a bridge)".into());
    }
    let missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(p, _)| find_program(p).is_none())
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "the attack lab needs the Debian packages {} (scripts/test installs them as root)",
            missing.join(", ")
        ));
    }
    let missing: Vec<&str> = MODULES
        .iter()
        .filter(|(module, _)| {
            !Command::new("python3")
                .args(["-c", &format!("import {module}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "the attack lab needs the Python packages {} (scripts/test installs them with pip \
             as root)",
            missing.join(", ")
        ));
    }
    let Ok(versions) = Command::new("python3").args(["-c", VERSION_CHECK]).output() else {
        return Some("the attack lab cannot run python3".into());
    };
    let wrong = String::from_utf8_lossy(&versions.stdout).trim().to_owned();
    if !versions.status.success() || !wrong.is_empty() {
        return Some(format!(
            "the attack lab's scripts need pymodbus 3.10+ (3.x), python-snap7 3.x and c104 2.x; \
             installed: {wrong} {}",
            String::from_utf8_lossy(&versions.stderr).trim()
        ));
    }
    None
}

/// Prints the peers whose installed version has another API than the scripts use.
const VERSION_CHECK: &str = "\
from importlib.metadata import version
def v(p): return tuple(int(x) for x in version(p).split('.')[:2])
wrong = [p + ' ' + version(p) for p, ok in (
    ('pymodbus', (3, 10) <= v('pymodbus') < (4, 0)),
    ('python-snap7', v('python-snap7')[0] == 3),
    ('c104', v('c104')[0] == 2),
) if not ok]
print(', '.join(wrong))
";

/// A script of this test (`tests/lab_attack/`) or of the OT lab (`tests/lab_ot/`).
fn script(dir: &str, name: &str) -> Args {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir)
        .join(name);
    Args::new("python3 -u").arg(path.display())
}

/// Words of the wrong passwords the brute force tries, each alone and with three suffixes (none
/// is a password of the lab).
const WORDS: &str = "123456 password admin root 12345678 qwerty letmein siemens schneider plc \
                     operator scada changeme default ironward monkey";

/// Starts the servers and the rack's addresses, waits until each listens; returns what did not
/// become ready.
fn start_servers(lab: &mut Lab) -> Vec<String> {
    let mut problems = Vec::new();
    // The rack: secondary addresses on one interface; they answer ARP, and closed ports with a
    // reset, as real I/O modules without the service do.
    let rack = lab.ns(IO.name);
    for host in 1..IO_ADDRESSES {
        let address = format!("10.10.7.{}/24", 100 + u16::from(host));
        if let Err(e) = lab_common::ip(&["-n", &rack, "addr", "add", &address, "dev", "eth0"]) {
            problems.push(format!("the rack's address {address}: {e}"));
            return problems;
        }
    }

    lab.spawn(
        &PLC1,
        "modbus-server",
        script("lab_ot", "modbus_server.py").arg(PLC1.ip),
    );
    lab.spawn(
        &PLC2,
        "s7-server",
        script("lab_ot", "s7_server.py").arg(PLC2.ip),
    );
    lab.spawn(
        &RTU1,
        "iec104-server",
        script("lab_attack", "iec104_peer.py")
            .arg("server")
            .arg(RTU1.ip),
    );

    // OpenSSH: passwords accepted (what the brute force tries), the workstation's key for root
    // (its legitimate login); keys made now, in the lab directory.
    for key in ["ssh_host_ed25519_key", "ews_key"] {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f", &lab.path(key)])
            .status();
        assert!(status.is_ok_and(|s| s.success()), "ssh-keygen {key} failed");
    }
    std::fs::copy(lab.path("ews_key.pub"), lab.path("authorized_keys")).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd_conf = lab.write(
        "sshd_config",
        &format!(
            "ListenAddress {}:22\nHostKey {}\nPidFile {}\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nAuthorizedKeysFile {}\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication no\nMaxStartups 100\n",
            GATEWAY.ip,
            lab.path("ssh_host_ed25519_key"),
            lab.path("sshd.pid"),
            lab.path("authorized_keys"),
        ),
    );
    lab.spawn(
        &GATEWAY,
        "sshd",
        Args::new(&program("sshd")).then("-D -e -f").arg(sshd_conf),
    );

    // Telnet: inetutils-inetd runs inetutils telnetd (and login) on port 23.
    let inetd_conf = lab.write(
        "inetd.conf",
        &format!(
            "{}:telnet stream tcp nowait root {} telnetd\n",
            TELNET.ip,
            program("telnetd")
        ),
    );
    let inetd = Args::new(&program("inetutils-inetd"))
        .then("-d")
        .arg(format!("--pidfile={}", lab.path("inetd.pid")))
        .arg(inetd_conf);
    lab.spawn(&TELNET, "inetd", inetd);

    // The gateway's DHCP service (the legitimate one, learned), no DNS.
    lab.spawn(
        &GATEWAY,
        "dhcp-server",
        dhcp_server(lab, "gateway", DHCP_RANGE),
    );

    // The rack's SNMP agent: v1/v2c, read-only community `plant-ro`, no MIB modules to load.
    let snmpd_conf = lab.write(
        "snmpd.conf",
        &format!(
            "agentaddress udp:{}:161\nrocommunity {SNMP_COMMUNITY} 10.10.7.0/24\n\
             sysdescr Remote I/O rack (net-snmp)\n",
            IO.ip
        ),
    );
    let snmp_dir = lab.path("snmp");
    std::fs::create_dir_all(&snmp_dir).unwrap();
    let snmpd = Args::new("snmpd -f -Lo -C -I -smux -c")
        .arg(snmpd_conf)
        .then("-p")
        .arg(lab.path("snmpd.pid"));
    let env = [("SNMP_PERSISTENT_DIR", snmp_dir.as_str()), ("MIBS", "")];
    lab.spawn_in(IO.name, "snmpd", snmpd, &env);

    let sockets = [
        ("modbus-server", &PLC1, 't', 502),
        ("s7-server", &PLC2, 't', 102),
        ("iec104-server", &RTU1, 't', 2404),
        ("sshd", &GATEWAY, 't', 22),
        ("inetd", &TELNET, 't', 23),
        ("dhcp-server", &GATEWAY, 'u', 67),
        ("snmpd", &IO, 'u', 161),
    ];
    for (label, device, transport, port) in sockets {
        if !wait_until(Duration::from_secs(20), || {
            lab.listening(device, transport, port)
        }) {
            problems.push(format!(
                "{label} does not listen on port {port} in {}; its log:\n{}",
                device.name,
                tail(&lab.log(label))
            ));
        }
    }
    let labels: Vec<String> = lab.processes.iter().map(|p| p.label.clone()).collect();
    for label in labels {
        if label != "tcpdump" && exited(&mut lab.process(&label).child) {
            problems.push(format!("{label} exited early:\n{}", tail(&lab.log(&label))));
        }
    }
    problems
}

/// The workstation's legitimate SSH login to the gateway (a command, then logout).
fn ews_login(lab: &Lab, label: &str) -> (bool, String) {
    let ssh = ews_ssh(lab).then("echo logged-in-as-$(id -un)");
    lab.run(&EWS, label, ssh, Duration::from_secs(15))
}

/// The workstation's SSH command line to the gateway, with its key, before the remote command.
fn ews_ssh(lab: &Lab) -> Args {
    Args::new(
        "ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
         -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -i",
    )
    .arg(lab.path("ews_key"))
    .arg(format!("root@{}", GATEWAY.ip))
}

/// Notes a client that failed or did not print `wanted`.
fn expect(problems: &mut Vec<String>, label: &str, (ok, text): (bool, String), wanted: &str) {
    if !ok || !text.contains(wanted) {
        problems.push(format!(
            "{label} failed (wanted {wanted:?} in its output):\n{text}"
        ));
    }
}

/// The workstation's Telnet login to the managed device, with a mistyped password (the lab has
/// no account to log in with): one failure is no brute force.
fn ews_telnet() -> Args {
    script("lab", "telnet_login.py")
        .arg(TELNET.ip)
        .arg(23)
        .arg("operator")
        .arg("mistyped-password")
}

/// The community of the rack's SNMP agent (what the SCADA server uses; not in the guesser's
/// word list).
const SNMP_COMMUNITY: &str = "plant-ro";

/// The communities onesixtyone tries (more than the anomaly engine's threshold of distinct
/// communities; none is the rack's).
const COMMUNITIES: &str = "public private community manager admin cisco snmp monitor write \
                           secret siemens scada plc router switch default";

/// The addresses the gateway's DHCP service leases (none in use by the lab's devices).
const DHCP_RANGE: &str = "10.10.7.200,10.10.7.219";
/// The addresses the rogue DHCP service leases.
const ROGUE_DHCP_RANGE: &str = "10.10.7.220,10.10.7.239";

/// A dnsmasq DHCP service (DNS off) on the device's address, leasing from `range`; it names
/// itself the router, as a rogue server does to put itself in the middle.
fn dhcp_server(lab: &Lab, name: &str, range: &str) -> Args {
    Args::new(
        "dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --port=0 \
         --bind-interfaces --interface=eth0 --no-ping --log-facility=- --log-dhcp \
         --user=root --group=root",
    )
    .arg(format!("--dhcp-range={range},255.255.255.0,10m"))
    .arg(format!(
        "--dhcp-leasefile={}",
        lab.path(&format!("{name}.leases"))
    ))
    .arg(format!(
        "--pid-file={}",
        lab.path(&format!("{name}-dnsmasq.pid"))
    ))
}

/// The workstation asks for a DHCP lease (replies broadcast) and applies nothing: the event
/// script only prints the lease and the server that granted it.
fn ews_dhcp(lab: &Lab, label: &str) -> (bool, String) {
    let script = lab.write(
        "udhcpc.script",
        "#!/bin/sh\n[ \"$1\" = bound ] && echo \"leased $ip from $serverid\"\nexit 0\n",
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let udhcpc = Args::new("busybox udhcpc -i eth0 -f -q -n -B -t 5 -T 1 -s").arg(script);
    lab.run(&EWS, label, udhcpc, Duration::from_secs(15))
}

/// The SCADA server reads the rack's sysDescr.0 over SNMP v2c with the rack's community.
fn scada_snmp(lab: &Lab, label: &str) -> (bool, String) {
    let snmpget = Args::new("snmpget -v2c -On -t 2 -r 1 -c")
        .arg(SNMP_COMMUNITY)
        .arg(IO.ip)
        .arg(".1.3.6.1.2.1.1.1.0");
    lab.run(&SCADA, label, snmpget, Duration::from_secs(10))
}

/// What the run recorded: when the attacks began, and what went wrong.
struct Run {
    attack_start: SystemTime,
    problems: Vec<String>,
}

/// The normal traffic, then the attacks while it goes on.
fn run_scenario(lab: &mut Lab) -> Run {
    let mut problems = Vec::new();

    // Learning: the pollers (stopped at the end, they run through the attacks) and a login.
    let poll = script("lab_attack", "modbus_peer.py")
        .arg(PLC1.ip)
        .then("poll 300");
    lab.spawn(&HMI, "hmi-modbus", poll);
    let poll = script("lab_attack", "s7_peer.py")
        .arg(PLC2.ip)
        .then("poll 300");
    lab.spawn(&SCADA, "scada-s7", poll);
    let poll = script("lab_attack", "iec104_peer.py")
        .arg("poll")
        .arg(RTU1.ip)
        .arg(300);
    lab.spawn(&SCADA, "scada-iec104", poll);
    let normal_start = Instant::now();
    lab.spawn(&EWS, "ews-telnet-learning", ews_telnet());
    expect(
        &mut problems,
        "ews-ssh (learning)",
        ews_login(lab, "ews-ssh-learning"),
        "logged-in-as-root",
    );
    expect(
        &mut problems,
        "ews-dhcp (learning)",
        ews_dhcp(lab, "ews-dhcp-learning"),
        &format!("from {}", GATEWAY.ip),
    );
    expect(
        &mut problems,
        "scada-snmp (learning)",
        scada_snmp(lab, "scada-snmp-learning"),
        "Remote I/O rack",
    );
    for (label, first) in [
        ("hmi-modbus", "first poll done"),
        ("scada-s7", "first read done"),
        ("scada-iec104", "first interrogation done"),
    ] {
        let started = wait_until(Duration::from_secs(10), || lab.log(label).contains(first));
        if !started {
            problems.push(format!("{label} did not start:\n{}", tail(&lab.log(label))));
        }
    }
    expect(
        &mut problems,
        "ews-telnet (learning)",
        lab.finish("ews-telnet-learning", Duration::from_secs(20)),
        "login refused: True",
    );
    std::thread::sleep(LEARNING.saturating_sub(normal_start.elapsed()));

    // The attacks, one after the other as an intruder works: discovery, credentials, then the
    // process.
    let attack_start = SystemTime::now();
    let long = Duration::from_secs(40);
    // At most 1000 probes a second: faster, on a loaded machine, tcpdump lost frames of the
    // burst even with its 64 MiB buffer (and a blind capture is no test of the detector).
    let sweep =
        Args::new("nmap -n -sS -T4 --max-rate 1000 --max-retries 1 -p 22,23,102,502 10.10.7.0/24");
    expect(
        &mut problems,
        "nmap subnet",
        lab.run(&ATTACKER, "nmap-subnet", sweep, long),
        "Nmap done",
    );
    let ports = Args::new("nmap -n -sT -T4 --max-rate 1000 --max-retries 1 -p 1-1024").arg(PLC1.ip);
    expect(
        &mut problems,
        "nmap ports",
        lab.run(&ATTACKER, "nmap-ports", ports, long),
        "502/tcp",
    );
    let guesses: Vec<String> = WORDS
        .split_whitespace()
        .flat_map(|w| ["", "1", "123", "2024"].map(|suffix| format!("{w}{suffix}\n")))
        .collect();
    let guesses = lab.write("guesses.txt", &guesses.concat());
    // Both at once. login's failure delay (about 3 s) makes Telnet guessing slow: the words
    // alone, four connections at a time.
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let words = lab.write("words.txt", &(words.join("\n") + "\n"));
    let telnet = script("lab_attack", "telnet_bruteforce.py")
        .arg(TELNET.ip)
        .arg(23)
        .arg("operator")
        .arg(words)
        .arg(4);
    lab.spawn(&ATTACKER, "telnet-bruteforce", telnet);
    let hydra = Args::new("hydra -I -l operator -t 4 -w 2 -P")
        .arg(&guesses)
        .arg(format!("ssh://{}", GATEWAY.ip));
    expect(
        &mut problems,
        "hydra ssh",
        lab.run(&ATTACKER, "hydra-ssh", hydra, long),
        "0 valid password",
    );
    expect(
        &mut problems,
        "telnet brute force",
        lab.finish("telnet-bruteforce", long),
        &format!(
            "refused guesses: {}; errors: 0",
            WORDS.split_whitespace().count()
        ),
    );
    let write = script("lab_attack", "modbus_peer.py")
        .arg(PLC1.ip)
        .arg("write");
    expect(
        &mut problems,
        "attacker modbus",
        lab.run(&ATTACKER, "attacker-modbus", write, long),
        "written 7000: True",
    );
    let stop = script("lab_attack", "s7_peer.py").arg(PLC2.ip).arg("stop");
    expect(
        &mut problems,
        "attacker s7",
        lab.run(&ATTACKER, "attacker-s7", stop, long),
        "plc stopped",
    );
    let switch = script("lab_attack", "iec104_peer.py")
        .arg("switch")
        .arg(RTU1.ip);
    expect(
        &mut problems,
        "attacker iec104",
        lab.run(&ATTACKER, "attacker-iec104", switch, long),
        "commands sent: 10",
    );
    // A rogue DHCP server beside the gateway's: the workstation's next request gets offers
    // from both.
    lab.spawn(
        &ATTACKER,
        "rogue-dhcp",
        dhcp_server(lab, "rogue", ROGUE_DHCP_RANGE).arg(format!("--dhcp-option=3,{}", ATTACKER.ip)),
    );
    if !wait_until(Duration::from_secs(10), || {
        lab.listening(&ATTACKER, 'u', 67)
    }) {
        problems.push(format!(
            "the rogue dnsmasq does not listen:\n{}",
            tail(&lab.log("rogue-dhcp"))
        ));
    }
    expect(
        &mut problems,
        "ews-dhcp (rogue server up)",
        ews_dhcp(lab, "ews-dhcp-rogue"),
        "leased 10.10.7.2",
    );
    if !lab.log("rogue-dhcp").contains("DHCPOFFER") {
        problems.push(format!(
            "the rogue dnsmasq made no offer:\n{}",
            tail(&lab.log("rogue-dhcp"))
        ));
    }
    let communities = lab.write(
        "communities.txt",
        &(COMMUNITIES
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"),
    );
    let guess = Args::new("onesixtyone -w 20 -c")
        .arg(communities)
        .arg(IO.ip);
    let (guessed, output) = lab.run(&ATTACKER, "onesixtyone", guess, long);
    if !guessed || output.contains("Remote I/O rack") {
        problems.push(format!(
            "onesixtyone failed (or found the community):\n{output}"
        ));
    }
    // The bulk transfer: 4 MB from the gateway through the workstation's SSH conversation.
    let pull = ews_ssh(lab).then("head -c 4000000 /dev/urandom");
    let pull = Args::new("sh -c").arg(format!("{} | wc -c", pull.0.join(" ")));
    expect(
        &mut problems,
        "ews bulk transfer",
        lab.run(&EWS, "ews-bulk", pull, long),
        "4000000",
    );
    // The workstation's usual logins, after the attacks: still normal.
    lab.spawn(&EWS, "ews-telnet-later", ews_telnet());
    expect(
        &mut problems,
        "ews-ssh (after learning)",
        ews_login(lab, "ews-ssh-later"),
        "logged-in-as-root",
    );

    expect(
        &mut problems,
        "ews-dhcp (after learning)",
        ews_dhcp(lab, "ews-dhcp-later"),
        "leased 10.10.7.",
    );
    expect(
        &mut problems,
        "scada-snmp (after learning)",
        scada_snmp(lab, "scada-snmp-later"),
        "Remote I/O rack",
    );
    expect(
        &mut problems,
        "ews-telnet (after learning)",
        lab.finish("ews-telnet-later", Duration::from_secs(20)),
        "login refused: True",
    );
    // The pollers polled all along.
    for label in ["hmi-modbus", "scada-s7", "scada-iec104"] {
        if exited(&mut lab.process(label).child) {
            problems.push(format!(
                "{label} stopped polling during the attacks:\n{}",
                tail(&lab.log(label))
            ));
        }
    }
    Run {
        attack_start,
        problems,
    }
}

/// The capture time of the first frame of a pcap file (tcpdump writes classic pcap, in the
/// host's byte order, with micro- or nanosecond timestamps).
fn first_frame_time(pcap: &str) -> Duration {
    let bytes = std::fs::read(pcap).unwrap();
    assert!(bytes.len() >= 40, "the capture holds no frame");
    let word = |at: usize, little: bool| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let (little, nanos) = match word(0, true) {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        _ => match word(0, false) {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            magic => panic!("not a classic pcap file (magic {magic:#x})"),
        },
    };
    let fraction = word(28, little);
    let fraction = if nanos { fraction } else { fraction * 1000 };
    Duration::new(u64::from(word(24, little)), fraction)
}

/// `ironward analyze --format json --learning <span> --detect` of a capture.
fn analyze(pcap: &str, learning: Duration) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json", "--detect", "--learning"])
        .arg(format!("{:.3}s", learning.as_secs_f64()))
        .arg(pcap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ironward analyze failed: {stderr}");
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// One attack's expected alert.
struct Expected {
    attack: &'static str,
    engine: &'static str,
    /// The alert type, which tells apart alerts of one engine and technique (an ARP sweep and
    /// a horizontal scan are both T0846 discovery).
    kind: &'static str,
    /// A technique the alert must carry; empty for alerts without one (a new device).
    technique: &'static str,
    src: &'static str,
    /// The destination, or `None` for alerts about a source only (sweeps).
    dst: Option<&'static str>,
}

const fn expected(
    attack: &'static str,
    (engine, kind, technique): (&'static str, &'static str, &'static str),
    src: &'static str,
    dst: Option<&'static str>,
) -> Expected {
    Expected {
        attack,
        engine,
        kind,
        technique,
        src,
        dst,
    }
}

/// What each attack must raise. Brute force is password guessing, ATT&CK T1110 (the catalog
/// also maps T0806 Brute Force I/O, which the alerts carry too).
const EXPECTED: [Expected; 18] = [
    expected(
        "nmap -sS of the subnet: ARP sweep",
        ("anomaly", "anomaly.arp_sweep", "T0846"),
        ATTACKER.ip,
        None,
    ),
    expected(
        "nmap -sS of the subnet: horizontal scan",
        ("anomaly", "anomaly.horizontal_scan", "T0846"),
        ATTACKER.ip,
        None,
    ),
    expected(
        "nmap -sT of 1024 ports: vertical scan",
        ("anomaly", "anomaly.vertical_scan", "T0846"),
        ATTACKER.ip,
        Some(PLC1.ip),
    ),
    expected(
        "hydra against OpenSSH",
        ("anomaly", "anomaly.brute_force", "T1110"),
        ATTACKER.ip,
        Some(GATEWAY.ip),
    ),
    expected(
        "password guessing against telnetd",
        ("anomaly", "anomaly.brute_force", "T1110"),
        ATTACKER.ip,
        Some(TELNET.ip),
    ),
    expected(
        "attacker on the network",
        ("policy", "policy.new_device", ""),
        ATTACKER.ip,
        None,
    ),
    expected(
        "Modbus from a new host: new master",
        ("policy", "policy.new_master", "T0848"),
        ATTACKER.ip,
        Some(PLC1.ip),
    ),
    expected(
        "Modbus write multiple registers",
        ("policy", "policy.unauthorized_write", "T0855"),
        ATTACKER.ip,
        Some(PLC1.ip),
    ),
    expected(
        "S7 from a new host: new master",
        ("policy", "policy.new_master", "T0848"),
        ATTACKER.ip,
        Some(PLC2.ip),
    ),
    expected(
        "S7 PLC stop: attack pattern",
        ("malware", "malware.s7_plc_stop", "T0881"),
        ATTACKER.ip,
        Some(PLC2.ip),
    ),
    expected(
        "S7 PLC stop: controller mode change",
        ("policy", "policy.mode_change", "T0858"),
        ATTACKER.ip,
        Some(PLC2.ip),
    ),
    expected(
        "S7 PLC stop: new engineering station",
        ("policy", "policy.new_engineering_workstation", "T0886"),
        ATTACKER.ip,
        None,
    ),
    expected(
        "IEC 104 from a new host: new master",
        ("policy", "policy.new_master", "T0848"),
        ATTACKER.ip,
        Some(RTU1.ip),
    ),
    expected(
        "IEC 104 single commands: unauthorized",
        ("policy", "policy.unauthorized_command", "T0855"),
        ATTACKER.ip,
        Some(RTU1.ip),
    ),
    expected(
        "IEC 104 commands to 10 breakers: pattern",
        ("malware", "malware.iec104_command_sweep", "T0831"),
        ATTACKER.ip,
        Some(RTU1.ip),
    ),
    expected(
        "rogue dnsmasq answering DHCP",
        ("anomaly", "anomaly.rogue_dhcp", "T0830"),
        ATTACKER.ip,
        None,
    ),
    expected(
        "onesixtyone against the rack's SNMP agent",
        ("anomaly", "anomaly.brute_force", "T1110"),
        ATTACKER.ip,
        Some(IO.ip),
    ),
    expected(
        "4 MB over the EWS's learned SSH to the gateway",
        ("anomaly", "anomaly.traffic_volume", "T0814"),
        EWS.ip,
        Some(GATEWAY.ip),
    ),
];

fn techniques(alert: &Value) -> Vec<String> {
    alert["techniques"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str())
        .map(str::to_owned)
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// The first piece of evidence's summary.
fn first_evidence(alert: &Value) -> &str {
    alert["evidence"][0]["summary"].as_str().unwrap_or_default()
}

impl Expected {
    fn matches(&self, alert: &Value) -> bool {
        alert["engine"] == self.engine
            && alert["kind"] == self.kind
            && (self.technique.is_empty() || techniques(alert).iter().any(|t| t == self.technique))
            && alert["src_ip"] == self.src
            && self.dst.is_none_or(|dst| alert["dst_ip"] == dst)
            && alert["count"].as_u64().is_some_and(|c| c > 0)
            && !first_evidence(alert).is_empty()
    }
}

/// The table of expected against found; the failures.
fn check_alerts(alerts: &[Value], table: &mut String) -> Vec<String> {
    let mut failures = Vec::new();
    let _ = writeln!(
        table,
        "{:<42} {:<8} {:<6} {:<11} {:<11} | found",
        "attack", "engine", "tech", "src", "dst"
    );
    for e in &EXPECTED {
        let found = alerts.iter().find(|a| e.matches(a));
        let found_text = match found {
            Some(a) => format!(
                "{} x{} [{}] evidence: {}",
                text(&a["kind"]),
                a["count"],
                techniques(a).join(","),
                first_evidence(a)
            ),
            None => {
                failures.push(format!(
                    "{}: no {} alert {} with {} from {} to {} (count > 0, with evidence)",
                    e.attack,
                    e.engine,
                    e.kind,
                    if e.technique.is_empty() {
                        "-"
                    } else {
                        e.technique
                    },
                    e.src,
                    e.dst.unwrap_or("any")
                ));
                "MISSING".to_owned()
            }
        };
        let _ = writeln!(
            table,
            "{:<42} {:<8} {:<6} {:<11} {:<11} | {found_text}",
            e.attack,
            e.engine,
            if e.technique.is_empty() {
                "-"
            } else {
                e.technique
            },
            e.src,
            e.dst.unwrap_or("-"),
        );
    }
    // The normal traffic went on after learning: it must raise nothing. Every alert involves
    // the attacker, except operational ones (a stopped controller is the attack's effect) and
    // the bulk transfer's, which an expectation names.
    for a in alerts {
        let involves_attacker = a["src_ip"] == ATTACKER.ip || a["dst_ip"] == ATTACKER.ip;
        let expected = EXPECTED.iter().any(|e| e.matches(a));
        if !involves_attacker && !expected && a["engine"] != "operational" {
            failures.push(format!(
                "{} alert on normal traffic: {} ({}: {} -> {})",
                text(&a["engine"]),
                text(&a["title"]),
                text(&a["kind"]),
                text(&a["src_ip"]),
                text(&a["dst_ip"])
            ));
        }
    }
    failures
}

#[test]
fn attack_lab_each_attack_yields_its_alert() {
    let started = Instant::now();
    if let Some(reason) = missing_prerequisites() {
        println!("skipped: {reason}");
        return;
    }
    let mut lab = match Lab::with_devices(OPTIONS, &DEVICES, |_| true) {
        Ok(lab) => lab,
        Err(reason) => {
            println!("skipped: {reason}");
            return;
        }
    };
    let pcap = lab.start_capture();
    let mut problems = start_servers(&mut lab);
    let mut attack_start = SystemTime::now();
    if problems.is_empty() {
        let run = run_scenario(&mut lab);
        attack_start = run.attack_start;
        problems.extend(run.problems);
    }
    lab.stop_all(Duration::from_millis(1000));
    let traffic = started.elapsed();
    // A capture that lost frames would make a detector look blind.
    let drops = lab.capture_drops();
    assert_eq!(
        drops,
        Some(0),
        "the capture lost frames:\n{}",
        lab.log("tcpdump")
    );
    assert!(
        problems.is_empty(),
        "the lab did not run as intended:\n{}",
        problems.join("\n")
    );

    // Learning ends just before the first attack packet.
    let first = first_frame_time(&pcap);
    let attack = attack_start.duration_since(UNIX_EPOCH).unwrap();
    let learning = attack
        .saturating_sub(first)
        .saturating_sub(Duration::from_millis(200));
    assert!(
        learning >= LEARNING / 2,
        "the learning span is only {learning:?}"
    );
    let report = analyze(&pcap, learning);
    let packets = report["stats"]["packets"].as_u64().unwrap_or_default();
    let alerts: Vec<Value> = report["alerts"].as_array().cloned().unwrap_or_default();

    let mut table = String::new();
    let failures = check_alerts(&alerts, &mut table);
    println!(
        "attack lab: {packets} frames, learning {:.1} s of capture time; traffic done after \
         {:.1} s, analysed after {:.1} s; {} alerts; {} of {} expectations held\n{table}",
        learning.as_secs_f64(),
        traffic.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        alerts.len(),
        EXPECTED.len()
            - failures
                .iter()
                .filter(|f| !f.contains(" on normal traffic"))
                .count(),
        EXPECTED.len()
    );
    println!("every alert raised:");
    for a in &alerts {
        println!(
            "  {:<9} {:<38} {:<11} -> {:<11} x{:<4} [{}] {}",
            text(&a["engine"]),
            text(&a["kind"]),
            text(&a["src_ip"]),
            text(&a["dst_ip"]),
            a["count"],
            techniques(a).join(","),
            text(&a["title"])
        );
    }
    assert!(
        failures.is_empty(),
        "{} expectations on the attack lab did not hold:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
