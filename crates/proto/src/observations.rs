//! What dissectors report: facts about devices, drained by the sensor after each call, and
//! operations (events), aggregated here until the report.
//!
//! Repeats are cheap: a fact already reported (same device, attribute, source and raw value) is
//! recognised by a hash of the raw bytes before anything is allocated, so a chatty DNS server or
//! an SSDP announcer repeating itself every few seconds costs no allocation after the first time.
//! Values are cleaned in one place: control characters become spaces, whitespace runs collapse,
//! and values are cut at [`MAX_VALUE_LEN`] bytes.
//!
//! An operation repeated between the same endpoints with the same detail (a poll) is one event
//! with a count: the repeat costs a hash and a counter update. Operations at packet rate use
//! [`Observations::event_keyed`], whose detail text is written only the first time. Events are
//! stored compactly (counters apart from what they are) and taken as an [`EventStore`] that the
//! report turns into [`Event`]s one at a time.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

use ironward_model::{
    Attribute, DeviceKey, Event, EventCategory, EventEndpoint, Fact, Finding, MacAddress, Source,
    Timestamp,
};

use crate::dissector::LinkFrame;
use crate::session::{Direction, FlowMeta};
use crate::value::ValueBuf;

/// Longest fact value kept, in bytes (longer values are cut at a character boundary).
pub const MAX_VALUE_LEN: usize = 256;

/// Most fact fingerprints remembered for de-duplication before the memory is started afresh.
const MAX_REMEMBERED: usize = 1 << 16;

/// Most distinct events kept (repeats only count); later distinct ones are counted as dropped.
pub const MAX_EVENTS: usize = 100_000;

/// Longest event detail kept, in bytes.
pub const MAX_DETAIL_LEN: usize = 512;

/// Mixed into the fingerprints of keyed events.
const KEYED: u8 = 0xa5;

/// Mixed into the fingerprints of [`Observations::first_time`] keys.
const FIRST_TIME: u8 = 0x5a;

/// Facts and events produced by dissectors. Facts are drained by the sensor after each call;
/// events aggregate (one per distinct operation, with a count) until taken at the end.
///
/// The buffers are reused from call to call, so producing nothing costs nothing.
#[derive(Debug, Default)]
pub struct Observations {
    facts: Vec<Fact>,
    /// Seeds the fingerprints of facts and events.
    fingerprints: Fingerprints,
    remembered: HashSet<u64, BuildHasherDefault<FingerprintHasher>>,
    /// When and how often each event happened (touched by every repeat: kept small).
    event_counts: Vec<EventCount>,
    /// What each event is, by the same index.
    event_records: Vec<EventRecord>,
    /// The events' detail and content-hash texts, one after the other (one allocation for all).
    event_text: String,
    event_index: HashMap<u64, u32, BuildHasherDefault<FingerprintHasher>>,
    events_dropped: u64,
    event_log: Option<Vec<(u64, u32)>>,
    /// Occurrences since the last [`Observations::take_occurrences`], when watched (detection
    /// reads them after each dissector call; the buffer is reused).
    pending: Option<Vec<(u64, u32)>>,
}

/// What a dissector says about one operation.
#[derive(Debug, Clone, Copy)]
struct Operation<'a> {
    protocol: &'static str,
    category: EventCategory,
    operation: &'static str,
    detail: &'a str,
    content_hash: Option<&'a str>,
}

/// An event detail built on the stack, at most [`MAX_DETAIL_LEN`] bytes.
pub type Detail = ValueBuf<MAX_DETAIL_LEN>;

/// How often and when an event happened.
#[derive(Debug, Clone, Copy)]
struct EventCount {
    count: u64,
    first: Timestamp,
    last: Timestamp,
}

/// What an event is, stored compactly until the report (static names borrowed, no endpoint
/// objects built, texts in a shared buffer).
#[derive(Debug, Clone)]
struct EventRecord {
    src: EndpointKey,
    dst: EndpointKey,
    protocol: &'static str,
    category: EventCategory,
    operation: &'static str,
    detail: TextSpan,
    content_hash: Option<TextSpan>,
}

/// Where one text sits in the event text buffer.
#[derive(Debug, Clone, Copy)]
struct TextSpan {
    start: u32,
    len: u32,
}

impl TextSpan {
    /// Appends `text` to `buffer` and returns where it went.
    fn push(buffer: &mut String, text: &str) -> Self {
        let span = Self {
            start: buffer.len() as u32,
            len: text.len() as u32,
        };
        buffer.push_str(text);
        span
    }

