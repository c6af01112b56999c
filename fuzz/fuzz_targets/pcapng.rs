//! Fuzzes the pcapng reader. The first input byte picks a prefix (a section header block in
//! either byte order, optionally followed by an interface description block with a chosen
//! `if_tsresol`) so that the fuzzer spends its time on blocks; with the top bit set the input is
//! read as a whole file instead. The same bytes are read in place and through the streaming
//! buffer: both must give the same frames and warnings, and no frame may be longer than the
//! input or than its original length.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/capture.rs"]
mod common;

fn block(out: &mut Vec<u8>, be: bool, block_type: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    let w32 = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    out.extend_from_slice(&w32(block_type));
    out.extend_from_slice(&w32(len));
    out.extend_from_slice(body);
    out.extend_from_slice(&w32(len));
}

fn prefix(selector: u8) -> Vec<u8> {
    let be = selector & 1 != 0;
    let w16 = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let w32 = |x: u32| if be { x.to_be_bytes() } else { x.to_le_bytes() };
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&w32(0x1a2b_3c4d));
    shb.extend_from_slice(&w16(1));
    shb.extend_from_slice(&w16(0));
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut out, be, 0x0a0d_0d0a, &shb);
    if selector & 2 != 0 {
        let mut idb = Vec::new();
        idb.extend_from_slice(&w16(1));
        idb.extend_from_slice(&w16(0));
        idb.extend_from_slice(&w32(u32::from(selector & 4) * 16));
        // if_tsresol from the selector's upper bits: 10^-6, 10^-9, 2^-10 or 10^-30.
        let tsresol = [6u8, 9, 0x8a, 30][usize::from((selector >> 3) & 3)];
        idb.extend_from_slice(&w16(9));
        idb.extend_from_slice(&w16(1));
        idb.extend_from_slice(&[tsresol, 0, 0, 0]);
        idb.extend_from_slice(&w16(14));
        idb.extend_from_slice(&w16(8));
        let offset: i64 = if selector & 0x20 != 0 { -1 } else { 1_000 };
        idb.extend_from_slice(&if be {
            offset.to_be_bytes()
        } else {
            offset.to_le_bytes()
        });
        idb.extend_from_slice(&[0; 4]);
        block(&mut out, be, 1, &idb);
    }
    out
}

fuzz_target!(|data: &[u8]| common::check(data, prefix));
