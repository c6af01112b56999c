/*!
TCP stream reassembly, one [`StreamReassembler`] per direction of a TCP flow.

The flow table ([`crate::flow`]) owns two reassemblers per TCP flow and a shared
[`ReassemblyBudget`]; it feeds each segment's sequence number, flags and payload, and the
acknowledgement numbers seen in the opposite direction. Bytes come out **in order** through a
callback as [`StreamChunk`]s.

# Policies

- **Sequence space.** All comparisons use [`SeqNumber`] wrapping arithmetic (RFC 1982 style):
  `a < b` iff `(b - a) as i32 > 0`, so streams that cross 2^32 work. A SYN consumes one
  sequence number; so does a FIN.
- **Start.** With a SYN the stream starts at ISN + 1. Without one (mid-stream pick-up) it starts
  at the sequence number of the first segment seen; earlier bytes that arrive later are treated
  as retransmissions and dropped.
- **Fast path.** An in-order segment is handed to the callback as the packet's own slice: no copy,
  no allocation. Only out-of-order data is copied into the buffer.
- **Retransmissions and overlaps: first received wins.** Bytes already delivered are never
  delivered again; a segment that partially overlaps delivered data contributes only its new
  tail; a segment overlapping buffered (not yet delivered) data contributes only the bytes not
  already buffered. This is the "first" policy of most IDS reassemblers. Keep-alives (0/1 byte at
  `next - 1`) therefore produce nothing.
- **Gaps.** A hole is reported as [`StreamChunk::Gap`]`(n)` followed by the data after it when
  1. the per-stream byte or segment cap would be exceeded by buffering a new segment (the oldest
     hole is skipped until the segment fits or becomes in order),
  2. the peer acknowledges beyond the hole *and* data after the hole has been received (acked
     bytes were lost by the capture, not by the network; we wait for data after the hole so that
     an ACK captured just before the data it acknowledges does not fabricate a gap), or
  3. the stream is finished ([`StreamReassembler::finish`], RST, flow end).
- **Total budget.** When the budget shared by all streams is exhausted, new out-of-order data is
  dropped (counted in [`ReassemblyBudget::overflows`]); the hole it leaves is reported later as
  a gap by one of the rules above.
- **Window.** Segments starting more than 2^30 bytes ahead of the next expected byte are ignored:
  they are nonsense (or an attack) rather than loss.
- **End.** [`StreamChunk::End`] is emitted once, when the FIN's sequence number is reached (all
  data before it delivered) or when the stream is reset/finished after a FIN or RST. Data past
  the first FIN is ignored.
*/

use std::collections::VecDeque;
use std::ops::{Add, Sub};

/// A TCP sequence number with wrapping arithmetic.
///
/// Ordering is only meaningful between numbers less than 2^31 apart, which is why
/// [`PartialOrd`] is implemented by hand (it is not a total order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    /// Advances by `rhs` bytes, wrapping at 2^32 (`rhs` is truncated to 32 bits).
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl Sub for SeqNumber {
    type Output = i32;
    /// Signed distance `self - rhs` in sequence space.
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((*self - *other).cmp(&0))
    }
}

pub use ironward_proto::StreamChunk;

/// Limits of TCP reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Maximum out-of-order bytes buffered for one direction of one flow.
    pub max_buffered_per_stream: usize,
    /// Maximum out-of-order bytes buffered by all streams together.
    pub max_buffered_total: usize,
    /// Maximum number of disjoint buffered segments for one direction (bounds per-segment
    /// overhead when an attacker sends many tiny out-of-order segments).
    pub max_segments_per_stream: usize,
}

impl Default for ReassemblyConfig {
    /// 256 KiB and 512 segments per stream, 256 MiB in total.
    fn default() -> Self {
        ReassemblyConfig {
            max_buffered_per_stream: 256 * 1024,
            max_buffered_total: 256 * 1024 * 1024,
            max_segments_per_stream: 512,
        }
    }
}

