//! What the `pcap` and `pcapng` targets share: read one file both ways (streamed and in place)
//! and check that they agree and that every frame is sane.

use std::io::Cursor;

use ironward_sensor::capture::{open_bytes, open_reader, CaptureReader};

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

/// The fuzz input: with the selector's top bit set the rest is the whole file, otherwise it
/// follows the header `prefix` builds from the selector. Both readers must agree on it.
pub fn check(data: &[u8], prefix: fn(u8) -> Vec<u8>) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let file = if selector & 0x80 != 0 {
        rest.to_vec()
    } else {
        let mut f = prefix(selector);
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
}