    /// The text in `buffer`; empty if the span does not fit it (never, for spans it made).
    fn get(self, buffer: &str) -> &str {
        let start = self.start as usize;
        buffer
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

impl EventRecord {
    fn to_event(&self, count: EventCount, text: &str) -> Event {
        Event {
            time: count.first,
            last_seen: count.last,
            count: count.count,
            src: self.src.endpoint(),
            dst: self.dst.endpoint(),
            protocol: Cow::Borrowed(self.protocol),
            category: self.category,
            operation: Cow::Borrowed(self.operation),
            detail: self.detail.get(text).to_owned(),
            content_hash: self.content_hash.map(|span| span.get(text).to_owned()),
        }
    }
}

/// The events of an analysis in compact form (see [`Observations::take_event_store`]).
#[derive(Debug, Default)]
pub struct EventStore {
    counts: Vec<EventCount>,
    records: Vec<EventRecord>,
    text: String,
    /// Every occurrence, when kept: (frame number, index of the event).
    pub log: Vec<(u64, u32)>,
}

/// One recorded event, borrowed (see [`Observations::occurrence`]).
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// The source: its IP address, or its MAC address for layer-2 protocols.
    pub src: (Option<IpAddr>, Option<MacAddress>),
    /// The destination, likewise.
    pub dst: (Option<IpAddr>, Option<MacAddress>),
    /// Protocol name.
    pub protocol: &'static str,
    /// Category.
    pub category: EventCategory,
    /// Operation name.
    pub operation: &'static str,
    /// Detail text.
    pub detail: &'a str,
    /// The SHA-256 (hex) of the file or program a transfer event carried, when it has one.
    pub content_hash: Option<&'a str>,
    /// When it last happened (the occurrence's time).
    pub time: Timestamp,
    /// How often it happened so far.
    pub count: u64,
}

/// What role inference needs of one stored event.
#[derive(Debug, Clone, Copy)]
pub struct EventSummary {
    /// The source: its IP address, or its MAC address for layer-2 protocols.
    pub src: (Option<IpAddr>, Option<MacAddress>),
    /// The destination, likewise.
    pub dst: (Option<IpAddr>, Option<MacAddress>),
    /// Protocol name.
    pub protocol: &'static str,
    /// Category.
    pub category: EventCategory,
}

impl EventStore {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The endpoints, protocol and category of event `index`.
    pub fn summary(&self, index: usize) -> Option<EventSummary> {
        let record = self.records.get(index)?;
        let split = |key: EndpointKey| match key {
            EndpointKey::Ip(ip) => (Some(ip), None),
            EndpointKey::Mac(mac) => (None, Some(mac)),
        };
        Some(EventSummary {
            src: split(record.src),
            dst: split(record.dst),
            protocol: record.protocol,
            category: record.category,
        })
    }

    /// Event `index` as reported.
    pub fn event(&self, index: usize) -> Option<Event> {
        Some(
            self.records
                .get(index)?
                .to_event(*self.counts.get(index)?, &self.text),
        )
    }

    /// The events as reported, built one at a time (each record is freed as it goes).
    pub fn into_events(self) -> impl Iterator<Item = Event> {
        let text = self.text;
        self.records
            .into_iter()
            .zip(self.counts)
            .map(move |(record, count)| record.to_event(count, &text))
    }
}

/// One end of an operation as the dissector knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum EndpointKey {
    Ip(IpAddr),
    Mac(MacAddress),
}