/// The buffer budget shared by every stream of a flow table.
#[derive(Debug, Clone, Default)]
pub struct ReassemblyBudget {
    limit: usize,
    used: usize,
    overflows: u64,
}

impl ReassemblyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        ReassemblyBudget {
            limit,
            used: 0,
            overflows: 0,
        }
    }

    /// Bytes currently buffered by all streams using this budget.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Out-of-order segments dropped because the budget was exhausted.
    pub fn overflows(&self) -> u64 {
        self.overflows
    }
}

/// Segments further ahead than this are ignored (see module docs, "Window").
const MAX_AHEAD: i32 = 1 << 30;

/// One buffered out-of-order run of bytes.
#[derive(Debug)]
struct Segment {
    seq: SeqNumber,
    data: Vec<u8>,
}

impl Segment {
    fn end(&self) -> SeqNumber {
        self.seq + self.data.len()
    }
}

/// Reassembles one direction of a TCP connection.
///
/// Invariants: buffered segments are sorted, disjoint, non-empty and all start after `next`;
/// `buffered` is the sum of their lengths and is also accounted in the shared budget. Call
/// [`StreamReassembler::finish`] (or [`StreamReassembler::release`]) before dropping a
/// reassembler, or its bytes stay charged to the budget.
#[derive(Debug, Default)]
pub struct StreamReassembler {
    started: bool,
    syn_seen: bool,
    isn: SeqNumber,
    next: SeqNumber,
    fin: Option<SeqNumber>,
    ended: bool,
    segs: VecDeque<Segment>,
    buffered: usize,
    gap_bytes: u64,
    gaps: u64,
    delivered: u64,
}

impl StreamReassembler {
    /// An idle reassembler; it starts at the first segment it sees.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any segment was seen for this direction.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Whether a SYN was seen for this direction (the stream did not start mid-stream).
    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// The initial sequence number, when a SYN was seen.
    pub fn isn(&self) -> Option<u32> {
        self.syn_seen.then_some(self.isn.0)
    }

    /// Whether [`StreamChunk::End`] was delivered.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Whether a FIN was seen (it may not have been reached yet).
    pub fn fin_seen(&self) -> bool {
        self.fin.is_some()
    }

    /// Out-of-order bytes currently buffered.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Bytes reported missing so far (sum of [`StreamChunk::Gap`] sizes).
    pub fn gap_bytes(&self) -> u64 {
        self.gap_bytes
    }

    /// Number of [`StreamChunk::Gap`]s delivered.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Data bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The next sequence number expected (meaningless before the first segment).
    pub fn next_seq(&self) -> u32 {
        self.next.0
    }

