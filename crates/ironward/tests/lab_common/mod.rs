//! What the namespace labs share (`lab_identity.rs`, `lab_ot.rs`): devices as network
//! namespaces on one bridge, command lines, background processes in their own process groups,
//! and a [`Lab`] that stops every process and deletes every namespace when dropped, also when a
//! test panics.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Display;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a lab's network is set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LabOptions {
    /// Namespace name prefix (the test's pid follows), to find the leftovers of killed runs.
    pub(crate) prefix: &'static str,
    /// Prefix of the lab's temporary directory.
    pub(crate) dir_prefix: &'static str,
    /// Forward LLDP frames across the bridge.
    pub(crate) forward_lldp: bool,
    /// Keep IPv6 on in device namespaces (link-local addresses, neighbour discovery).
    pub(crate) device_ipv6: bool,
    /// A route for multicast (224.0.0.0/4) on each device's interface.
    pub(crate) multicast_route: bool,
}

/// One device of the lab: a namespace with one interface (`eth0`) on the bridge.
pub(crate) struct Device {
    /// Short name: namespace suffix, bridge port `v-<name>`, label in failure messages.
    pub(crate) name: &'static str,
    /// The interface's MAC address.
    pub(crate) mac: &'static str,
    /// The device's address.
    pub(crate) ip: &'static str,
}

/// A device of the lab.
pub(crate) const fn device(name: &'static str, mac: &'static str, ip: &'static str) -> Device {
    Device { name, mac, ip }
}

/// `program` on the PATH or in the usual system directories, when executable.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
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

/// A command line: words split on spaces, plus arguments taken verbatim.
#[derive(Clone)]
pub(crate) struct Args(pub Vec<String>);

impl Args {
    pub(crate) fn new(words: &str) -> Args {
        Args(words.split_whitespace().map(str::to_owned).collect())
    }

    /// Appends one argument as it is.
    pub(crate) fn arg(mut self, arg: impl Display) -> Args {
        self.0.push(arg.to_string());
        self
    }

    /// Appends more space-separated words.
    pub(crate) fn then(mut self, words: &str) -> Args {
        self.0.extend(words.split_whitespace().map(str::to_owned));
        self
    }
}

