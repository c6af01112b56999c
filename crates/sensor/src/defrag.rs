/*!
IPv4 and IPv6 fragment reassembly.

Fragments are grouped by (VLAN tags, source, destination, identification, protocol). Each
datagram in progress keeps a buffer as long as the furthest byte received and a sorted list of
the byte ranges received. When the last fragment (MF = 0) has fixed the total length and the
ranges cover it, the datagram is complete and its payload is returned, borrowed from the
defragmenter until the next call.

# Policies

- **Overlaps: first received wins.** Bytes already received are never overwritten. A fragment
  that overlaps received bytes with *different* content is counted in `DefragStats::overlaps`
  (Teardrop / Ptacek-Newsham evasion); one that overlaps with identical content (a duplicate or
  a retransmission) is counted in `DefragStats::duplicates`. Either way its new bytes are used.
- **Invalid datagrams are dropped and counted** (`DefragStats::invalid`): a payload longer than
  `max_datagram_len` (65535 by default), two last fragments disagreeing on the total length, or
  data beyond the total length fixed by the last fragment.
- **Bounds.** At most `max_datagrams` datagrams in progress (the oldest is dropped to make room),
  at most `max_bytes_total` bytes buffered (oldest dropped first; a fragment that cannot fit
  even then is dropped), at most `max_fragments_per_datagram` fragments per datagram (the
  datagram is dropped beyond). All counted in `DefragStats::dropped_limits`.
- **Timeout** from the first fragment of a datagram (like Linux `ipfrag_time`): incomplete
  datagrams older than `timeout_ns` are dropped by [`Defragmenter::expire`], which `push_*`
  also calls, so the defragmenter maintains itself.
- A packet that is not a fragment (offset 0, MF = 0) is returned at once as a one-fragment
  datagram (copied), so callers may push every packet if they wish.
*/

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};

use ironward_wire::{Ipv4Summary, Ipv6Fragment, Vlans};

/// Limits of the defragmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams in progress at once.
    pub max_datagrams: usize,
    /// Bytes buffered by all datagrams in progress.
    pub max_bytes_total: usize,
    /// Longest reassembled payload accepted (65535 for IP).
    pub max_datagram_len: usize,
    /// Fragments accepted per datagram (duplicates included).
    pub max_fragments_per_datagram: usize,
    /// Time after the first fragment when an incomplete datagram is dropped.
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    /// 4096 datagrams, 64 MiB, 65535 bytes, 256 fragments, 30 s.
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 4096,
            max_bytes_total: 64 * 1024 * 1024,
            max_datagram_len: 65535,
            max_fragments_per_datagram: 256,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the defragmenter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments pushed.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Incomplete datagrams dropped by the timeout.
    pub timeouts: u64,
    /// Fragments overlapping received bytes with different content.
    pub overlaps: u64,
    /// Fragments overlapping received bytes with the same content.
    pub duplicates: u64,
    /// Datagrams dropped as invalid (too long, inconsistent total length).
    pub invalid: u64,
    /// Datagrams or fragments dropped because of a limit.
    pub dropped_limits: u64,
    /// Datagrams in progress.
    pub pending: u64,
    /// Bytes buffered by datagrams in progress.
    pub bytes_buffered: u64,
}

/// A completed datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reassembled<'a> {
    /// The upper-layer protocol.
    pub protocol: u8,
    /// The reassembled IP payload (transport header included, IP header excluded).
    pub payload: &'a [u8],
    /// Fragments that made it (duplicates included).
    pub fragments: u32,
    /// Sum of the wire lengths of the frames that carried those fragments, as given to
    /// `push_v4`/`push_v6`: the flow table counts the datagram with these bytes.
    pub total_wire_len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    vlans: Vlans,
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

#[derive(Debug)]
struct Datagram {
    gen: u64,
    buf: Vec<u8>,
    /// Sorted, disjoint, non-adjacent received ranges `[start, end)`.
    ranges: Vec<(usize, usize)>,
    total: Option<usize>,
    fragments: u32,
    wire_len: u64,
}

/// Reassembles IPv4 and IPv6 fragments. See the module docs for its policies.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    map: HashMap<Key, Datagram>,
    /// Creation order, for timeouts and oldest-first eviction; stale records (datagram already
    /// gone, recognised by `gen`) are skipped and compacted away.
    order: VecDeque<(Key, u64, i64)>,
    next_gen: u64,
    bytes: usize,
    out: Vec<u8>,
    stats: DefragStats,
}

enum Outcome {
    Pending,
    Complete,
    Drop,
}

impl Defragmenter {
    /// An empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            map: HashMap::new(),
            order: VecDeque::new(),
            next_gen: 0,
            bytes: 0,
            out: Vec::new(),
            stats: DefragStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> DefragStats {
        DefragStats {
            pending: self.map.len() as u64,
            bytes_buffered: self.bytes as u64,
            ..self.stats
        }
    }

