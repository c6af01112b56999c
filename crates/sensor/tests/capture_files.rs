//! Crafted capture files: every format variant, every kind of damage, every input path (mapped
//! file, in-memory bytes, stream, FIFO, gzip).

use std::io::{Cursor, Read, Write};
use std::path::Path;

use ironward_sensor::capture::{
    open_bytes, open_file, open_reader, CaptureFormat, CaptureReader, InterfaceConfig, OpenError,
    PcapConfig, PcapWriter, PcapngWriter,
};
use ironward_wire::LinkType;

/// An owned copy of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
struct F {
    ts: i64,
    link: u32,
    data: Vec<u8>,
    len: u32,
    iface: u32,
}

fn f(ts: i64, link: LinkType, data: &[u8], len: u32, iface: u32) -> F {
    F {
        ts,
        link: link.0,
        data: data.to_vec(),
        len,
        iface,
    }
}

fn collect(r: &mut CaptureReader) -> Vec<F> {
    let mut out = Vec::new();
    while let Some(fr) = r.next_frame() {
        assert!(fr.data.len() <= fr.original_len as usize);
        out.push(F {
            ts: fr.timestamp_ns,
            link: fr.linktype.0,
            data: fr.data.to_vec(),
            len: fr.original_len,
            iface: fr.interface,
        });
    }
    out
}

fn warnings(r: &mut CaptureReader) -> Vec<String> {
    r.take_warnings().iter().map(|w| w.to_string()).collect()
}

/// A reader handing out a few bytes per call, like a slow pipe.
struct Trickle(Cursor<Vec<u8>>);
impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

/// Reads `bytes` in place and as a trickling stream; both must give the same frames and
/// warnings, which are returned.
fn read_both(bytes: &[u8]) -> (Vec<F>, Vec<String>) {
    let mut a = open_bytes(bytes.to_vec(), "mem").expect("open in place");
    let fa = collect(&mut a);
    let wa = warnings(&mut a);
    assert_eq!(
        a.position(),
        bytes.len() as u64,
        "in-place reader consumed everything"
    );
    let mut b =
        open_reader(Box::new(Trickle(Cursor::new(bytes.to_vec()))), "stream").expect("open");
    let fb = collect(&mut b);
    let wb = warnings(&mut b);
    assert_eq!(fa, fb, "stream and in-place frames differ");
    assert_eq!(wa, wb, "stream and in-place warnings differ");
    assert_eq!(b.input_size(), None);
    (fa, wa)
}

fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn pcap(config: PcapConfig, frames: &[(i64, Vec<u8>, u32)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), config).expect("header");
    for (ts, data, len) in frames {
        w.write_frame(*ts, data, *len).expect("frame");
    }
    w.into_inner().expect("flush")
}

#[test]
fn pcap_all_byte_orders_and_resolutions() {
    let frames = vec![
        (1_700_000_000_123_456_789, payload(60, 1), 60),
        (1_700_000_001_000_000_001, payload(1514, 2), 1514),
        (0, payload(1, 3), 1),
    ];
    for big_endian in [false, true] {
        for nanosecond in [false, true] {
            let config = PcapConfig {
                linktype: LinkType::LINUX_SLL,
                snaplen: 65535,
                nanosecond,
                big_endian,
            };
            let bytes = pcap(config, &frames);
            let (got, w) = read_both(&bytes);
            assert!(w.is_empty(), "{w:?}");
            let want: Vec<F> = frames
                .iter()
                .map(|(ts, d, l)| {
                    let ts = if nanosecond { *ts } else { ts / 1000 * 1000 };
                    f(ts, LinkType::LINUX_SLL, d, *l, 0)
                })
                .collect();
            assert_eq!(got, want, "be={big_endian} ns={nanosecond}");
            let r = open_bytes(bytes, "x").expect("open");
            match r.format() {
                CaptureFormat::Pcap {
                    nanosecond: n,
                    big_endian: b,
                    snaplen,
                    ..
                } => {
                    assert_eq!((n, b, snaplen), (nanosecond, big_endian, 65535));
                }
                other => panic!("format {other:?}"),
            }
        }
    }
}