pub(crate) fn ip(args: &[&str]) -> Result<(), String> {
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
pub(crate) fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Polls `ready` every 20 ms for up to `timeout`.
pub(crate) fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn exited(child: &mut Child) -> bool {
    !matches!(child.try_wait(), Ok(None))
}

/// The last 3000 bytes of `text` (from a line start), for failure messages.
pub(crate) fn tail(text: &str) -> String {
    if text.len() <= 3000 {
        return text.to_owned();
    }
    let cut = text.len() - 3000;
    let start = (cut..text.len())
        .find(|&i| text.is_char_boundary(i) && text[..i].ends_with('\n'))
        .unwrap_or(text.len());
    format!("[…]\n{}", &text[start..])
}

/// Kills every process still running inside lab namespace `name`.
pub(crate) fn kill_namespace_processes(name: &str) {
    let Ok(pids) = Command::new("ip").args(["netns", "pids", name]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

/// Deletes the namespaces of earlier runs of this test that were killed before their teardown
/// (their names carry the pid of a test process that no longer exists).
pub(crate) fn remove_stale_labs(prefix: &str) {
    let Ok(list) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            kill_namespace_processes(name);
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A background process of the lab, leader of its own process group.
pub(crate) struct Process {
    /// The name of its log file.
    pub(crate) label: String,
    /// The process.
    pub(crate) child: Child,
}

impl Process {
    /// SIGTERM to the group, SIGKILL after `grace`; then SIGKILL to whatever the group left.
    pub(crate) fn stop(&mut self, grace: Duration) {
        if !exited(&mut self.child) {
            kill_group(self.child.id(), "-TERM");
            if !wait_until(grace, || exited(&mut self.child)) {
                kill_group(self.child.id(), "-KILL");
            }
            let _ = self.child.wait();
        }
        kill_group(self.child.id(), "-KILL");
    }
}

/// The lab network: namespaces, bridge, processes and files. Dropping it stops every process
/// (process groups, then anything left inside its namespaces) and deletes every namespace,
/// also when the test panics.
pub(crate) struct Lab {
    options: LabOptions,
    tag: String,
    dir: tempfile::TempDir,
    namespaces: Vec<String>,
    /// Background processes, stopped in reverse order on drop.
    pub(crate) processes: Vec<Process>,
}

impl Lab {
    /// Creates the bridge namespace and its bridge `br0`, the capture point: silent (no IPv6),
    /// no spanning tree, flooding broadcast and multicast to every port (no snooping), and
    /// forwarding LLDP (group address 01:80:c2:00:00:0e, group_fwd_mask bit 14) when asked.
    pub(crate) fn new(options: LabOptions) -> Result<Lab, String> {
        remove_stale_labs(options.prefix);
        let dir = tempfile::Builder::new()
            .prefix(options.dir_prefix)
            .tempdir()
            .map_err(|e| e.to_string())?;
        // Daemons that drop privileges (lldpd, mosquitto) read files in it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let mut lab = Lab {
            options,
            tag: format!("{}{}", options.prefix, std::process::id()),
            dir,
            namespaces: Vec::new(),
            processes: Vec::new(),
        };
        let bridge = lab.ns("br");
        ip(&["netns", "add", &bridge])?;
        lab.namespaces.push(bridge.clone());
        lab.no_ipv6(&bridge)?;
        let br = ["-n", &bridge, "link"];
        ip(&[&br[..], &["add", "br0", "type", "bridge", "stp_state", "0"]].concat())?;
        ip(&[
            &br[..],
            &["set", "br0", "type", "bridge", "mcast_snooping", "0"],
        ]
        .concat())?;
        if options.forward_lldp {
            ip(&[
                &br[..],
                &["set", "br0", "type", "bridge", "group_fwd_mask", "0x4000"],
            ]
            .concat())?;
        }
        ip(&[&br[..], &["set", "br0", "up"]].concat())?;
        Ok(lab)
    }

    pub(crate) fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.tag)
    }

    pub(crate) fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }

    /// Writes a file into the lab directory and returns its path.
    pub(crate) fn write(&self, file: &str, text: &str) -> String {
        let path = self.path(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// No IPv6 in namespace `ns`: the plant network is IPv4 only, and router and neighbour
    /// solicitations would only add noise to the capture.
    pub(crate) fn no_ipv6(&self, ns: &str) -> Result<(), String> {
        let sysctl = Command::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw"])
            .args([
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])
            .status();
        if sysctl.is_ok_and(|s| s.success()) {
            Ok(())
        } else {
            Err(format!("cannot disable IPv6 in {ns}"))
        }
    }

    /// Adds a device namespace with its veth pair to the bridge, its MAC, its address (unless
    /// `address` is false: a DHCP client) and, when asked, a multicast route and IPv6; no
    /// default route: nothing leaves the lab.
    pub(crate) fn add_device(&mut self, device: &Device, address: bool) -> Result<(), String> {
        let (bridge, ns) = (self.ns("br"), self.ns(device.name));
        let port = format!("v-{}", device.name);
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        if !self.options.device_ipv6 {
            self.no_ipv6(&ns)?;
        }
        let veth = [
            "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ];
        ip(&[&["-n", &bridge][..], &veth[..]].concat())?;
        ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"])?;
        ip(&["-n", &ns, "link", "set", "eth0", "address", device.mac])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        if address {
            let address = format!("{}/24", device.ip);
            ip(&["-n", &ns, "addr", "add", &address, "dev", "eth0"])?;
        }
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        if self.options.multicast_route {
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"])?;
        }
        Ok(())
    }

    /// `args` in namespace `<tag>-<name>`, in a process group of its own, output to
    /// `<label>.log`, working directory the lab directory.
    pub(crate) fn command(&self, name: &str, label: &str, args: &Args) -> Command {
        let log = std::fs::File::create(self.path(&format!("{label}.log"))).unwrap();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(name)])
            .args(&args.0)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        command
    }

    /// Starts a program in `device`'s namespace (a server, or a client waited for later).
    pub(crate) fn spawn(&mut self, device: &Device, label: &str, args: Args) {
        self.spawn_in(device.name, label, args, &[]);
    }

    /// Starts a program in namespace `<tag>-<name>` with more environment.
    pub(crate) fn spawn_in(&mut self, name: &str, label: &str, args: Args, env: &[(&str, &str)]) {
        let child = self
            .command(name, label, &args)
            .envs(env.iter().copied())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {label} ({}): {e}", args.0.join(" ")));
        self.processes.push(Process {
            label: label.to_owned(),
            child,
        });
    }

    pub(crate) fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{label}.log"))).unwrap_or_default()
    }

    pub(crate) fn process(&mut self, label: &str) -> &mut Process {
        self.processes
            .iter_mut()
            .find(|p| p.label == label)
            .unwrap()
    }

    /// Runs a client in `device`'s namespace to completion (killed after `timeout`); returns
    /// whether it succeeded and the end of what it printed.
    pub(crate) fn run(
        &self,
        device: &Device,
        label: &str,
        args: Args,
        timeout: Duration,
    ) -> (bool, String) {
        let mut child = self
            .command(device.name, label, &args)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {label} ({}): {e}", args.0.join(" ")));
        let finished = wait_until(timeout, || exited(&mut child));
        kill_group(child.id(), "-KILL");
        let status = child.wait().ok();
        let ok = finished && status.is_some_and(|s| s.success());
        (ok, tail(&self.log(label)))
    }

    /// Waits up to `timeout` for a client started with [`Lab::spawn`]; returns whether it
    /// succeeded and the end of what it printed.
    pub(crate) fn finish(&mut self, label: &str, timeout: Duration) -> (bool, String) {
        let process = self.process(label);
        let finished = wait_until(timeout, || exited(&mut process.child));
        if !finished {
            process.stop(Duration::from_millis(200));
        }
        let ok = finished && process.child.wait().is_ok_and(|s| s.success());
        (ok, tail(&self.log(label)))
    }

    /// Whether something in `device`'s namespace listens on `port` (`transport` t or u).
    pub(crate) fn listening(&self, device: &Device, transport: char, port: u16) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns(device.name), "ss"])
            .arg(format!("-Hln{transport}"))
            .arg(format!("sport = :{port}"))
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    }
}

