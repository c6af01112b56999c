//! Real captures (`../shared/data/pcaps`, or `$IRONWARD_DATA/pcaps`) compared with Wireshark:
//! the frame count of every file with `capinfos -c -M`, and, for a sample, every frame's
//! timestamp, length and captured length with `tshark -T fields`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ironward_sensor::capture::{open_file, open_reader};

fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "pcap" | "pcapng" | "cap" | "gz"))
        {
            out.push(p);
        }
    }
}

fn tool_available(name: &str) -> bool {
    Command::new(name)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Files to test, or `None` (after printing why) when the data or the tools are missing.
fn setup() -> Option<Vec<PathBuf>> {
    if !tool_available("tshark") || !tool_available("capinfos") {
        println!("skipped: tshark not installed");
        return None;
    }
    let dir = data_dir().join("pcaps");
    let mut files = Vec::new();
    captures(&dir, &mut files);
    if files.is_empty() {
        println!("skipped: no captures under {}", dir.display());
        return None;
    }
    files.sort();
    Some(files)
}

/// `ns` from tshark's `frame.time_epoch` (`1234567890.123456789`).
fn parse_epoch(s: &str) -> i64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = sec.starts_with('-');
    let secs: i64 = sec.parse().expect("seconds");
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let ns: i64 = digits.parse().expect("fraction");
    if neg {
        secs * 1_000_000_000 - ns
    } else {
        secs * 1_000_000_000 + ns
    }
}

#[test]
fn frame_counts_match_capinfos() {
    let Some(files) = setup() else { return };
    let out = Command::new("capinfos")
        .args(["-T", "-r", "-c", "-M"])
        .args(&files)
        .output()
        .expect("capinfos");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut expected: HashMap<PathBuf, u64> = HashMap::new();
    for line in text.lines() {
        if let Some((path, count)) = line.rsplit_once('\t') {
            if let Ok(n) = count.trim().parse() {
                expected.insert(PathBuf::from(path), n);
            }
        }
    }
    let mut checked = 0;
    let mut total_frames = 0u64;
    for file in &files {
        let Some(&want) = expected.get(file) else {
            println!("capinfos could not read {}; skipped", file.display());
            continue;
        };
        let mut r = open_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut n = 0u64;
        while let Some(f) = r.next_frame() {
            assert!(f.data.len() <= f.original_len as usize);
            n += 1;
        }
        for w in r.take_warnings() {
            println!("{}: warning: {w}", file.display());
        }
        assert_eq!(n, want, "frame count of {}", file.display());
        assert_eq!(
            r.position(),
            r.input_size().expect("mapped"),
            "{}",
            file.display()
        );
        checked += 1;
        total_frames += n;
    }
    println!("{checked} captures, {total_frames} frames, counts equal capinfos");
    assert!(
        checked * 10 >= files.len() * 9,
        "capinfos read too few files"
    );
}

#[test]
fn timestamps_and_lengths_match_tshark() {
    let Some(files) = setup() else { return };
    // Every pcapng (several interfaces and resolutions) and every fifth pcap.
    let sample: Vec<&PathBuf> = files
        .iter()
        .enumerate()
        .filter(|(i, p)| i % 5 == 0 || p.extension().is_some_and(|x| x == "pcapng"))
        .map(|(_, p)| p)
        .collect();
    let mut frames = 0usize;
    for file in &sample {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args([
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.cap_len",
            ])
            .output()
            .expect("tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        let want: Vec<(i64, u32, usize)> = text
            .lines()
            .map(|l| {
                let mut it = l.split('\t');
                let t = parse_epoch(it.next().expect("time"));
                let len = it.next().expect("len").parse().expect("len");
                let cap = it.next().expect("cap_len").parse().expect("cap_len");
                (t, len, cap)
            })
            .collect();
        // Through the stream path too: both must match tshark.
        let mapped = {
            let mut r = open_file(file).expect("open");
            let mut v = Vec::new();
            while let Some(f) = r.next_frame() {
                v.push((f.timestamp_ns, f.original_len, f.data.len()));
            }
            v
        };
        let streamed = {
            let f = std::fs::File::open(file).expect("open");
            let mut r = open_reader(Box::new(f), "stream").expect("open");
            let mut v = Vec::new();
            while let Some(f) = r.next_frame() {
                v.push((f.timestamp_ns, f.original_len, f.data.len()));
            }
            v
        };
        assert_eq!(mapped.len(), want.len(), "{}", file.display());
        for (i, (got, want)) in mapped.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "{} frame {}", file.display(), i + 1);
        }
        assert_eq!(mapped, streamed, "{}", file.display());
        frames += want.len();
    }
    println!("{} captures, {frames} frames equal tshark", sample.len());
}