#[test]
fn pcap_snaplen_truncation() {
    let config = PcapConfig {
        snaplen: 96,
        ..PcapConfig::default()
    };
    let bytes = pcap(config, &[(5_000_000_000, payload(1514, 9), 1514)]);
    let (got, w) = read_both(&bytes);
    assert!(w.is_empty());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data, payload(1514, 9)[..96]);
    assert_eq!(got[0].len, 1514);
}

#[test]
fn pcap_cut_in_the_middle_of_a_record() {
    let bytes = pcap(
        PcapConfig::default(),
        &[
            (1_000_000_000, payload(100, 1), 100),
            (2_000_000_000, payload(1514, 2), 1514),
        ],
    );
    // Header 24 + record 16+100 = 140; the second record's header starts there.
    let cut = 140 + 16 + 200;
    let (got, w) = read_both(&bytes[..cut]);
    assert_eq!(got.len(), 1);
    assert_eq!(
        w,
        vec!["offset 140: truncated packet record: header says 1514 bytes, 200 remain"]
    );
}

#[test]
fn pcap_truncated_file_header_is_an_error() {
    let bytes = pcap(PcapConfig::default(), &[]);
    let e = open_bytes(bytes[..20].to_vec(), "x").expect_err("truncated");
    assert!(matches!(e, OpenError::TruncatedHeader { .. }));
    assert_eq!(
        e.to_string(),
        "truncated pcap file header: 24 bytes needed, 20 present"
    );
    // Only a header: a valid, empty capture.
    let (got, w) = read_both(&bytes);
    assert!(got.is_empty() && w.is_empty());
}

#[test]
fn not_a_capture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("index.pcap");
    std::fs::write(&html, "<!DOCTYPE html><html></html>").expect("write");
    let e = open_file(&html).expect_err("html");
    assert!(matches!(e, OpenError::NotACapture { .. }));
    assert_eq!(
        e.to_string(),
        "not a pcap or pcapng file (first bytes 3c 21 44 4f 43 54 59 50)"
    );
    let short = dir.path().join("short");
    std::fs::write(&short, "<!D").expect("write");
    assert_eq!(
        open_file(&short).expect_err("short").to_string(),
        "not a pcap or pcapng file (first bytes 3c 21 44)"
    );
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, "").expect("write");
    assert_eq!(
        open_file(&empty).expect_err("empty").to_string(),
        "not a pcap or pcapng file (empty file)"
    );
    assert!(matches!(
        open_file(&dir.path().join("missing")),
        Err(OpenError::Io(_))
    ));
}

/// Offsets of the blocks of a well-formed pcapng file.
fn block_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut be = false;
    while at + 12 <= bytes.len() {
        let t = &bytes[at..at + 4];
        if t == [0x0a, 0x0d, 0x0d, 0x0a] {
            be = bytes[at + 8..at + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
        }
        let l: [u8; 4] = bytes[at + 4..at + 8].try_into().expect("4");
        let len = if be {
            u32::from_be_bytes(l)
        } else {
            u32::from_le_bytes(l)
        } as usize;
        out.push(at);
        at += len;
    }
    out
}

const SEC: i64 = 1_000_000_000;