    /// Feeds one IPv4 fragment. Returns the reassembled IP payload when this fragment completes
    /// the datagram.
    pub fn push_v4(
        &mut self,
        ts_ns: i64,
        ip: &Ipv4Summary<'_>,
        vlans: Vlans,
        wire_len: u32,
    ) -> Option<Reassembled<'_>> {
        let key = Key {
            vlans,
            src: IpAddr::V4(ip.src),
            dst: IpAddr::V4(ip.dst),
            id: u32::from(ip.identification),
            protocol: ip.protocol,
        };
        self.push(
            ts_ns,
            key,
            usize::from(ip.fragment_offset),
            ip.more_fragments,
            ip.payload,
            u64::from(wire_len),
        )
    }

    /// Feeds one IPv6 fragment: `next_header` is the upper-layer protocol, `payload` the bytes
    /// after the fragment header. Returns the reassembled payload when complete.
    #[allow(clippy::too_many_arguments)]
    pub fn push_v6(
        &mut self,
        ts_ns: i64,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: u8,
        frag: &Ipv6Fragment,
        payload: &[u8],
        vlans: Vlans,
        wire_len: u32,
    ) -> Option<Reassembled<'_>> {
        let key = Key {
            vlans,
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            id: frag.identification,
            protocol: next_header,
        };
        self.push(
            ts_ns,
            key,
            usize::from(frag.offset),
            frag.more_fragments,
            payload,
            u64::from(wire_len),
        )
    }

    /// Drops incomplete datagrams whose first fragment is older than the timeout.
    pub fn expire(&mut self, now_ns: i64) {
        while let Some(&(key, gen, created)) = self.order.front() {
            let live = self.map.get(&key).is_some_and(|d| d.gen == gen);
            if live {
                if created.saturating_add(self.cfg.timeout_ns) > now_ns {
                    break;
                }
                self.remove(&key);
                self.stats.timeouts += 1;
            }
            self.order.pop_front();
        }
    }

    fn push(
        &mut self,
        ts_ns: i64,
        key: Key,
        offset: usize,
        more: bool,
        data: &[u8],
        wire_len: u64,
    ) -> Option<Reassembled<'_>> {
        self.stats.fragments += 1;
        self.expire(ts_ns);
        let end = offset + data.len();
        if end > self.cfg.max_datagram_len {
            self.stats.invalid += 1;
            self.remove(&key);
            return None;
        }
        if !self.map.contains_key(&key) {
            if !self.make_room(end) {
                self.stats.dropped_limits += 1;
                return None;
            }
            let gen = self.next_gen;
            self.next_gen += 1;
            self.map.insert(
                key,
                Datagram {
                    gen,
                    buf: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    fragments: 0,
                    wire_len: 0,
                },
            );
            self.order.push_back((key, gen, ts_ns));
            self.compact_order();
        } else {
            let grow = self
                .map
                .get(&key)
                .map_or(0, |d| end.saturating_sub(d.buf.len()));
            if self.bytes + grow > self.cfg.max_bytes_total && !self.make_room_keeping(grow, &key) {
                self.stats.dropped_limits += 1;
                return None;
            }
        }
        let cfg = self.cfg;
        let d = self.map.get_mut(&key)?;
        let before = d.buf.len();
        let outcome = add_fragment(d, &cfg, offset, more, data, wire_len, &mut self.stats);
        self.bytes = self.bytes + d.buf.len() - before;
        match outcome {
            Outcome::Pending => None,
            Outcome::Drop => {
                self.remove(&key);
                None
            }
            Outcome::Complete => {
                let d = self.map.remove(&key)?;
                self.bytes -= d.buf.len();
                self.stats.reassembled += 1;
                // Reuse the datagram's buffer as the output; the old output buffer is dropped.
                self.out = d.buf;
                Some(Reassembled {
                    protocol: key.protocol,
                    payload: &self.out,
                    fragments: d.fragments,
                    total_wire_len: d.wire_len,
                })
            }
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(d) = self.map.remove(key) {
            self.bytes -= d.buf.len();
        }
    }

    /// Makes room for a new datagram that will need `bytes`: drops the oldest datagrams while
    /// the count or byte limit would be exceeded. False when it still cannot fit.
    fn make_room(&mut self, bytes: usize) -> bool {
        if bytes > self.cfg.max_bytes_total || self.cfg.max_datagrams == 0 {
            return false;
        }
        while self.map.len() >= self.cfg.max_datagrams
            || self.bytes + bytes > self.cfg.max_bytes_total
        {
            if !self.drop_oldest(None) {
                return false;
            }
        }
        true
    }

    /// Makes room for `grow` more bytes in the datagram `keep`, dropping other datagrams oldest
    /// first.
    fn make_room_keeping(&mut self, grow: usize, keep: &Key) -> bool {
        while self.bytes + grow > self.cfg.max_bytes_total {
            if !self.drop_oldest(Some(keep)) {
                return false;
            }
        }
        true
    }

    /// Drops the oldest live datagram other than `keep`; false when there is none.
    fn drop_oldest(&mut self, keep: Option<&Key>) -> bool {
        let mut i = 0;
        while i < self.order.len() {
            let (key, gen, _) = self.order[i];
            let live = self.map.get(&key).is_some_and(|d| d.gen == gen);
            if !live {
                if i == 0 {
                    self.order.pop_front();
                } else {
                    i += 1;
                }
                continue;
            }
            if Some(&key) == keep {
                i += 1;
                continue;
            }
            self.remove(&key);
            self.stats.dropped_limits += 1;
            return true;
        }
        false
    }

    /// Keeps `order` within a constant factor of the live datagrams: completed datagrams leave
    /// stale records behind.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, g, _)| map.get(k).is_some_and(|d| d.gen == *g));
        }
    }
}