    /// Feeds one segment sent in this direction.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        cfg: &ReassemblyConfig,
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) {
        if self.ended {
            return;
        }
        let mut seq = SeqNumber(seq);
        if syn {
            if !self.started {
                self.started = true;
                self.syn_seen = true;
                self.isn = seq;
                self.next = seq + 1;
            }
            // Data on a SYN (TCP Fast Open) starts after the SYN's own sequence number.
            seq = seq + 1;
        } else if !self.started {
            self.started = true;
            self.next = seq;
        }
        let mut data = payload;
        if fin && self.fin.is_none() {
            let f = seq + data.len();
            // A FIN behind what was already delivered is bogus; ignore it.
            if f - self.next >= 0 {
                self.fin = Some(f);
                self.cut_at(f, budget);
            }
        }
        if let Some(f) = self.fin {
            data = clip_before(seq, data, f);
        }
        let (seq, data) = trim_delivered(self.next, seq, data);
        if !data.is_empty() {
            if seq == self.next {
                self.deliver_in_order(data, budget, emit);
            } else if seq - self.next <= MAX_AHEAD {
                self.buffer(seq, data, cfg, budget, emit);
            }
        }
        self.check_fin(emit);
    }

    /// Feeds an acknowledgement number sent by the *peer* of this direction. Holes below it that
    /// are followed by received data are given up as gaps (see module docs).
    pub fn ack(
        &mut self,
        ack: u32,
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) {
        if !self.started || self.ended {
            return;
        }
        let ack = SeqNumber(ack);
        let d = ack - self.next;
        if d <= 0 || d > MAX_AHEAD {
            return;
        }
        // Only skip holes that have received data (or the FIN) after them.
        let mut limit = self.segs.back().map(|s| s.end());
        if let Some(f) = self.fin {
            limit = Some(match limit {
                Some(l) if l > f => l,
                _ => f,
            });
        }
        let Some(limit) = limit else { return };
        let target = if ack < limit { ack } else { limit };
        while self.next < target {
            let hole_end = match self.segs.front() {
                Some(s) if s.seq < target => s.seq,
                _ => target,
            };
            self.skip_to(hole_end, emit);
            self.drain(budget, emit);
        }
        self.check_fin(emit);
    }

    /// Delivers everything still buffered, reporting holes as gaps, then [`StreamChunk::End`]
    /// if a FIN was seen (with a gap before it if bytes before the FIN are missing). Used at flow
    /// end; the stream can still receive data afterwards unless it ended.
    pub fn finish(
        &mut self,
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) {
        self.flush_all(budget, emit);
        if let Some(f) = self.fin {
            if !self.ended && f - self.next > 0 {
                self.skip_to(f, emit);
            }
        }
        self.check_fin(emit);
    }

    /// The connection was reset: delivers what is buffered (with gaps) and ends the stream.
    pub fn reset(&mut self, budget: &mut ReassemblyBudget, emit: &mut impl FnMut(StreamChunk<'_>)) {
        if self.ended {
            return;
        }
        self.flush_all(budget, emit);
        self.ended = true;
        emit(StreamChunk::End);
    }

    /// Drops buffered data without delivering it, returning its bytes to the budget.
    pub fn release(&mut self, budget: &mut ReassemblyBudget) {
        budget.used = budget.used.saturating_sub(self.buffered);
        self.buffered = 0;
        self.segs.clear();
    }

    /// Drops buffered bytes at or after `limit` (data buffered before the FIN was known).
    fn cut_at(&mut self, limit: SeqNumber, budget: &mut ReassemblyBudget) {
        while let Some(last) = self.segs.back_mut() {
            let keep = limit - last.seq;
            if keep >= last.data.len() as i32 {
                break;
            }
            let drop = if keep <= 0 {
                let len = last.data.len();
                self.segs.pop_back();
                len
            } else {
                let len = last.data.len() - keep as usize;
                last.data.truncate(keep as usize);
                len
            };
            self.buffered -= drop;
            budget.used = budget.used.saturating_sub(drop);
        }
    }

    fn flush_all(&mut self, budget: &mut ReassemblyBudget, emit: &mut impl FnMut(StreamChunk<'_>)) {
        if self.ended {
            self.release(budget);
            return;
        }
        while let Some(front) = self.segs.front() {
            let s = front.seq;
            if s - self.next > 0 {
                self.skip_to(s, emit);
            }
            self.drain(budget, emit);
        }
    }

    /// Emits a gap from `next` up to `to` (which must be ahead of `next`).
    fn skip_to(&mut self, to: SeqNumber, emit: &mut impl FnMut(StreamChunk<'_>)) {
        let n = to - self.next;
        if n <= 0 {
            return;
        }
        self.gap_bytes += n as u64;
        self.gaps += 1;
        self.next = to;
        emit(StreamChunk::Gap(n as u32));
    }

    /// Delivers `data`, which starts exactly at `next`, interleaving buffered segments so that
    /// bytes buffered earlier win over the same bytes in `data`.
    fn deliver_in_order(
        &mut self,
        mut data: &[u8],
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) {
        while !data.is_empty() {
            let room = self.segs.front().map(|s| s.seq - self.next);
            match room {
                Some(r) if r <= 0 => {
                    let len = self.pop_deliver(budget, emit);
                    data = &data[len.min(data.len())..];
                }
                Some(r) => {
                    let n = (r as usize).min(data.len());
                    self.emit_data(&data[..n], emit);
                    data = &data[n..];
                }
                None => {
                    self.emit_data(data, emit);
                    data = &[];
                }
            }
        }
        self.drain(budget, emit);
    }

    fn emit_data(&mut self, data: &[u8], emit: &mut impl FnMut(StreamChunk<'_>)) {
        self.next = self.next + data.len();
        self.delivered += data.len() as u64;
        emit(StreamChunk::Data(data));
    }

    /// Pops the front segment (which starts at `next` by invariant) and delivers it; returns its
    /// length.
    fn pop_deliver(
        &mut self,
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) -> usize {
        let Some(seg) = self.segs.pop_front() else {
            return 0;
        };
        let len = seg.data.len();
        self.buffered -= len;
        budget.used = budget.used.saturating_sub(len);
        // Defensive: a segment starting before `next` delivers only its new tail.
        let (_, tail) = trim_delivered(self.next, seg.seq, &seg.data);
        if !tail.is_empty() {
            self.emit_data(tail, emit);
        }
        len
    }

    /// Delivers buffered segments that have become contiguous with `next`.
    fn drain(&mut self, budget: &mut ReassemblyBudget, emit: &mut impl FnMut(StreamChunk<'_>)) {
        while self.segs.front().is_some_and(|s| s.seq - self.next <= 0) {
            self.pop_deliver(budget, emit);
        }
    }

    /// Bytes of `[seq, seq+len)` not yet buffered, and the number of pieces they form.
    fn measure(&self, seq: SeqNumber, len: usize) -> (usize, usize) {
        let end = seq + len;
        let mut cur = seq;
        let mut need = 0usize;
        let mut pieces = 0usize;
        for s in &self.segs {
            if cur - end >= 0 {
                break;
            }
            if s.end() - cur <= 0 {
                continue;
            }
            if s.seq - cur > 0 {
                let piece_end = if s.seq < end { s.seq } else { end };
                need += (piece_end - cur) as usize;
                pieces += 1;
            }
            cur = s.end();
        }
        if end - cur > 0 {
            need += (end - cur) as usize;
            pieces += 1;
        }
        (need, pieces)
    }

    /// Buffers out-of-order `data` at `seq` (ahead of `next`), enforcing the caps.
    fn buffer(
        &mut self,
        mut seq: SeqNumber,
        mut data: &[u8],
        cfg: &ReassemblyConfig,
        budget: &mut ReassemblyBudget,
        emit: &mut impl FnMut(StreamChunk<'_>),
    ) {
        let (need, pieces) = loop {
            let (need, pieces) = self.measure(seq, data.len());
            if need == 0 {
                return;
            }
            if self.buffered + need <= cfg.max_buffered_per_stream
                && self.segs.len() + pieces <= cfg.max_segments_per_stream
            {
                break (need, pieces);
            }
            // Per-stream cap: give up the oldest hole.
            let target = match self.segs.front() {
                Some(s) if s.seq < seq => s.seq,
                _ => seq,
            };
            self.skip_to(target, emit);
            self.drain(budget, emit);
            (seq, data) = trim_delivered(self.next, seq, data);
            if data.is_empty() {
                return;
            }
            if seq == self.next {
                self.deliver_in_order(data, budget, emit);
                return;
            }
        };
        if budget.used + need > budget.limit {
            budget.overflows += 1;
            return;
        }
        let _ = pieces;
        // Insert the uncovered pieces, keeping the deque sorted.
        let end = seq + data.len();
        let mut cur = seq;
        let mut idx = self.segs.partition_point(|s| s.end() - cur <= 0);
        while end - cur > 0 {
            if let Some(s) = self.segs.get(idx) {
                if s.seq - cur <= 0 {
                    cur = s.end();
                    idx += 1;
                    continue;
                }
            }
            let piece_end = match self.segs.get(idx) {
                Some(s) if s.seq < end => s.seq,
                _ => end,
            };
            let from = (cur - seq) as usize;
            let to = (piece_end - seq) as usize;
            let bytes = data[from..to].to_vec();
            self.buffered += bytes.len();
            budget.used += bytes.len();
            self.segs.insert(
                idx,
                Segment {
                    seq: cur,
                    data: bytes,
                },
            );
            idx += 1;
            cur = piece_end;
        }
    }

    fn check_fin(&mut self, emit: &mut impl FnMut(StreamChunk<'_>)) {
        if let Some(f) = self.fin {
            if !self.ended && self.next == f {
                self.ended = true;
                self.next = f + 1;
                emit(StreamChunk::End);
            }
        }
    }
}

/// Drops the bytes of `data` (starting at `seq`) that lie before `next`.
fn trim_delivered(next: SeqNumber, seq: SeqNumber, data: &[u8]) -> (SeqNumber, &[u8]) {
    let d = seq - next;
    if d >= 0 {
        return (seq, data);
    }
    let skip = d.unsigned_abs() as usize;
    if skip >= data.len() {
        (next, &[])
    } else {
        (next, &data[skip..])
    }
}

/// Keeps only the bytes of `data` (starting at `seq`) before `limit`.
fn clip_before(seq: SeqNumber, data: &[u8], limit: SeqNumber) -> &[u8] {
    let room = limit - seq;
    if room <= 0 {
        &[]
    } else if (room as usize) < data.len() {
        &data[..room as usize]
    } else {
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        D(Vec<u8>),
        G(u32),
        E,
    }

    struct Harness {
        s: StreamReassembler,
        cfg: ReassemblyConfig,
        budget: ReassemblyBudget,
        out: Vec<Out>,
    }

    impl Harness {
        fn new(cfg: ReassemblyConfig) -> Self {
            Harness {
                s: StreamReassembler::new(),
                budget: ReassemblyBudget::new(cfg.max_buffered_total),
                cfg,
                out: Vec::new(),
            }
        }
        fn seg(&mut self, seq: u32, syn: bool, fin: bool, data: &[u8]) {
            let out = &mut self.out;
            self.s
                .segment(seq, syn, fin, data, &self.cfg, &mut self.budget, &mut |c| {
                    push(out, c)
                });
        }
        fn ack(&mut self, a: u32) {
            let out = &mut self.out;
            self.s.ack(a, &mut self.budget, &mut |c| push(out, c));
        }
        fn finish(&mut self) {
            let out = &mut self.out;
            self.s.finish(&mut self.budget, &mut |c| push(out, c));
        }
        fn data(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for o in &self.out {
                if let Out::D(d) = o {
                    v.extend_from_slice(d);
                }
            }
            v
        }
    }

    fn push(out: &mut Vec<Out>, c: StreamChunk<'_>) {
        match c {
            StreamChunk::Data(d) => match out.last_mut() {
                Some(Out::D(prev)) => prev.extend_from_slice(d),
                _ => out.push(Out::D(d.to_vec())),
            },
            StreamChunk::Gap(n) => out.push(Out::G(n)),
            StreamChunk::End => out.push(Out::E),
        }
    }

    #[test]
    fn seq_number_wraps() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, SeqNumber(2));
        assert_eq!(b - a, 4);
        assert!(a < b);
        assert!(b > a);
    }

    #[test]
    fn syn_then_in_order() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(100, true, false, b"");
        h.seg(101, false, false, b"abc");
        h.seg(104, false, true, b"def");
        assert_eq!(h.out, vec![Out::D(b"abcdef".to_vec()), Out::E]);
    }

    #[test]
    fn overlap_in_buffer_first_wins() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"ab");
        h.seg(4, false, false, b"XY");
        h.seg(3, false, false, b"dZZg");
        h.seg(2, false, false, b"c");
        assert_eq!(h.data(), b"abcdXYg");
        assert_eq!(h.budget.used(), 0);
    }

    #[test]
    fn in_order_segment_over_buffered_data_keeps_buffered_bytes() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"a");
        h.seg(3, false, false, b"XY");
        h.seg(1, false, false, b"bcdef");
        assert_eq!(h.data(), b"abcXYf");
    }

    #[test]
    fn ack_without_later_data_does_not_gap() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"ab");
        h.ack(10);
        assert_eq!(h.out, vec![Out::D(b"ab".to_vec())]);
        h.seg(2, false, false, b"cd");
        assert_eq!(h.data(), b"abcd");
    }

    #[test]
    fn ack_beyond_hole() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"ab");
        h.seg(5, false, false, b"fg");
        h.ack(7);
        assert_eq!(
            h.out,
            vec![Out::D(b"ab".to_vec()), Out::G(3), Out::D(b"fg".to_vec())]
        );
        // The late hole bytes are now retransmissions.
        h.seg(2, false, false, b"cde");
        assert_eq!(h.data(), b"abfg");
    }

    #[test]
    fn finish_reports_gap_before_fin() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"ab");
        h.seg(4, false, true, b"ef");
        h.finish();
        assert_eq!(
            h.out,
            vec![
                Out::D(b"ab".to_vec()),
                Out::G(2),
                Out::D(b"ef".to_vec()),
                Out::E
            ]
        );
    }

    #[test]
    fn fin_hole_filled_then_end() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, true, b"");
        assert_eq!(h.out, vec![Out::E]);
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(10, true, false, b"");
        h.seg(13, false, true, b"c");
        h.seg(11, false, false, b"ab");
        assert_eq!(h.out, vec![Out::D(b"abc".to_vec()), Out::E]);
        // Retransmitted FIN and data afterwards are ignored.
        h.seg(13, false, true, b"c");
        h.seg(14, false, false, b"zz");
        assert_eq!(h.out.len(), 2);
    }

    /// Regression: found by the `reassembly` fuzz target — out-of-order data beyond a FIN that
    /// arrived later was delivered after `End`.
    #[test]
    fn data_buffered_beyond_later_fin_is_dropped() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"a");
        h.seg(10, false, false, b"zz");
        h.seg(1, false, true, b"bc");
        assert_eq!(h.out, vec![Out::D(b"abc".to_vec()), Out::E]);
        assert_eq!((h.s.buffered(), h.budget.used()), (0, 0));
        // Straddling segment is cut at the FIN.
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"a");
        h.seg(3, false, false, b"dXY");
        h.seg(2, false, true, b"c");
        h.seg(4, false, true, b"");
        h.finish();
        assert_eq!(
            h.out,
            vec![
                Out::D(b"a".to_vec()),
                Out::G(1),
                Out::D(b"c".to_vec()),
                Out::E
            ]
        );
        assert_eq!((h.s.buffered(), h.budget.used()), (0, 0));
    }

    #[test]
    fn segment_cap_forces_gap() {
        let cfg = ReassemblyConfig {
            max_buffered_per_stream: 1000,
            max_buffered_total: 1000,
            max_segments_per_stream: 2,
        };
        let mut h = Harness::new(cfg);
        h.seg(0, false, false, b"a");
        h.seg(3, false, false, b"d");
        h.seg(5, false, false, b"f");
        h.seg(7, false, false, b"h");
        assert!(h.s.segs.len() <= 2);
        assert_eq!(
            h.out[..3],
            [Out::D(b"a".to_vec()), Out::G(2), Out::D(b"d".to_vec())]
        );
    }

    #[test]
    fn far_ahead_segment_is_ignored() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.seg(0, false, false, b"a");
        h.seg(0x8000_0000, false, false, b"zzz");
        h.seg(1, false, false, b"b");
        assert_eq!(h.data(), b"ab");
        assert_eq!(h.s.buffered(), 0);
    }
}