/// Two sections: big-endian with two interfaces (Ethernet at 10^-9, raw IP at 2^-10 with a
/// 1000 s offset), then little-endian with one SLL interface (snaplen 64), SPB, PB, and every
/// kind of block that must be skipped.
fn multi_section() -> (Vec<u8>, Vec<F>) {
    let mut w = PcapngWriter::new(Vec::new(), true).expect("shb");
    let eth = w
        .add_interface(InterfaceConfig {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            tsresol: 9,
            tsoffset_secs: 0,
        })
        .expect("idb");
    let raw = w
        .add_interface(InterfaceConfig {
            linktype: LinkType::RAW,
            snaplen: 0,
            tsresol: 0x80 | 10,
            tsoffset_secs: 1000,
        })
        .expect("idb");
    let mut want = Vec::new();
    let t0 = 1_700_000_000 * SEC + 123_456_789;
    w.write_epb(eth, t0, &payload(60, 1), 60).expect("epb");
    want.push(f(t0, LinkType::ETHERNET, &payload(60, 1), 60, 0));
    let t1 = 1_700_000_000 * SEC + SEC / 2; // exact in units of 2^-10 s
    w.write_epb(raw, t1, &payload(40, 2), 1500).expect("epb");
    want.push(f(t1, LinkType::RAW, &payload(40, 2), 1500, 1));
    // Blocks to skip, in big-endian: NRB, ISB, DSB, custom (both), an unknown type.
    w.write_block(4, &[0, 0, 0, 0]).expect("nrb");
    w.write_block(5, &[0; 20]).expect("isb");
    w.write_block(0x0a, &[0x54, 0x4c, 0x53, 0x4b, 0, 0, 0, 1, b'x', 0, 0, 0])
        .expect("dsb");
    w.write_block(0x0bad, &[0, 0, 0x7e, 0xd9, 1, 2, 3])
        .expect("cb");
    w.write_block(0x4000_0bad, &[0, 0, 0x7e, 0xd9])
        .expect("dcb");
    w.write_block(0x1234_5678, &payload(33, 0))
        .expect("unknown");
    w.write_epb(eth, t0 + 5, &payload(1514, 3), 1514)
        .expect("epb");
    want.push(f(t0 + 5, LinkType::ETHERNET, &payload(1514, 3), 1514, 0));

    w.new_section(false).expect("shb 2");
    let sll = w
        .add_interface(InterfaceConfig {
            linktype: LinkType::LINUX_SLL,
            snaplen: 64,
            tsresol: 6,
            tsoffset_secs: 0,
        })
        .expect("idb");
    assert_eq!(sll, 0, "a new section restarts interface numbering");
    let t2 = 1_600_000_000 * SEC + 1000;
    w.write_epb(sll, t2, &payload(50, 4), 50).expect("epb");
    want.push(f(t2, LinkType::LINUX_SLL, &payload(50, 4), 50, 0));
    // SPB carrying 100 bytes although the snaplen is 64: captured length = min(100, 64, 100).
    let mut spb = 100u32.to_le_bytes().to_vec();
    spb.extend(payload(100, 5));
    w.write_block(3, &spb).expect("spb");
    want.push(f(t2, LinkType::LINUX_SLL, &payload(100, 5)[..64], 100, 0));
    // SPB whose original length is shorter than the block space (padding is not data).
    w.write_spb(&payload(10, 6), 10).expect("spb");
    want.push(f(t2, LinkType::LINUX_SLL, &payload(10, 6), 10, 0));
    // Obsolete packet block with a comment option.
    let t3: u64 = 1_600_000_001_000_002;
    let mut pb = Vec::new();
    pb.extend(0u16.to_le_bytes());
    pb.extend(0u16.to_le_bytes());
    pb.extend(((t3 >> 32) as u32).to_le_bytes());
    pb.extend((t3 as u32).to_le_bytes());
    pb.extend(30u32.to_le_bytes());
    pb.extend(70u32.to_le_bytes());
    pb.extend(payload(30, 7));
    pb.extend([0, 0]); // pad to 4
    pb.extend(1u16.to_le_bytes());
    pb.extend(5u16.to_le_bytes());
    pb.extend(b"hello\0\0\0");
    pb.extend([0, 0, 0, 0]);
    w.write_block(2, &pb).expect("pb");
    want.push(f(
        t3 as i64 * 1000,
        LinkType::LINUX_SLL,
        &payload(30, 7),
        70,
        0,
    ));
    (w.into_inner().expect("flush"), want)
}

#[test]
fn pcapng_sections_interfaces_and_block_kinds() {
    let (bytes, want) = multi_section();
    let (got, w) = read_both(&bytes);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(got, want);
    assert_eq!(
        open_bytes(bytes, "x").expect("open").format(),
        CaptureFormat::Pcapng
    );
}