/// Adds one fragment to a datagram in progress.
fn add_fragment(
    d: &mut Datagram,
    cfg: &DefragConfig,
    offset: usize,
    more: bool,
    data: &[u8],
    wire_len: u64,
    stats: &mut DefragStats,
) -> Outcome {
    let end = offset + data.len();
    d.fragments = d.fragments.saturating_add(1);
    d.wire_len += wire_len;
    if d.fragments as usize > cfg.max_fragments_per_datagram {
        stats.dropped_limits += 1;
        return Outcome::Drop;
    }
    if !more {
        match d.total {
            Some(t) if t != end => {
                stats.invalid += 1;
                return Outcome::Drop;
            }
            _ => d.total = Some(end),
        }
        if d.ranges.last().is_some_and(|r| r.1 > end) {
            stats.invalid += 1;
            return Outcome::Drop;
        }
    } else if d.total.is_some_and(|t| end > t) {
        stats.invalid += 1;
        return Outcome::Drop;
    }
    if !data.is_empty() {
        if d.buf.len() < end {
            d.buf.resize(end, 0);
        }
        // Copy only the uncovered parts; compare the covered ones.
        let mut cur = offset;
        let mut conflict = false;
        let mut overlap = false;
        for &(s, e) in &d.ranges {
            if e <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cur {
                d.buf[cur..s].copy_from_slice(&data[cur - offset..s - offset]);
            }
            let os = s.max(cur);
            let oe = e.min(end);
            overlap = true;
            if d.buf[os..oe] != data[os - offset..oe - offset] {
                conflict = true;
            }
            cur = oe;
            if cur >= end {
                break;
            }
        }
        if cur < end {
            d.buf[cur..end].copy_from_slice(&data[cur - offset..]);
        }
        if conflict {
            stats.overlaps += 1;
        } else if overlap {
            stats.duplicates += 1;
        }
        insert_range(&mut d.ranges, offset, end);
    }
    match d.total {
        Some(t) if t == 0 || d.ranges.first() == Some(&(0, t)) => {
            d.buf.truncate(t);
            Outcome::Complete
        }
        _ => Outcome::Pending,
    }
}

/// Inserts `[s, e)` into sorted disjoint ranges, merging overlapping and adjacent ones.
fn insert_range(ranges: &mut Vec<(usize, usize)>, s: usize, e: usize) {
    let first = ranges.partition_point(|r| r.1 < s);
    let mut last = first;
    let (mut ns, mut ne) = (s, e);
    while last < ranges.len() && ranges[last].0 <= e {
        ns = ns.min(ranges[last].0);
        ne = ne.max(ranges[last].1);
        last += 1;
    }
    ranges.splice(first..last, std::iter::once((ns, ne)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(id: u16, off: u16, mf: bool, payload: &[u8]) -> Ipv4Summary<'_> {
        Ipv4Summary {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
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

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        insert_range(&mut r, 8, 16);
        insert_range(&mut r, 24, 32);
        insert_range(&mut r, 0, 8);
        assert_eq!(r, vec![(0, 16), (24, 32)]);
        insert_range(&mut r, 10, 30);
        assert_eq!(r, vec![(0, 32)]);
    }

    #[test]
    fn non_fragment_passes_through() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let r = d.push_v4(0, &v4(1, 0, false, b"hello"), Vlans::default(), 100);
        assert_eq!(r.map(|r| r.payload.to_vec()), Some(b"hello".to_vec()));
        assert_eq!(d.stats().pending, 0);
    }

    #[test]
    fn zero_length_last_fragment() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d
            .push_v4(0, &v4(1, 0, true, &[1; 8]), Vlans::default(), 100)
            .is_none());
        let r = d.push_v4(0, &v4(1, 8, false, &[]), Vlans::default(), 100);
        assert_eq!(r.map(|r| r.payload.len()), Some(8));
        assert_eq!(d.stats().bytes_buffered, 0);
    }
}