impl Lab {
    /// The bridge and every device (with an address unless `address` says otherwise); the
    /// reason to skip the test when the network cannot be built.
    pub(crate) fn with_devices(
        options: LabOptions,
        devices: &[&Device],
        address: impl Fn(&Device) -> bool,
    ) -> Result<Lab, String> {
        let mut lab =
            Lab::new(options).map_err(|e| format!("could not build the lab bridge: {e}"))?;
        for device in devices {
            lab.add_device(device, address(device))
                .map_err(|e| format!("could not build the lab network: {e}"))?;
        }
        Ok(lab)
    }

    /// Starts tcpdump on the bridge (the capture starts first and stops last; immediate mode,
    /// so that the last frames are not left in a kernel buffer block when it stops; a 64 MiB
    /// kernel buffer, as immediate mode gives every frame a slot of the snapshot length and
    /// the default 2 MiB dropped most of a scan's burst); returns the capture's path.
    pub(crate) fn start_capture(&mut self) -> String {
        let pcap = self.path("lab.pcap");
        let tcpdump =
            Args::new("tcpdump -i br0 -n -s 0 -B 65536 -U --immediate-mode -Z root -w").arg(&pcap);
        self.spawn_in("br", "tcpdump", tcpdump, &[]);
        let capturing = wait_until(Duration::from_secs(10), || {
            self.log("tcpdump").contains("listening on")
        });
        assert!(capturing, "tcpdump did not start: {}", self.log("tcpdump"));
        pcap
    }

    /// How many frames tcpdump said the kernel dropped (after [`Lab::stop_all`]).
    pub(crate) fn capture_drops(&self) -> Option<u64> {
        let log = self.log("tcpdump");
        let line = log
            .lines()
            .find(|l| l.ends_with("packets dropped by kernel"))?;
        line.split_whitespace().next()?.parse().ok()
    }

