//! Matching rate: devices per second through [`Matcher::match_device`], single-threaded, for
//! 100 000 devices synthesised from the affected products of the 719 shared CISA advisories
//! (`$IRONWARD_DATA/intel`, default `../shared/data/intel`) with random firmware versions:
//! most with the product's order number and name (as S7comm or SNMP report them), some by
//! name only, some of vendors no advisory names. Also times the import and the index build,
//! and reports the CPU time of matching beside the wall time (a loaded machine stretches the
//! latter).
//!
//! `cargo bench -p ironward-intel --bench matching` (a plain binary: it measures, it does not
//! assert).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ironward_intel::ti::csaf;
use ironward_intel::ti::matching::{Confidence, Matcher};
use ironward_intel::ti::normalize::{DeviceProduct, Sourced};

const DEVICES: usize = 100_000;

/// xorshift64*: reproducible runs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
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

fn sourced(value: &str, source: &str) -> Option<Sourced> {
    Some(Sourced {
        value: value.to_owned(),
        source: source.to_owned(),
    })
}

fn main() {
    let dir = match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    }
    .join("csaf/csaf_files/OT/white");
    if !dir.is_dir() {
        println!("skipped: {} not found (set IRONWARD_DATA)", dir.display());
        return;
    }
    let started = Instant::now();
    let report = csaf::import_dir(&dir);
    let import = started.elapsed();
    let started = Instant::now();
    let matcher = Matcher::new(&report.records);
    let index = started.elapsed();

    // Devices from the advisories' products.
    let products: Vec<_> = report.records.iter().flat_map(|r| &r.affected).collect();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let devices: Vec<DeviceProduct> = (0..DEVICES)
        .map(|_| {
            let product = products[random.below(products.len())];
            let firmware = format!(
                "V{}.{}.{}",
                random.below(5),
                random.below(20),
                random.below(30)
            );
            let name = product
                .product
                .rsplit(" / ")
                .next()
                .unwrap_or(&product.product)
                .split(" (")
                .next()
                .unwrap_or_default();
            match random.below(10) {
                0 => DeviceProduct::from_parts(
                    sourced("Acme Controls GmbH", "snmp"),
                    sourced("Widget 3000", "snmp"),
                    None,
                    sourced(&firmware, "snmp"),
                ),
                1..=3 => DeviceProduct::from_parts(
                    sourced(&product.vendor, "http"),
                    sourced(name, "http"),
                    None,
                    sourced(&firmware, "http"),
                ),
                _ => DeviceProduct::from_parts(
                    sourced(&product.vendor, "s7comm"),
                    sourced(name, "s7comm"),
                    product
                        .model_numbers
                        .first()
                        .and_then(|m| sourced(m, "s7comm")),
                    sourced(&firmware, "s7comm"),
                ),
            }
        })
        .collect();

    // Warm up, then measure.
    for device in devices.iter().take(1_000) {
        black_box(matcher.match_device(device));
    }
    let started = Instant::now();
    let cpu_started = cpu_ns();
    let mut matches = 0usize;
    let mut by_confidence = [0usize; 3];
    let mut unmatched = 0usize;
    for device in &devices {
        let found = black_box(matcher.match_device(device));
        matches += found.matches.len();
        for m in &found.matches {
            by_confidence[match m.confidence {
                Confidence::Low => 0,
                Confidence::Medium => 1,
                Confidence::High => 2,
            }] += 1;
        }
        unmatched += usize::from(found.unmatched.is_some());
    }
    let elapsed = started.elapsed();
    let cpu = cpu_ns()
        .zip(cpu_started)
        .map(|(end, start)| (end - start) as f64 / 1e9);
    println!(
        "import: {} advisories, {} records, {} products in {:.2} s",
        report.advisories,
        report.records.len(),
        matcher.products(),
        import.as_secs_f64()
    );
    println!(
        "index: {:.3} s ({} products with unreadable version ranges)",
        index.as_secs_f64(),
        matcher.unreadable_ranges()
    );
    println!(
        "matching: {DEVICES} devices in {:.3} s wall = {:.0} devices/s; {matches} matches (high {}, medium {}, low {}), {unmatched} devices unmatched",
        elapsed.as_secs_f64(),
        DEVICES as f64 / elapsed.as_secs_f64(),
        by_confidence[2],
        by_confidence[1],
        by_confidence[0],
    );
    if let Some(cpu) = cpu {
        // On a shared machine the wall clock counts other processes' time too.
        println!(
            "matching: {cpu:.3} s on the CPU = {:.0} devices/s of CPU time",
            DEVICES as f64 / cpu
        );
    }
}
