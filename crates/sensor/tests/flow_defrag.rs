//! IPv4 and IPv6 fragment reassembly.

use std::net::{Ipv4Addr, Ipv6Addr};

use ironward_sensor::defrag::{DefragConfig, Defragmenter};
use ironward_wire::{Ipv4Summary, Ipv6Fragment, Vlans};

const SEC: i64 = 1_000_000_000;

fn v4(id: u16, off: u16, mf: bool, payload: &[u8]) -> Ipv4Summary<'_> {
    Ipv4Summary {
        src: Ipv4Addr::new(192, 168, 0, 1),
        dst: Ipv4Addr::new(192, 168, 0, 2),
        protocol: 17,
        ttl: 64,
        identification: id,
        dont_fragment: false,
        more_fragments: mf,
        fragment_offset: off,
        header_len: 20,
        total_len: 20 + payload.len() as u16,
        checksum_ok: Some(true),
        options: &[],
        payload,
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Pushes fragments `(offset, len, more)` of `d` in the given order; returns the payload if the
/// last push completed the datagram, and asserts no earlier push did.
fn push_all(
    df: &mut Defragmenter,
    id: u16,
    d: &[u8],
    frags: &[(usize, usize, bool)],
) -> Option<Vec<u8>> {
    let mut out = None;
    for (i, &(off, len, mf)) in frags.iter().enumerate() {
        let r = df.push_v4(
            i as i64,
            &v4(id, off as u16, mf, &d[off..off + len]),
            Vlans::default(),
            100,
        );
        if i + 1 < frags.len() {
            assert!(r.is_none(), "completed early at fragment {i}");
        } else {
            out = r.map(|r| {
                assert_eq!(r.protocol, 17);
                r.payload.to_vec()
            });
        }
    }
    out
}

#[test]
fn v4_in_order() {
    let d = data(3000);
    let mut df = Defragmenter::new(DefragConfig::default());
    let frags = [(0, 1480, true), (1480, 1480, true), (2960, 40, false)];
    assert_eq!(push_all(&mut df, 1, &d, &frags), Some(d.clone()));
    let st = df.stats();
    assert_eq!(
        (st.reassembled, st.fragments, st.pending, st.bytes_buffered),
        (1, 3, 0, 0)
    );
}

#[test]
fn v4_reverse_order_and_counts() {
    let d = data(3000);
    let mut df = Defragmenter::new(DefragConfig::default());
    df.push_v4(0, &v4(2, 2960, false, &d[2960..]), Vlans::default(), 100);
    df.push_v4(0, &v4(2, 1480, true, &d[1480..2960]), Vlans::default(), 100);
    let r = df
        .push_v4(0, &v4(2, 0, true, &d[..1480]), Vlans::default(), 100)
        .expect("complete");
    assert_eq!(r.payload, &d[..]);
    assert_eq!(r.fragments, 3);
    assert_eq!(r.total_wire_len, 3 * 100);
}

#[test]
fn v4_duplicate_fragment() {
    let d = data(100);
    let mut df = Defragmenter::new(DefragConfig::default());
    let frags = [(0, 48, true), (0, 48, true), (48, 52, false)];
    assert_eq!(push_all(&mut df, 3, &d, &frags), Some(d.clone()));
    assert_eq!(df.stats().duplicates, 1);
    assert_eq!(df.stats().overlaps, 0);
}

#[test]
fn v4_overlap_first_wins_and_is_counted() {
    let mut df = Defragmenter::new(DefragConfig::default());
    let first = [b'A'; 16];
    let evil = [b'Z'; 16];
    let last = [b'C'; 8];
    assert!(df
        .push_v4(0, &v4(4, 0, true, &first), Vlans::default(), 100)
        .is_none());
    // Overlaps bytes 8..16 with different content, adds 16..24.
    assert!(df
        .push_v4(0, &v4(4, 8, true, &evil), Vlans::default(), 100)
        .is_none());
    let r = df
        .push_v4(0, &v4(4, 24, false, &last), Vlans::default(), 100)
        .expect("complete");
    let mut want = Vec::new();
    want.extend_from_slice(&[b'A'; 16]);
    want.extend_from_slice(&[b'Z'; 8]);
    want.extend_from_slice(&[b'C'; 8]);
    assert_eq!(r.payload, &want[..]);
    assert_eq!(df.stats().overlaps, 1);
}

#[test]
fn separate_ids_and_vlans_do_not_mix() {
    let d = data(64);
    let mut df = Defragmenter::new(DefragConfig::default());
    let vlan = Vlans {
        outer: Some(7),
        inner: None,
    };
    assert!(df
        .push_v4(0, &v4(5, 0, true, &d[..32]), vlan, 100)
        .is_none());
    assert!(df
        .push_v4(0, &v4(6, 32, false, &d[32..]), vlan, 100)
        .is_none());
    assert!(df
        .push_v4(0, &v4(5, 32, false, &d[32..]), Vlans::default(), 100)
        .is_none());
    let r = df
        .push_v4(0, &v4(5, 32, false, &d[32..]), vlan, 100)
        .expect("complete");
    assert_eq!(r.payload, &d[..]);
    assert_eq!(df.stats().pending, 2);
}

#[test]
fn timeout_drops_incomplete() {
    let d = data(64);
    let mut df = Defragmenter::new(DefragConfig {
        timeout_ns: 30 * SEC,
        ..DefragConfig::default()
    });
    df.push_v4(0, &v4(7, 0, true, &d[..32]), Vlans::default(), 100);
    df.expire(29 * SEC);
    assert_eq!(df.stats().pending, 1);
    df.expire(31 * SEC);
    let st = df.stats();
    assert_eq!((st.pending, st.timeouts, st.bytes_buffered), (0, 1, 0));
    // The late last fragment starts a new datagram that cannot complete.
    assert!(df
        .push_v4(32 * SEC, &v4(7, 32, false, &d[32..]), Vlans::default(), 100)
        .is_none());
}

#[test]
fn too_large_and_inconsistent_are_dropped() {
    let mut df = Defragmenter::new(DefragConfig::default());
    let chunk = [0u8; 1000];
    assert!(df
        .push_v4(0, &v4(8, 0, true, &chunk), Vlans::default(), 100)
        .is_none());
    // Offset 65000 + 1000 > 65535.
    assert!(df
        .push_v4(0, &v4(8, 65000, false, &chunk), Vlans::default(), 100)
        .is_none());
    assert_eq!(df.stats().invalid, 1);
    assert_eq!(df.stats().pending, 0);
    // Two last fragments with different ends.
    df.push_v4(0, &v4(9, 8, false, &chunk[..8]), Vlans::default(), 100);
    df.push_v4(0, &v4(9, 16, false, &chunk[..8]), Vlans::default(), 100);
    assert_eq!(df.stats().invalid, 2);
    // Data beyond the end fixed by the last fragment.
    df.push_v4(0, &v4(10, 8, false, &chunk[..8]), Vlans::default(), 100);
    df.push_v4(0, &v4(10, 16, true, &chunk[..8]), Vlans::default(), 100);
    assert_eq!(df.stats().invalid, 3);
    assert_eq!(df.stats().pending, 0);
    assert_eq!(df.stats().bytes_buffered, 0);
}

#[test]
fn limits_bound_memory() {
    let mut df = Defragmenter::new(DefragConfig {
        max_datagrams: 4,
        max_bytes_total: 1000,
        ..DefragConfig::default()
    });
    let chunk = [1u8; 200];
    for id in 0..100u16 {
        df.push_v4(
            i64::from(id),
            &v4(id, 0, true, &chunk),
            Vlans::default(),
            100,
        );
        let st = df.stats();
        assert!(st.pending <= 4);
        assert!(st.bytes_buffered <= 1000);
    }
    assert!(df.stats().dropped_limits >= 96);
    // A datagram bigger than the whole budget is refused.
    assert!(df
        .push_v4(0, &v4(500, 1200, true, &chunk), Vlans::default(), 100)
        .is_none());
    assert!(df.stats().bytes_buffered <= 1000);
    // The newest survived and still completes.
    let r = df.push_v4(200, &v4(99, 200, false, &chunk), Vlans::default(), 100);
    assert_eq!(r.map(|r| r.payload.len()), Some(400));
}

#[test]
fn tiny_fragment_flood_is_bounded() {
    let mut df = Defragmenter::new(DefragConfig {
        max_fragments_per_datagram: 16,
        ..DefragConfig::default()
    });
    let b = [0u8; 8];
    for i in 0..100u16 {
        df.push_v4(0, &v4(1, i * 16, true, &b), Vlans::default(), 100);
    }
    assert!(df.stats().dropped_limits >= 1);
    assert!(df.stats().pending <= 1);
}

#[test]
fn v6_out_of_order() {
    let d = data(2000);
    let src: Ipv6Addr = "fe80::1".parse().expect("addr");
    let dst: Ipv6Addr = "fe80::2".parse().expect("addr");
    let mut df = Defragmenter::new(DefragConfig::default());
    let f = |offset: u16, more| Ipv6Fragment {
        identification: 0xdead_beef,
        offset,
        more_fragments: more,
    };
    assert!(df
        .push_v6(
            0,
            src,
            dst,
            17,
            &f(1232, false),
            &d[1232..],
            Vlans::default(),
            100
        )
        .is_none());
    // Duplicate of the last one.
    assert!(df
        .push_v6(
            0,
            src,
            dst,
            17,
            &f(1232, false),
            &d[1232..],
            Vlans::default(),
            100
        )
        .is_none());
    let r = df
        .push_v6(
            1,
            src,
            dst,
            17,
            &f(0, true),
            &d[..1232],
            Vlans::default(),
            100,
        )
        .expect("complete");
    assert_eq!(r.payload, &d[..]);
    assert_eq!(r.protocol, 17);
    assert_eq!(r.fragments, 3);
    assert_eq!(df.stats().duplicates, 1);
}

#[test]
fn random_fragmentation_round_trips() {
    let mut state = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut df = Defragmenter::new(DefragConfig::default());
    for id in 0..200u16 {
        let len = 8 + (next() % 9000) as usize;
        let d = data(len);
        // Fragments of random multiples of 8, some duplicated, shuffled.
        let mut frags = Vec::new();
        let mut off = 0;
        while off < len {
            let l = ((1 + next() % 100) as usize * 8).min(len - off);
            frags.push((off, l, off + l < len));
            if next() % 5 == 0 {
                frags.push((off, l, off + l < len));
            }
            off += l;
        }
        for i in (1..frags.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            frags.swap(i, j);
        }
        let mut got = None;
        for (i, &(o, l, mf)) in frags.iter().enumerate() {
            if let Some(r) = df.push_v4(
                0,
                &v4(id, o as u16, mf, &d[o..o + l]),
                Vlans::default(),
                100,
            ) {
                got = Some((i, r.payload.to_vec()));
            }
        }
        let (at, payload) = got.expect("completed");
        assert_eq!(payload, d);
        // Only trailing duplicates may come after completion; they leave a pending stub.
        assert!(frags[at + 1..].iter().all(|f| frags[..=at].contains(f)));
    }
    assert_eq!(df.stats().overlaps, 0);
}
