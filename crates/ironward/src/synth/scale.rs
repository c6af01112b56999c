//! A large capture built from real ones: every Ethernet frame of the input captures, repeated
//! with rewritten addresses until the requested number of packets is reached.
//!
//! Copy `k` of a frame keeps its bytes but moves every unicast IPv4 address into another /16
//! (second octet + k) and every unicast MAC into another block (fourth byte + k), so that each
//! copy is a new set of devices and conversations rather than a replay the flow table would fold
//! into the same flows. IPv4 header checksums and the TCP/UDP checksums (whose pseudo-header
//! covers the addresses) are updated incrementally, so the output is as valid as the input.
//! Timestamps are shifted so copies follow one another in one monotonic timeline.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ironward_sensor::capture::{self, PcapConfig, PcapWriter};
use ironward_wire::{checksum, decode, LinkType, Network, Transport};

/// Frames of one pass over the inputs, kept in memory.
struct Template {
    timestamp_ns: i64,
    data: Vec<u8>,
    original_len: u32,
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "gz")
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads every Ethernet frame of every capture under `dir`, each file's timeline shifted to
/// follow the previous one.
fn load_templates(dir: &Path) -> anyhow::Result<Vec<Template>> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut frames = Vec::new();
    let mut clock: i64 = 1_700_000_000_000_000_000;
    for file in files {
        let Ok(mut reader) = capture::open_file(&file) else {
            continue;
        };
        let mut first: Option<i64> = None;
        let mut last = clock;
        while let Some(frame) = reader.next_frame() {
            if frame.linktype != LinkType::ETHERNET {
                continue;
            }
            let base = *first.get_or_insert(frame.timestamp_ns);
            // Keep each file's own spacing, but never more than a minute between frames.
            let offset = (frame.timestamp_ns - base).clamp(0, 3_600_000_000_000);
            let ts = clock + offset;
            last = last.max(ts);
            frames.push(Template {
                timestamp_ns: ts,
                data: frame.data.to_vec(),
                original_len: frame.original_len,
            });
        }
        clock = last + 1_000_000;
    }
    frames.sort_by_key(|t| t.timestamp_ns);
    Ok(frames)
}

fn shift_ipv4(addr: &mut [u8], copy: u8) {
    let first = addr[0];
    let is_group = (224..=255).contains(&first);
    let is_zero = addr.iter().all(|&b| b == 0);
    if !is_group && !is_zero {
        addr[1] = addr[1].wrapping_add(copy);
    }
}

fn shift_mac(mac: &mut [u8], copy: u8) {
    if mac[0] & 1 == 0 {
        mac[3] = mac[3].wrapping_add(copy);
    }
}

/// Rewrites one frame in place for copy number `copy` (0 leaves it unchanged).
fn rewrite(frame: &mut [u8], copy: u8) {
    if copy == 0 || frame.len() < 14 {
        return;
    }
    // Where the IPv4 header and the transport checksum are, found by the decoder.
    let mut ipv4_at = None;
    let mut l4_checksum_at = None;
    {
        let packet = decode(LinkType::ETHERNET, frame);
        let base = frame.as_ptr() as usize;
        if let Network::Ipv4(ip) = packet.network {
            let payload_at = ip.payload.as_ptr() as usize - base;
            let header_at = payload_at.saturating_sub(usize::from(ip.header_len));
            ipv4_at = Some((header_at, usize::from(ip.header_len)));
            l4_checksum_at = match packet.transport {
                Transport::Tcp(..) if ip.payload.len() >= 18 => Some(payload_at + 16),
                Transport::Udp { .. } if ip.payload.len() >= 8 => Some(payload_at + 6),
                _ => None,
            };
        }
    }
    let (dst, src) = frame.split_at_mut(6);
    shift_mac(dst, copy);
    shift_mac(&mut src[..6], copy);
    let Some((at, header_len)) = ipv4_at else {
        return;
    };
    if frame.len() < at + header_len.max(20) {
        return;
    }
    let old: [u8; 8] = frame[at + 12..at + 20].try_into().unwrap_or([0; 8]);
    shift_ipv4(&mut frame[at + 12..at + 16], copy);
    shift_ipv4(&mut frame[at + 16..at + 20], copy);
    let new: [u8; 8] = frame[at + 12..at + 20].try_into().unwrap_or([0; 8]);
    if old == new {
        return;
    }
    let header_sum = u16::from_be_bytes([frame[at + 10], frame[at + 11]]);
    let header_sum = checksum::update(header_sum, &old, &new);
    frame[at + 10..at + 12].copy_from_slice(&header_sum.to_be_bytes());
    if let Some(cs) = l4_checksum_at {
        if frame.len() >= cs + 2 {
            let sum = u16::from_be_bytes([frame[cs], frame[cs + 1]]);
            // A zero UDP checksum means "none"; leave it so.
            if sum != 0 {
                let sum = checksum::update(sum, &old, &new);
                frame[cs..cs + 2].copy_from_slice(&sum.to_be_bytes());
            }
        }
    }
}

/// Writes at least `packets` frames (whole passes over the inputs) to `out` as pcap.
/// Returns the number of frames written.
pub(crate) fn generate(from: &Path, packets: u64, out: &Path) -> anyhow::Result<u64> {
    let templates = load_templates(from)?;
    anyhow::ensure!(
        !templates.is_empty(),
        "no Ethernet frames found in captures under {}",
        from.display()
    );
    let span = templates
        .last()
        .map(|t| t.timestamp_ns)
        .unwrap_or(0)
        .saturating_sub(templates[0].timestamp_ns)
        + 1_000_000;
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        PcapConfig {
            linktype: LinkType::ETHERNET,
            ..PcapConfig::default()
        },
    )?;
    let mut written = 0u64;
    let mut buffer = Vec::with_capacity(65_536);
    let mut copy: u32 = 0;
    while written < packets {
        let shift = i64::from(copy) * span;
        for template in &templates {
            buffer.clear();
            buffer.extend_from_slice(&template.data);
            rewrite(&mut buffer, (copy % 251) as u8);
            writer.write_frame(
                template.timestamp_ns + shift,
                &buffer,
                template.original_len,
            )?;
            written += 1;
        }
        copy += 1;
    }
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_moves_addresses_and_keeps_checksums_valid() {
        use std::net::{IpAddr, Ipv4Addr};
        let src = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        let dst = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 4));
        let frame = crate::synth::demo::tcp_frame_for_tests(src, dst);
        let mut copy = frame.clone();
        rewrite(&mut copy, 3);
        let packet = decode(LinkType::ETHERNET, &copy);
        let Network::Ipv4(ip) = packet.network else {
            panic!("not IPv4");
        };
        assert_eq!(ip.src, Ipv4Addr::new(10, 4, 2, 3));
        assert_eq!(ip.dst, Ipv4Addr::new(10, 4, 2, 4));
        assert_eq!(ip.checksum_ok, Some(true));
        assert!(checksum::verify_transport(
            IpAddr::V4(ip.src),
            IpAddr::V4(ip.dst),
            6,
            ip.payload
        ));
    }
}