#[test]
fn pcapng_tsoffset_and_power_of_two_resolution_by_hand() {
    // Interface with if_tsresol = 2^-10 and if_tsoffset = 1000 s, written by hand.
    let mut file = Vec::new();
    let block = |file: &mut Vec<u8>, t: u32, body: &[u8]| {
        let len = (12 + body.len()) as u32;
        file.extend(t.to_le_bytes());
        file.extend(len.to_le_bytes());
        file.extend(body);
        file.extend(len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    block(&mut file, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend(1u16.to_le_bytes());
    idb.extend(0u16.to_le_bytes());
    idb.extend(0u32.to_le_bytes());
    idb.extend(9u16.to_le_bytes());
    idb.extend(1u16.to_le_bytes());
    idb.extend([0x8a, 0, 0, 0]);
    idb.extend(14u16.to_le_bytes());
    idb.extend(8u16.to_le_bytes());
    idb.extend(1000i64.to_le_bytes());
    idb.extend([0, 0, 0, 0]);
    block(&mut file, 1, &idb);
    let units: u64 = 3 * 1024 + 256; // 3.25 s
    let mut epb = Vec::new();
    epb.extend(0u32.to_le_bytes());
    epb.extend(((units >> 32) as u32).to_le_bytes());
    epb.extend((units as u32).to_le_bytes());
    epb.extend(4u32.to_le_bytes());
    epb.extend(4u32.to_le_bytes());
    epb.extend([1, 2, 3, 4]);
    block(&mut file, 6, &epb);
    let (got, w) = read_both(&file);
    assert!(w.is_empty());
    assert_eq!(
        got,
        vec![f(
            1003 * SEC + SEC / 4,
            LinkType::ETHERNET,
            &[1, 2, 3, 4],
            4,
            0
        )]
    );
}

fn simple_pcapng(n: usize) -> (Vec<u8>, Vec<F>) {
    let mut w = PcapngWriter::new(Vec::new(), false).expect("shb");
    w.add_interface(InterfaceConfig::default()).expect("idb");
    let mut want = Vec::new();
    for i in 0..n {
        let ts = (1_650_000_000 + i as i64) * SEC;
        let d = payload(60 + i * 10, i as u8);
        w.write_epb(0, ts, &d, d.len() as u32).expect("epb");
        want.push(f(ts, LinkType::ETHERNET, &d, d.len() as u32, 0));
    }
    (w.into_inner().expect("flush"), want)
}

fn set_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn pcapng_resync_after_length_mismatch() {
    let (mut bytes, want) = simple_pcapng(5);
    let offs = block_offsets(&bytes); // SHB, IDB, EPB x5
    let bad = offs[3]; // the second packet
    let mut expect = want.clone();
    expect.remove(1);
    let skipped = offs[4] - bad;
    // A length within the file: the trailing copy does not match.
    let mut b1 = bytes.clone();
    set_u32(&mut b1, bad + 4, 200);
    let trailer = u32::from_le_bytes(b1[bad + 196..bad + 200].try_into().expect("4"));
    let (got, w) = read_both(&b1);
    assert_eq!(got, expect);
    assert_eq!(
        w,
        vec![format!(
            "offset {bad}: enhanced packet block length mismatch: header says 200, trailer \
             says {trailer}; skipped {skipped} bytes to the next block at offset {}",
            offs[4]
        )]
    );
    // A length beyond the end of the file, with valid blocks after it.
    set_u32(&mut bytes, bad + 4, 4096);
    let (got, w) = read_both(&bytes);
    assert_eq!(got, expect);
    assert_eq!(
        w,
        vec![format!(
            "offset {bad}: enhanced packet block length 4096 exceeds the {} bytes that \
             remain; skipped {skipped} bytes to the next block at offset {}",
            bytes.len() - bad,
            offs[4]
        )]
    );
}

#[test]
fn pcapng_resync_after_invalid_length_and_garbage() {
    let (bytes, want) = simple_pcapng(4);
    let offs = block_offsets(&bytes);
    // Length not a multiple of 4.
    let mut b1 = bytes.clone();
    set_u32(&mut b1, offs[2] + 4, 13);
    let (got, w) = read_both(&b1);
    assert_eq!(got, want[1..]);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].starts_with(&format!(
            "offset {}: enhanced packet block with invalid length 13",
            offs[2]
        )),
        "{w:?}"
    );
    assert!(w[0].ends_with(&format!(
        "skipped {} bytes to the next block at offset {}",
        offs[3] - offs[2],
        offs[3]
    )));
    // 100 bytes of garbage between two blocks.
    let mut b2 = bytes[..offs[3]].to_vec();
    b2.extend([0xab; 100]);
    b2.extend(&bytes[offs[3]..]);
    let (got, w) = read_both(&b2);
    assert_eq!(got, want);
    assert_eq!(
        w,
        vec![format!(
            "offset {}: block of type 0xabababab with invalid length 2880154539 (must be a \
             multiple of 4 between 12 and 16777216); skipped 100 bytes to the next block at \
             offset {}",
            offs[3],
            offs[3] + 100
        )]
    );
    // Garbage at the end: everything before is delivered.
    let mut b3 = bytes.clone();
    b3.extend([0xcd; 40]);
    let (got, w) = read_both(&b3);
    assert_eq!(got, want);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("no valid block follows (skipped 40 bytes to the end)"),
        "{w:?}"
    );
}