    /// After `settle` (late answers, periodic announcements), stops every process, the capture
    /// last; keeps a copy of the capture where `IRONWARD_LAB_PCAP` says.
    pub(crate) fn stop_all(&mut self, settle: Duration) {
        std::thread::sleep(settle);
        for p in self.processes.iter_mut().filter(|p| p.label != "tcpdump") {
            p.stop(Duration::from_secs(2));
        }
        self.process("tcpdump").stop(Duration::from_secs(5));
        if let Some(keep) = std::env::var_os("IRONWARD_LAB_PCAP") {
            std::fs::copy(self.path("lab.pcap"), &keep).unwrap();
            println!("lab capture kept in {}", Path::new(&keep).display());
        }
    }
}

/// `ironward analyze --format json` of a capture.
pub(crate) fn analyze(pcap: &str) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json", pcap])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ironward analyze failed: {stderr}");
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// The recommendations about insecure administration protocols that issue 9 names, by title:
/// each must list exactly the devices that run what it is about.
pub(crate) const TELNET_REQUIRE_AUTHENTICATION: &str =
    "Require authentication for Telnet management interface";
/// Every Telnet server, with a login prompt or without.
pub(crate) const TELNET_DISABLE: &str = "Disable insecure administration protocol – Telnet";
/// VNC servers offering security type None.
pub(crate) const VNC_REQUIRE_AUTHENTICATION: &str =
    "Require authentication for VNC management interface";
/// SNMP v1/v2c agents.
pub(crate) const SNMP_V1_V2_REMOVE: &str =
    "Remove insecure administration protocols SNMP v1 and v2";

/// The devices (MAC addresses) that run an insecure administration protocol in tshark's reading
/// of a capture, independent of Ironward's dissectors.
#[derive(Debug)]
pub(crate) struct AdministrationServers {
    /// Senders of text from TCP port 23.
    pub(crate) telnet: BTreeSet<String>,
    /// VNC servers whose offered security types include None (1).
    pub(crate) vnc_none: BTreeSet<String>,
    /// SNMP v1/v2c agents: a v1/v2c GetResponse from port 161, or a trap or inform sent to
    /// port 162 (a manager's answer to an inform, from port 162, is no agent).
    pub(crate) snmp_v1_v2c: BTreeSet<String>,
}

/// The source MAC addresses of the frames tshark's `filter` selects in `pcap`.
pub(crate) fn tshark_senders(pcap: &str, filter: &str) -> BTreeSet<String> {
    let output = Command::new("tshark")
        .args(["-r", pcap, "-Y", filter, "-T", "fields", "-e", "eth.src"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tshark -Y {filter:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Which devices of `pcap` run Telnet, VNC without authentication and SNMP v1/v2c, by tshark.
pub(crate) fn administration_servers(pcap: &str) -> AdministrationServers {
    AdministrationServers {
        telnet: tshark_senders(pcap, "tcp.srcport == 23 && tcp.len > 0"),
        vnc_none: tshark_senders(pcap, "vnc.security_type == 1"),
        snmp_v1_v2c: tshark_senders(
            pcap,
            "(snmp.version == 0 || snmp.version == 1) \
             && ((udp.srcport == 161 && snmp.data == 2) || udp.dstport == 162)",
        ),
    }
}

/// The devices the report's recommendations titled `title` list (one recommendation per domain
/// its devices fall into), as (id, ip) in the report's order; `None` when the report has no
/// such recommendation.
pub(crate) fn recommendation_devices(
    report: &serde_json::Value,
    title: &str,
) -> Option<Vec<(String, String)>> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let recommendations: Vec<&serde_json::Value> = report["recommendations"]
        .as_array()?
        .iter()
        .filter(|r| r["title"] == title)
        .collect();
    (!recommendations.is_empty()).then(|| {
        recommendations
            .iter()
            .flat_map(|r| r["devices"].as_array().into_iter().flatten())
            .map(|d| (text(&d["id"]), text(&d["ip"])))
            .collect()
    })
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in self.processes.iter_mut().rev() {
            p.stop(Duration::from_secs(2));
        }
        for ns in self.namespaces.iter().rev() {
            kill_namespace_processes(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
}
