//! Fuzzes the pcap reader. The first input byte picks a file header (byte order, timestamp
//! resolution, modified format, old version, snaplen) so that the fuzzer spends its time on
//! records; with the top bit set the input is read as a whole file instead. The same bytes are
//! read in place and through the streaming buffer: both must give the same frames and
//! warnings, and no frame may be longer than the input or than its original length.

#![no_main]

use std::io::Cursor;

use ironward_sensor::capture::{open_bytes, open_reader, CaptureReader};
use libfuzzer_sys::fuzz_target;

fn header(selector: u8) -> Vec<u8> {
    let be = selector & 1 != 0;
    let magic: u32 = match (selector >> 1) & 3 {
        0 => 0xa1b2_c3d4,
        1 => 0xa1b2_3c4d,
        _ => 0xa1b2_cd34,
    };
    let minor: u16 = if selector & 8 != 0 { 2 } else { 4 };
    let snaplen: u32 = if selector & 16 != 0 { 64 } else { 0x7fff_ffff };
    let link: u32 = if selector & 32 != 0 { 0x2400_0001 } else { 1 };
    let mut h = Vec::with_capacity(24);
    let w32 = |h: &mut Vec<u8>, x: u32| {
        h.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
    };
    w32(&mut h, magic);
    for x in [2u16, minor] {
        h.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
    }
    w32(&mut h, 0);
    w32(&mut h, 0);
    w32(&mut h, snaplen);
    w32(&mut h, link);
    h
}

type Frames = Vec<(i64, u32, Vec<u8>, u32, u32)>;

fn drain(mut r: CaptureReader, limit: usize) -> (Frames, Vec<String>) {
    let mut frames = Vec::new();
    while let Some(f) = r.next_frame() {
        assert!(f.data.len() <= limit, "frame longer than the input");
        assert!(f.data.len() <= f.original_len as usize);
        frames.push((
            f.timestamp_ns,
            f.linktype.0,
            f.data.to_vec(),
            f.original_len,
            f.interface,
        ));
    }
    let warnings = r.take_warnings().iter().map(|w| w.to_string()).collect();
    (frames, warnings)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let file = if selector & 0x80 != 0 {
        rest.to_vec()
    } else {
        let mut f = header(selector);
        f.extend_from_slice(rest);
        f
    };
    // Gzip input may legitimately decompress into frames longer than itself.
    let limit = if file.starts_with(&[0x1f, 0x8b]) {
        usize::MAX
    } else {
        file.len()
    };
    let streamed = open_reader(Box::new(Cursor::new(file.clone())), "fuzz");
    let in_place = open_bytes(file, "fuzz");
    match (streamed, in_place) {
        (Ok(a), Ok(b)) => assert_eq!(drain(a, limit), drain(b, limit)),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("paths disagree: {:?} vs {:?}", a.err(), b.err()),
    }
});