impl EndpointKey {
    fn endpoint(self) -> EventEndpoint {
        match self {
            Self::Ip(ip) => EventEndpoint::ip(ip),
            Self::Mac(mac) => EventEndpoint::mac(mac),
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Observations {
    /// Records a fact about a device with the source's default confidence. The value may come
    /// straight off the wire: it is cleaned, and an empty value records nothing.
    pub fn fact(
        &mut self,
        subject: DeviceKey,
        attribute: Attribute,
        value: &str,
        source: Source,
        at: Timestamp,
    ) {
        self.fact_bytes_with(
            subject,
            attribute,
            value.as_bytes(),
            source,
            source.default_confidence(),
            at,
        );
    }

    /// Records a fact whose value is raw bytes (decoded as UTF-8, invalid sequences replaced).
    pub fn fact_bytes(
        &mut self,
        subject: DeviceKey,
        attribute: Attribute,
        value: &[u8],
        source: Source,
        at: Timestamp,
    ) {
        self.fact_bytes_with(
            subject,
            attribute,
            value,
            source,
            source.default_confidence(),
            at,
        );
    }

    /// Records what one device says about another (a client's SNI or `Host` naming a server):
    /// same as [`fact`](Self::fact) at hearsay confidence.
    pub fn hearsay(
        &mut self,
        subject: DeviceKey,
        attribute: Attribute,
        value: &str,
        source: Source,
        at: Timestamp,
    ) {
        let confidence = source
            .default_confidence()
            .min(ironward_model::HEARSAY_CONFIDENCE);
        self.fact_bytes_with(subject, attribute, value.as_bytes(), source, confidence, at);
    }

    /// Records an insecure configuration seen on a device.
    pub fn finding(&mut self, subject: DeviceKey, finding: Finding, source: Source, at: Timestamp) {
        self.fact(subject, Attribute::Finding, finding.as_str(), source, at);
    }

    /// Whether `key` is new: dissectors skip building facts they already reported (the same
    /// publisher's header in every frame). Remembered with the facts' fingerprints, so a
    /// forgotten key (after [`MAX_REMEMBERED`] others) only costs building the facts again.
    pub fn first_time(&mut self, key: impl Hash) -> bool {
        let fingerprint = self.fingerprints.hash_one((FIRST_TIME, key));
        if self.remembered.contains(&fingerprint) {
            return false;
        }
        if self.remembered.len() >= MAX_REMEMBERED {
            self.remembered.clear();
        }
        self.remembered.insert(fingerprint)
    }

    /// Records a fact with an explicit confidence (0–100).
    pub fn fact_bytes_with(
        &mut self,
        subject: DeviceKey,
        attribute: Attribute,
        value: &[u8],
        source: Source,
        confidence: u8,
        at: Timestamp,
    ) {
        let fingerprint = self
            .fingerprints
            .hash_one((subject, attribute, source, confidence, value));
        if self.remembered.contains(&fingerprint) {
            return;
        }
        let Some(clean) = clean_value(value) else {
            return;
        };
        if self.remembered.len() >= MAX_REMEMBERED {
            self.remembered.clear();
        }
        self.remembered.insert(fingerprint);
        self.facts.push(Fact {
            subject,
            attribute,
            value: clean.into(),
            confidence: confidence.min(100),
            source,
            seen_at: at,
        });
    }

    /// Records an operation from the sender of a packet going in `direction` to its receiver.
    /// `detail` may be built on the stack: a repeat of an operation already recorded (same
    /// endpoints, protocol, operation and detail) only counts, without allocating.
    pub fn event(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        protocol: &'static str,
        category: EventCategory,
        operation: &'static str,
        detail: impl AsRef<str>,
    ) {
        self.event_with_hash(flow, direction, protocol, category, operation, detail, None);
    }

    /// Records a PDU sent in `direction` that breaks its protocol (category Other):
    /// `malformed` when it cannot be decoded, `violation` when it decodes but breaks a rule of
    /// the specification; `what` (the typed error or rule) becomes the detail, written on the
    /// stack into at most `N` bytes. Only dissectors' error paths call it.
    pub fn spec_report<const N: usize>(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        protocol: &'static str,
        operation: &'static str,
        what: impl std::fmt::Display,
    ) {
        let mut detail = ValueBuf::<N>::new();
        let _ = std::fmt::Write::write_fmt(&mut detail, format_args!("{what}"));
        self.event(
            flow,
            direction,
            protocol,
            EventCategory::Other,
            operation,
            detail.as_str(),
        );
    }

    /// [`event`](Self::event) for a transfer, with the SHA-256 (hex) of the transferred content.
    #[allow(clippy::too_many_arguments)]
    pub fn event_with_hash(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        protocol: &'static str,
        category: EventCategory,
        operation: &'static str,
        detail: impl AsRef<str>,
        content_hash: Option<&str>,
    ) {
        let op = Operation {
            protocol,
            category,
            operation,
            detail: detail.as_ref(),
            content_hash,
        };
        self.record_event(
            EndpointKey::Ip(flow.source(direction).ip()),
            EndpointKey::Ip(flow.destination(direction).ip()),
            flow.now,
            flow.frame,
            op,
        );
    }

    /// Records an operation carried in a link-layer frame (PROFINET DCP, GOOSE), from the
    /// frame's sender to `dst` (its destination MAC address, often a multicast group).
    pub fn frame_event(
        &mut self,
        frame: &LinkFrame<'_>,
        protocol: &'static str,
        category: EventCategory,
        operation: &'static str,
        detail: impl AsRef<str>,
    ) {
        let op = Operation {
            protocol,
            category,
            operation,
            detail: detail.as_ref(),
            content_hash: None,
        };
        self.record_event(
            EndpointKey::Mac(frame.src_mac),
            EndpointKey::Mac(frame.dst_mac),
            frame.now,
            frame.frame,
            op,
        );
    }

    /// [`event`](Self::event) for operations repeated at packet rate (polls, cyclic
    /// publications): `key` — the raw fields the detail shows — identifies repeats, and
    /// `render` writes the detail only the first time. `key` must determine the detail.
    #[allow(clippy::too_many_arguments)]
    pub fn event_keyed(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        protocol: &'static str,
        category: EventCategory,
        operation: &'static str,
        key: impl Hash,
        render: impl FnOnce(&mut Detail),
    ) {
        let src = EndpointKey::Ip(flow.source(direction).ip());
        let dst = EndpointKey::Ip(flow.destination(direction).ip());
        self.record_keyed(
            src,
            dst,
            flow.now,
            flow.frame,
            (protocol, category, operation),
            key,
            render,
        );
    }

    /// [`frame_event`](Self::frame_event) with the detail rendered only the first time, as
    /// [`event_keyed`](Self::event_keyed).
    pub fn frame_event_keyed(
        &mut self,
        frame: &LinkFrame<'_>,
        protocol: &'static str,
        category: EventCategory,
        operation: &'static str,
        key: impl Hash,
        render: impl FnOnce(&mut Detail),
    ) {
        let (src, dst) = (
            EndpointKey::Mac(frame.src_mac),
            EndpointKey::Mac(frame.dst_mac),
        );
        self.record_keyed(
            src,
            dst,
            frame.now,
            frame.frame,
            (protocol, category, operation),
            key,
            render,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn record_keyed(
        &mut self,
        src: EndpointKey,
        dst: EndpointKey,
        now: Timestamp,
        frame: u64,
        (protocol, category, operation): (&'static str, EventCategory, &'static str),
        key: impl Hash,
        render: impl FnOnce(&mut Detail),
    ) {
        let mut hasher = self.fingerprints.build_hasher();
        // The marker keeps keyed fingerprints apart from text ones.
        (src, dst, protocol, category, operation, KEYED).hash(&mut hasher);
        key.hash(&mut hasher);
        let fingerprint = hasher.finish();
        if self.count_repeat(fingerprint, now, frame) {
            return;
        }
        let mut detail = Detail::new();
        render(&mut detail);
        let op = Operation {
            protocol,
            category,
            operation,
            detail: detail.as_str(),
            content_hash: None,
        };
        self.insert_event(fingerprint, src, dst, now, frame, op);
    }

    /// Counts a repeat of the event with this fingerprint; false when it is new.
    fn count_repeat(&mut self, fingerprint: u64, now: Timestamp, frame: u64) -> bool {
        let Some(&index) = self.event_index.get(&fingerprint) else {
            return false;
        };
        let Some(event) = self.event_counts.get_mut(index as usize) else {
            return false;
        };
        event.count += 1;
        event.last = event.last.max(now);
        event.first = event.first.min(now);
        if let Some(log) = self.event_log.as_mut() {
            log.push((frame, index));
        }
        if let Some(pending) = self.pending.as_mut() {
            pending.push((frame, index));
        }
        true
    }

    fn record_event(
        &mut self,
        src: EndpointKey,
        dst: EndpointKey,
        now: Timestamp,
        frame: u64,
        op: Operation<'_>,
    ) {
        let detail = truncate_at_char(op.detail, MAX_DETAIL_LEN);
        let fingerprint = self.fingerprints.hash_one((
            src,
            dst,
            op.protocol,
            op.category,
            op.operation,
            detail,
            op.content_hash,
        ));
        if !self.count_repeat(fingerprint, now, frame) {
            self.insert_event(
                fingerprint,
                src,
                dst,
                now,
                frame,
                Operation { detail, ..op },
            );
        }
    }

    fn insert_event(
        &mut self,
        fingerprint: u64,
        src: EndpointKey,
        dst: EndpointKey,
        now: Timestamp,
        frame: u64,
        op: Operation<'_>,
    ) {
        if self.event_counts.len() >= MAX_EVENTS {
            self.events_dropped += 1;
            return;
        }
        let index = self.event_counts.len() as u32;
        self.event_index.insert(fingerprint, index);
        self.event_counts.push(EventCount {
            count: 1,
            first: now,
            last: now,
        });
        self.event_records.push(EventRecord {
            src,
            dst,
            protocol: op.protocol,
            category: op.category,
            operation: op.operation,
            detail: TextSpan::push(&mut self.event_text, op.detail),
            content_hash: op
                .content_hash
                .map(|hash| TextSpan::push(&mut self.event_text, hash)),
        });
        if let Some(log) = self.event_log.as_mut() {
            log.push((frame, index));
        }
        if let Some(pending) = self.pending.as_mut() {
            pending.push((frame, index));
        }
    }

    /// Starts recording every event occurrence until taken with
    /// [`take_occurrences`](Self::take_occurrences): how detection sees each operation.
    pub fn watch_occurrences(&mut self) {
        self.pending.get_or_insert_with(Vec::new);
    }

    /// Whether occurrences wait to be taken.
    pub fn has_occurrences(&self) -> bool {
        self.pending.as_ref().is_some_and(|p| !p.is_empty())
    }

    /// Moves the occurrences recorded since the last call (frame number, event index) into
    /// `out` (cleared first), exchanging buffers so that neither side allocates.
    pub fn take_occurrences(&mut self, out: &mut Vec<(u64, u32)>) {
        out.clear();
        if let Some(pending) = self.pending.as_mut() {
            std::mem::swap(pending, out);
        }
    }

    /// The recorded event `index`, borrowed: what detection reads of one occurrence.
    pub fn occurrence(&self, index: u32) -> Option<EventRef<'_>> {
        let record = self.event_records.get(index as usize)?;
        let count = self.event_counts.get(index as usize)?;
        let split = |key: EndpointKey| match key {
            EndpointKey::Ip(ip) => (Some(ip), None),
            EndpointKey::Mac(mac) => (None, Some(mac)),
        };
        Some(EventRef {
            src: split(record.src),
            dst: split(record.dst),
            protocol: record.protocol,
            category: record.category,
            operation: record.operation,
            detail: record.detail.get(&self.event_text),
            content_hash: record.content_hash.map(|span| span.get(&self.event_text)),
            time: count.last,
            count: count.count,
        })
    }

    /// Starts recording, for every event occurrence, the frame it came from (for tests that
    /// compare operations frame by frame with other dissectors).
    pub fn keep_event_log(&mut self) {
        self.event_log.get_or_insert_with(Vec::new);
    }

    /// The events recorded so far (each distinct operation once, with its count), built anew
    /// on each call.
    pub fn events(&self) -> Vec<Event> {
        self.event_records
            .iter()
            .zip(&self.event_counts)
            .map(|(record, count)| record.to_event(*count, &self.event_text))
            .collect()
    }

    /// Distinct events not recorded because [`MAX_EVENTS`] were already kept.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Takes the recorded events (without the per-frame log), starting afresh.
    pub fn drain_events(&mut self) -> std::vec::IntoIter<Event> {
        self.take_events().0.into_iter()
    }

    /// Takes the recorded events in their compact form, with the per-frame log, starting
    /// afresh: a report turns them into [`Event`]s one at a time.
    pub fn take_event_store(&mut self) -> EventStore {
        self.event_index = HashMap::default();
        EventStore {
            counts: std::mem::take(&mut self.event_counts),
            records: std::mem::take(&mut self.event_records),
            text: std::mem::take(&mut self.event_text),
            log: self
                .event_log
                .as_mut()
                .map(std::mem::take)
                .unwrap_or_default(),
        }
    }

    /// Takes the recorded events and the per-frame log (frame number, index into the events),
    /// starting afresh.
    pub fn take_events(&mut self) -> (Vec<Event>, Vec<(u64, u32)>) {
        self.event_index = HashMap::default();
        let log = self
            .event_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        let counts = std::mem::take(&mut self.event_counts);
        let records = std::mem::take(&mut self.event_records);
        let text = std::mem::take(&mut self.event_text);
        let events = records
            .into_iter()
            .zip(counts)
            .map(|(record, count)| record.to_event(count, &text))
            .collect();
        (events, log)
    }

    /// The facts recorded since the last drain.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// Whether no fact was recorded since the last drain.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    /// Takes the recorded facts, keeping the buffer's capacity.
    pub fn drain_facts(&mut self) -> std::vec::Drain<'_, Fact> {
        self.facts.drain(..)
    }
}

/// A wire value made presentable: UTF-8 (lossy), control characters as spaces, whitespace runs
/// collapsed and trimmed, at most [`MAX_VALUE_LEN`] bytes. `None` when nothing is left.
pub fn clean_value(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len().min(MAX_VALUE_LEN));
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = c.len_utf8() + usize::from(pending_space);
        if out.len() + needed > MAX_VALUE_LEN {
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

/// Fingerprints of facts and events: foldhash, seeded at random per process. Values come off the
/// wire, so an unkeyed hash would let a sender aim a new operation at the fingerprint of one
/// already seen (a write counted as a repeat of a read) or pile fingerprints into one region of
/// the tables below (every lookup a long probe).
type Fingerprints = foldhash::fast::RandomState;

/// A hasher for keys that dissectors compute once and keep across calls (a publisher's
/// identity, remembered with its last frame) before handing them to
/// [`Observations::first_time`] or [`Observations::event_keyed`]. Seeded at random once per
/// process, for the same reason as the fingerprints: the hashed bytes come off the wire, and
/// two keys made to collide would hide one sender behind another.
pub(crate) fn key_hasher() -> foldhash::fast::FoldHasher {
    static KEYS: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    KEYS.get_or_init(foldhash::fast::RandomState::default)
        .build_hasher()
}

/// The hash of a fingerprint in the tables keyed by one: the fingerprint itself, which is
/// already uniform in every bit (rehashing it would only cost time).
#[derive(Debug, Default, Clone, Copy)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in rather than lose it.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey::Ip("10.0.0.1".parse().unwrap())
    }

    #[test]
    fn keyed_events_render_their_detail_once_and_count_repeats() {
        let flow = FlowMeta {
            id: 1,
            transport: crate::Transport::Tcp,
            client: ([10, 0, 0, 1], 40000).into(),
            server: ([10, 0, 0, 2], 502).into(),
            now: Timestamp(5),
            frame: 7,
        };
        let mut out = Observations::default();
        out.keep_event_log();
        let mut rendered = 0;
        for key in [1u16, 1, 2, 1] {
            out.event_keyed(
                &flow,
                Direction::ClientToServer,
                "modbus",
                EventCategory::Read,
                "read_holding_registers",
                key,
                |detail| {
                    rendered += 1;
                    detail.push_bytes(b"registers ");
                    detail.push_u64(u64::from(key));
                },
            );
        }
        assert_eq!(rendered, 2);
        let (events, log) = out.take_events();
        let counts: Vec<_> = events
            .iter()
            .map(|e| (e.detail.as_str(), e.count))
            .collect();
        assert_eq!(counts, [("registers 1", 3), ("registers 2", 1)]);
        assert_eq!(log.len(), 4);
        // A text event with the same words is a different record (keys are not texts).
        out.event(
            &flow,
            Direction::ClientToServer,
            "modbus",
            EventCategory::Read,
            "read_holding_registers",
            "registers 1",
        );
        assert_eq!(out.events().len(), 1);
    }

    #[test]
    fn values_are_cleaned_and_bounded() {
        assert_eq!(
            clean_value(b"  HP\r\n LaserJet\x00 M507 ").unwrap(),
            "HP LaserJet M507"
        );
        assert_eq!(clean_value(b"\xffab").unwrap(), "\u{fffd}ab");
        assert!(clean_value(b" \t\r\n\x01").is_none());
        let long = vec![b'a'; 1000];
        assert_eq!(clean_value(&long).unwrap().len(), MAX_VALUE_LEN);
        let wide = "é".repeat(200);
        let cut = clean_value(wide.as_bytes()).unwrap();
        assert!(cut.len() <= MAX_VALUE_LEN && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn repeats_are_recorded_once() {
        let mut out = Observations::default();
        for _ in 0..3 {
            out.fact(
                key(),
                Attribute::Hostname,
                "printer",
                Source::Mdns,
                Timestamp(1),
            );
        }
        out.fact(
            key(),
            Attribute::Hostname,
            "printer",
            Source::Dns,
            Timestamp(1),
        );
        out.hearsay(
            key(),
            Attribute::Hostname,
            "other",
            Source::Tls,
            Timestamp(1),
        );
        out.fact(key(), Attribute::Hostname, "", Source::Dns, Timestamp(1));
        let facts: Vec<_> = out.drain_facts().collect();
        assert_eq!(facts.len(), 3);
        assert_eq!(facts[2].confidence, ironward_model::HEARSAY_CONFIDENCE);
        assert!(out.is_empty());
    }
}
