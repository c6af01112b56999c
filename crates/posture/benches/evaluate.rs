//! Evaluation time for 100 000 synthetic devices (`IRONWARD_POSTURE_DEVICES` to change) with the
//! built-in catalog: a mix of OT, Enterprise IoT and IT devices, about one in ten with each kind
//! of evidence (findings, HTTP services, critical and KEV vulnerabilities, end-of-support
//! products, unauthorized, internet peers, unused services, IT write access). Times `evaluate`,
//! `device_scores` and a history step (`Snapshot::of` + `compare`), wall and CPU time, best of
//! three.
//!
//! `cargo bench -p ironward-posture --bench evaluate` (a plain binary: it measures, it does not
//! assert).

use std::hint::black_box;
use std::time::Instant;

use ironward_model::{Finding, Timestamp};
use ironward_posture::{
    compare, device_scores, evaluate, Asset, AssetService, AssetVulnerability, Authorization,
    Catalog, Domain, Settings, Snapshot,
};

/// xorshift64*: reproducible runs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`).
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

const TYPES: &[&str] = &[
    "plc",
    "plc",
    "rtu",
    "hmi",
    "ied",
    "engineering_workstation",
    "ip_camera",
    "printer",
    "voip_phone",
    "media_device",
    "workstation",
    "server",
];

fn synthesise(count: usize) -> Vec<Asset> {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|i| {
            let device_type = TYPES[(random.next() % TYPES.len() as u64) as usize];
            let domain = Domain::classify(Some(device_type), None, false);
            let mut a = Asset::new(
                format!(
                    "mac:02:00:{:02x}:{:02x}:{:02x}:{:02x}",
                    i >> 24,
                    (i >> 16) & 0xff,
                    (i >> 8) & 0xff,
                    i & 0xff
                ),
                domain,
            );
            a.ip = Some(std::net::IpAddr::from([
                10,
                (i >> 16) as u8,
                (i >> 8) as u8,
                i as u8,
            ]));
            a.device_type = Some(device_type.into());
            a.authorized = if random.one_in(10) {
                Authorization::Unauthorized
            } else {
                Authorization::Authorized
            };
            for f in Finding::ALL {
                if random.one_in(12) {
                    a.findings.push(f);
                }
            }
            if random.one_in(5) {
                a.services.push(AssetService {
                    transport: "tcp".into(),
                    port: 80,
                    protocol: Some("http".into()),
                });
            }
            if random.one_in(8) {
                a.vulnerabilities.push(AssetVulnerability {
                    cve: "CVE-2024-0001".into(),
                    cvss: Some(9.8),
                    kev: random.one_in(3),
                });
            }
            if random.one_in(10) {
                a.os = Some("Windows 7 Professional".into());
            } else if random.one_in(10) {
                a.vendor = Some("Siemens".into());
                a.model = Some("S7-300 CPU 315-2 PN/DP".into());
            }
            if random.one_in(10) {
                a.internet_peers.push(
                    "198.51.100.7"
                        .parse()
                        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                );
            }
            if random.one_in(10) {
                a.unused_services.push(AssetService {
                    transport: "tcp".into(),
                    port: 21,
                    protocol: Some("ftp".into()),
                });
            }
            if random.one_in(20) {
                a.it_write_sources.push("ip:10.99.0.1".into());
            }
            a
        })
        .collect()
}

fn time<T>(label: &str, mut f: impl FnMut() -> T) -> T {
    let mut best = (f64::MAX, 0.0);
    let mut out = None;
    for _ in 0..3 {
        let (cpu0, wall) = (cpu_ns(), Instant::now());
        let value = black_box(f());
        let wall = wall.elapsed().as_secs_f64();
        let cpu = match (cpu0, cpu_ns()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
            _ => f64::NAN,
        };
        if wall < best.0 {
            best = (wall, cpu);
        }
        out = Some(value);
    }
    println!(
        "{label}: {:.3} s wall, {:.3} s CPU (best of 3)",
        best.0, best.1
    );
    out.unwrap_or_else(|| unreachable!("three runs"))
}

fn main() {
    let count: usize = std::env::var("IRONWARD_POSTURE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let catalog = Catalog::builtin();
    let assets = synthesise(count);
    let settings = Settings::default();
    println!(
        "{count} devices, {} recommendations, {} metrics",
        catalog.recommendations.len(),
        catalog.metrics.len()
    );
    let posture = time("evaluate", || evaluate(&assets, catalog, &settings));
    let listed: usize = posture
        .recommendations
        .iter()
        .map(|r| r.devices.len())
        .sum();
    println!(
        "  {} recommendation entries listing {listed} devices",
        posture.recommendations.len()
    );
    for i in &posture.initiatives {
        println!(
            "  {}: score {:?}",
            i.name,
            i.score.map(|s| (s * 10.0).round() / 10.0)
        );
    }
    time("device_scores", || device_scores(&assets, &posture));
    let ot = &posture.initiatives[0];
    let before = Snapshot::of(ot, &settings, Some("1"), Timestamp(0));
    time("snapshot + compare (TI version changed)", || {
        let after = Snapshot::of(ot, &settings, Some("2"), Timestamp(1));
        compare(Some(&before), &after)
    });
}
