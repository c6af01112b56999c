//! What the tests that capture on veth pairs in network namespaces share: `ip` and whether
//! they can run here.

#![allow(dead_code, unreachable_pub)]

use std::process::Command;

/// Runs `ip ARGS`; the error names the command and what it printed.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Why the tests cannot run here (no `ip`, not root), if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("`ip` not found".into());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    (euid != "0").then(|| format!("not root, euid {euid}"))
}