#[test]
fn pcapng_content_errors_skip_the_block() {
    let (mut bytes, want) = simple_pcapng(4);
    let offs = block_offsets(&bytes);
    set_u32(&mut bytes, offs[2] + 8, 5); // interface 5 does not exist
    set_u32(&mut bytes, offs[3] + 20, 5000); // captured length beyond the block
    let (got, w) = read_both(&bytes);
    assert_eq!(got, want[2..]);
    assert_eq!(
        w,
        vec![
            format!(
                "offset {}: enhanced packet block refers to undefined interface 5 (1 defined \
                 in this section); skipped",
                offs[2]
            ),
            format!(
                "offset {}: enhanced packet block captured length 5000 exceeds the 72 bytes \
                 its block holds; skipped",
                offs[3]
            ),
        ]
    );
}

#[test]
fn pcapng_packets_before_any_interface() {
    let (bytes, _) = simple_pcapng(1);
    let offs = block_offsets(&bytes);
    // Drop the IDB.
    let mut b = bytes[..offs[1]].to_vec();
    b.extend(&bytes[offs[2]..]);
    let (got, w) = read_both(&b);
    assert!(got.is_empty());
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("undefined interface 0 (0 defined"), "{w:?}");
}

#[test]
fn pcapng_cut_in_the_middle_of_a_block() {
    let (bytes, want) = simple_pcapng(3);
    let offs = block_offsets(&bytes);
    let last = offs[4];
    let cut = last + 50;
    let (got, w) = read_both(&bytes[..cut]);
    assert_eq!(got, want[..2]);
    let len = bytes.len() - last;
    assert_eq!(
        w,
        vec![format!(
            "offset {last}: truncated enhanced packet block: header says {len} bytes, 50 remain"
        )]
    );
    // Cut inside a block header.
    let (got, w) = read_both(&bytes[..last + 6]);
    assert_eq!(got, want[..2]);
    assert_eq!(
        w,
        vec![format!(
            "offset {last}: truncated block header: 12 bytes needed, 6 remain"
        )]
    );
}

