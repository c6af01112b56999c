//! Fuzzes the pcap reader. The first input byte picks a file header (byte order, timestamp
//! resolution, modified format, old version, snaplen) so that the fuzzer spends its time on
//! records; with the top bit set the input is read as a whole file instead. The same bytes are
//! read in place and through the streaming buffer: both must give the same frames and
//! warnings, and no frame may be longer than the input or than its original length.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/capture.rs"]
mod common;

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

fuzz_target!(|data: &[u8]| common::check(data, header));