#[test]
fn pcapng_bad_first_section_header() {
    let (bytes, _) = simple_pcapng(1);
    for n in [4, 11, 20] {
        let e = open_bytes(bytes[..n].to_vec(), "x").expect_err("truncated");
        assert!(matches!(e, OpenError::TruncatedHeader { .. }), "{n}: {e}");
    }
    let mut b = bytes.clone();
    b[8] = 0;
    assert_eq!(
        open_bytes(b, "x").expect_err("bom").to_string(),
        "invalid pcapng file header: bad byte-order magic"
    );
    let mut b = bytes.clone();
    b[12] = 2;
    assert_eq!(
        open_bytes(b, "x").expect_err("version").to_string(),
        "unsupported pcapng version 2.0"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn gzip_of_both_formats_by_magic_not_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = [(1_000_000_000, payload(60, 1), 60)];
    let plain_pcap = pcap(PcapConfig::default(), &frames);
    let (plain_ng, want_ng) = multi_section();
    for (name, plain) in [("a.pcap.gz", &plain_pcap), ("b.pcapng", &plain_ng)] {
        let path = dir.path().join(name);
        std::fs::write(&path, gzip(plain)).expect("write");
        let mut r = open_file(&path).expect("open gz");
        assert!(r.is_compressed());
        assert_eq!(r.input_size(), None);
        let got = collect(&mut r);
        assert!(warnings(&mut r).is_empty());
        assert_eq!(r.position(), plain.len() as u64);
        let mut p = open_bytes(plain.clone(), "plain").expect("open");
        assert_eq!(got, collect(&mut p));
    }
    // Concatenated gzip members, split in the middle of a block.
    let mid = plain_ng.len() / 2;
    let mut two = gzip(&plain_ng[..mid]);
    two.extend(gzip(&plain_ng[mid..]));
    let mut r = open_reader(Box::new(Cursor::new(two)), "-").expect("open");
    assert_eq!(collect(&mut r), want_ng);
    // A gzip stream cut short: frames before the cut, then a warning.
    let gz = gzip(&plain_ng);
    let mut r = open_bytes(gz[..gz.len() * 2 / 3].to_vec(), "cut").expect("open");
    let got = collect(&mut r);
    assert!(got.len() < want_ng.len());
    assert_eq!(got, want_ng[..got.len()]);
    let w = warnings(&mut r);
    assert!(w.iter().any(|w| w.contains("read error")), "{w:?}");
}

#[test]
fn mapped_file_is_zero_copy_and_reports_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bytes, want) = multi_section();
    let path = dir.path().join("x.pcapng");
    std::fs::write(&path, &bytes).expect("write");
    let mut r = open_file(&path).expect("open");
    assert_eq!(r.input_size(), Some(bytes.len() as u64));
    assert!(!r.is_compressed());
    assert_eq!(r.name(), path.to_string_lossy());
    assert_eq!(collect(&mut r), want);
    assert_eq!(r.position(), bytes.len() as u64);
    assert!(r.next_frame().is_none());
}

#[cfg(unix)]
#[test]
fn fifo_falls_back_to_streaming() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: mkfifo not available");
        return;
    }
    let (bytes, want) = multi_section();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open fifo");
            f.write_all(&bytes).expect("write fifo");
        })
    };
    let mut r = open_file(Path::new(&fifo)).expect("open fifo");
    assert_eq!(r.input_size(), None);
    assert_eq!(collect(&mut r), want);
    writer.join().expect("writer");
}

#[test]
fn large_frames_through_the_stream_buffer() {
    // Records larger than the initial 256 KiB buffer (allowed by a large snaplen).
    let config = PcapConfig {
        snaplen: 1 << 20,
        ..PcapConfig::default()
    };
    let frames: Vec<_> = (0..6)
        .map(|i| {
            (
                i * SEC,
                payload(300_000 + i as usize * 100_000, i as u8),
                900_000,
            )
        })
        .collect();
    let bytes = pcap(config, &frames);
    let (got, w) = read_both(&bytes);
    assert!(w.is_empty());
    assert_eq!(got.len(), 6);
    assert_eq!(got[5].data.len(), 800_000);
}

#[test]
fn warnings_are_drained() {
    let (mut bytes, _) = simple_pcapng(3);
    let offs = block_offsets(&bytes);
    set_u32(&mut bytes, offs[2] + 8, 9);
    let mut r = open_bytes(bytes, "x").expect("open");
    while r.next_frame().is_some() {}
    assert_eq!(r.take_warnings().len(), 1);
    assert!(r.take_warnings().is_empty());
    let w = ironward_sensor::capture::CaptureWarning {
        offset: 1234,
        message: "truncated packet record: header says 1514 bytes, 200 remain".into(),
    };
    assert_eq!(
        w.to_string(),
        "offset 1234: truncated packet record: header says 1514 bytes, 200 remain"
    );
}
