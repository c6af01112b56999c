//! IEC 61850-9-2 Sampled Values (ether type 0x88ba, usually VLAN-tagged with a priority): the
//! stream of current and voltage samples a merging unit publishes to protection relays, thousands
//! of frames a second.
//!
//! An SV frame has GOOSE's 8-byte header ([`crate::goose::Header`]: APPID, length, reserved 1
//! with the simulate bit, reserved 2), then a BER `savPdu` (APPLICATION 0, tag 0x60): `[0]`
//! noASDU, optional `[1]` security, and `[2]` seqASDU, a list of ASDUs (SEQUENCE) of which at
//! most [`MAX_ASDUS`] are read, each with `[0]` svID, optional `[1]` datSet, `[2]` smpCnt,
//! `[3]` confRev, optional `[4]` refrTm, `[5]` smpSynch, optional `[6]` smpRate, `[7]`
//! seqData (the samples: only their length is kept), optional `[8]` smpMod and `[9]`
//! gmIdentity. A `savPdu` longer than the frame is read as far as it goes.
//!
//! Facts, about the publisher (the frame's source MAC): `Service` `sv`, `ProtocolAddress`
//! `sv:appid:0x4001`, and `Hostname` from the datSet's logical-device name when an ASDU
//! carries a datSet (the same convention as GOOSE's, see [`crate::goose::ied_name`]; 9-2LE
//! streams carry none).
//!
//! Events (`frame_event`, from the publisher to its multicast group), category Other: one
//! `publish` per ASDU, detail `svID=… datSet=… confRev=… smpSynch=…` (and ` test` when the
//! simulate bit is set), aggregated, so the count is the number of ASDUs; `malformed` with the
//! decode error when the PDU cannot be read. smpCnt changes with every sample and never goes
//! into a detail; smpSynch (0 none, 1 local, 2 global clock) does, since a merging unit losing
//! its time source is worth seeing.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use ironward_model::{EventCategory, MacAddress, Source};

use crate::ber::{BerError, Element};
use crate::goose::{
    malformed, new_publisher_facts, open_pdu, part, publisher_key, range_of, GooseError, Header,
    Layout,
};
use crate::observations::{key_hasher, Detail, Observations};
use crate::{DissectorRegistry, FrameDissector, LinkFrame};

/// Sampled Values' ether type.
pub const ETHERTYPE: u16 = 0x88ba;
/// Most ASDUs read from one frame: 9-2LE sends 1 or 8, and the ASDUs of one frame share their
/// control block, so more would only repeat the same fields (and the decoded frame is copied on
/// every one of thousands of frames a second).
pub const MAX_ASDUS: usize = 8;
/// Tag of the savPdu (APPLICATION 0, constructed).
const SAV_PDU: u8 = 0x60;
/// Publishers remembered per thread (see [`SvDissector`]): a substation bus carries a few
/// merging units, each publishing one or two streams.
const MEMO_SLOTS: usize = 16;
/// Most per-sample ranges of one frame: smpCnt, refrTm and seqData of each ASDU read.
const MAX_SKIPS: usize = 3 * MAX_ASDUS;

/// Where a frame's per-sample values are.
type SvLayout = Layout<MAX_SKIPS>;

/// One ASDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asdu<'a> {
    /// Sampled value control block id.
    pub sv_id: &'a [u8],
    /// Data set reference (optional).
    pub dat_set: &'a [u8],
    /// Sample counter.
    pub smp_cnt: Option<u64>,
    /// Configuration revision.
    pub conf_rev: Option<u64>,
    /// Synchronisation (0 none, 1 local clock, 2 global clock, 5..=254 PTP clock ids).
    pub smp_synch: Option<u64>,
    /// Sample rate (optional).
    pub smp_rate: Option<u64>,
    /// Length of the samples (seqData).
    pub seq_data_len: usize,
}

/// A decoded savPdu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampledValues<'a> {
    /// The frame header.
    pub header: Header,
    /// Number of ASDUs, as declared.
    pub no_asdu: Option<u64>,
    /// The ASDUs read (at most [`MAX_ASDUS`]).
    asdus: [Asdu<'a>; MAX_ASDUS],
    /// How many of `asdus` are filled.
    count: usize,
    /// The first decode error, when the PDU is cut or malformed after what was read.
    pub error: Option<GooseError>,
}

impl<'a> SampledValues<'a> {
    /// Parses an SV frame's payload (from the APPID). Fails when no ASDU with an svID can be
    /// read; a later error is kept in [`error`](Self::error).
    pub fn parse(payload: &'a [u8]) -> Result<Self, GooseError> {
        Self::parse_with(payload, &mut SvLayout::default())
    }

    /// [`parse`](Self::parse), recording in `layout` where the per-sample fields are.
    fn parse_with(payload: &'a [u8], layout: &mut SvLayout) -> Result<Self, GooseError> {
        let (header, pdu) = Header::parse(payload)?;
        let (mut reader, cut) = open_pdu(pdu, SAV_PDU, Header::LEN)?;
        let mut sv = Self {
            header,
            no_asdu: None,
            asdus: [Asdu::default(); MAX_ASDUS],
            count: 0,
            error: None,
        };
        let result = (|| -> Result<(), GooseError> {
            while !reader.is_empty() {
                let element = reader.read("savPdu field")?;
                if element.class() != crate::ber::CONTEXT {
                    continue;
                }
                match element.number {
                    0 => sv.no_asdu = Some(unsigned(&element, "noASDU")?),
                    2 => {
                        let mut seq = element.contents("seqASDU")?;
                        while !seq.is_empty() && sv.count < MAX_ASDUS {
                            let asdu = seq.read("ASDU")?;
                            let parsed = parse_asdu(&asdu, layout)?;
                            if let Some(slot) = sv.asdus.get_mut(sv.count) {
                                *slot = parsed;
                                sv.count += 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            sv.error = Some(e);
        } else if cut {
            sv.error = Some(GooseError::Truncated {
                field: "savPdu",
                offset: reader.offset(),
            });
        }
        if sv.asdus().iter().all(|a| a.sv_id.is_empty()) {
            return Err(sv.error.unwrap_or(GooseError::Missing { field: "svID" }));
        }
        Ok(sv)
    }

    /// The ASDUs read.
    pub fn asdus(&self) -> &[Asdu<'a>] {
        self.asdus.get(..self.count).unwrap_or_default()
    }
}

fn unsigned(element: &Element<'_>, field: &'static str) -> Result<u64, GooseError> {
    element
        .unsigned()
        .ok_or(GooseError::Ber(BerError::BadInteger {
            field,
            offset: element.offset,
        }))
}

/// Reads an ASDU's fields; smpCnt is two bytes unsigned but decoded like any integer. The
/// values of smpCnt, refrTm and seqData, which change with every sample and never reach a fact,
/// key or detail, are recorded in `layout`.
fn parse_asdu<'a>(asdu: &Element<'a>, layout: &mut SvLayout) -> Result<Asdu<'a>, GooseError> {
    let mut fields = asdu.contents("ASDU")?;
    let mut out = Asdu::default();
    while !fields.is_empty() {
        let field = fields.read("ASDU field")?;
        if field.class() != crate::ber::CONTEXT {
            continue;
        }
        if matches!(field.number, 2 | 4 | 7) {
            let _ = layout.skip(field.value_offset, field.value.len());
        }
        match field.number {
            0 => out.sv_id = field.value,
            1 => out.dat_set = field.value,
            2 => out.smp_cnt = Some(raw_unsigned(field.value)),
            3 => out.conf_rev = Some(raw_unsigned(field.value)),
            5 => out.smp_synch = Some(raw_unsigned(field.value)),
            6 => out.smp_rate = Some(raw_unsigned(field.value)),
            7 => out.seq_data_len = field.value.len(),
            _ => {}
        }
    }
    Ok(out)
}

/// SV encodes smpCnt, confRev, smpSynch and smpRate as fixed-size unsigned big-endian
/// numbers (not minimal two's complement), so a leading 1 bit is not a sign; more than
/// eight bytes keep the last eight.
fn raw_unsigned(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .take(8)
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// What one ASDU of a remembered frame reports: byte ranges of the payload for the strings,
/// and the event key.
#[derive(Debug, Clone, Copy, Default)]
struct Reported {
    sv_id: (u16, u16),
    dat_set: (u16, u16),
    conf_rev: Option<u64>,
    smp_synch: Option<u64>,
    key: u64,
}

/// A frame a publisher sent, decoded once: a later frame from the same publisher with the same
/// bytes outside the per-sample ranges reports exactly the same facts and events.
#[derive(Debug)]
struct Remembered {
    src_mac: MacAddress,
    payload: Vec<u8>,
    layout: SvLayout,
    appid: u16,
    simulated: bool,
    /// [`publisher_key`] of the frame's facts.
    facts_key: u64,
    reference: (u16, u16),
    asdus: [Reported; MAX_ASDUS],
    count: usize,
}

impl Remembered {
    /// Whether `payload`, from `src_mac`, is a repeat: the same length and the same bytes
    /// outside the per-sample ranges.
    fn repeats(&self, src_mac: MacAddress, payload: &[u8]) -> bool {
        self.src_mac == src_mac && self.layout.repeats(&self.payload, payload)
    }

    fn observe(&self, frame: &LinkFrame<'_>, out: &mut Observations) {
        let payload = frame.payload;
        if out.first_time(self.facts_key) {
            let reference = part(payload, self.reference);
            new_publisher_facts(frame, out, "sv", Source::Sv, self.appid, reference);
        }
        for asdu in self.asdus.get(..self.count).unwrap_or_default() {
            out.frame_event_keyed(
                frame,
                "sv",
                EventCategory::Other,
                "publish",
                asdu.key,
                |detail| {
                    render(
                        detail,
                        part(payload, asdu.sv_id),
                        part(payload, asdu.dat_set),
                        asdu.conf_rev,
                        asdu.smp_synch,
                        self.simulated,
                    )
                },
            );
        }
    }
}

/// The publishers of one thread, most recently replaced last.
#[derive(Debug, Default)]
struct Memo {
    slots: Vec<Remembered>,
    /// The slot that matched last (streams come in runs).
    last: usize,
    /// The slot replaced next when the memo is full.
    next: usize,
}

impl Memo {
    /// The remembered frame `frame` repeats, if any.
    fn find(&mut self, frame: &LinkFrame<'_>) -> Option<&Remembered> {
        let last = self.last;
        if let Some(hit) = self.slots.get(last) {
            if hit.repeats(frame.src_mac, frame.payload) {
                return self.slots.get(last);
            }
        }
        let index = self
            .slots
            .iter()
            .position(|s| s.repeats(frame.src_mac, frame.payload))?;
        self.last = index;
        self.slots.get(index)
    }

    /// Remembers a frame decoded without error (replacing the publisher's previous frame, or
    /// the oldest slot when the memo is full).
    fn remember(&mut self, frame: &LinkFrame<'_>, sv: &SampledValues<'_>, layout: &SvLayout) {
        let payload = frame.payload;
        if !layout.rememberable(payload) {
            return;
        }
        let mut asdus = [Reported::default(); MAX_ASDUS];
        for (slot, asdu) in asdus.iter_mut().zip(sv.asdus()) {
            let (Some(sv_id), Some(dat_set)) = (
                range_of(payload, asdu.sv_id),
                range_of(payload, asdu.dat_set),
            ) else {
                return;
            };
            *slot = Reported {
                sv_id,
                dat_set,
                conf_rev: asdu.conf_rev,
                smp_synch: asdu.smp_synch,
                key: asdu_key(asdu, sv.header.simulated()),
            };
        }
        let reference = reference(sv);
        let Some(reference_range) = range_of(payload, reference) else {
            return;
        };
        let appid = sv.header.appid;
        let index = match self
            .slots
            .iter()
            .position(|s| s.src_mac == frame.src_mac && s.appid == appid)
        {
            Some(index) => index,
            None if self.slots.len() < MEMO_SLOTS => {
                self.slots.push(Remembered {
                    src_mac: frame.src_mac,
                    payload: Vec::new(),
                    layout: SvLayout::default(),
                    appid,
                    simulated: false,
                    facts_key: 0,
                    reference: (0, 0),
                    asdus: [Reported::default(); MAX_ASDUS],
                    count: 0,
                });
                self.slots.len() - 1
            }
            None => {
                let index = self.next % MEMO_SLOTS;
                self.next = index + 1;
                index
            }
        };
        let Some(slot) = self.slots.get_mut(index) else {
            return;
        };
        slot.src_mac = frame.src_mac;
        slot.payload.clear();
        slot.payload.extend_from_slice(payload);
        slot.layout = *layout;
        slot.appid = appid;
        slot.simulated = sv.header.simulated();
        slot.facts_key = publisher_key("sv", frame.src_mac, appid, reference);
        slot.reference = reference_range;
        slot.asdus = asdus;
        slot.count = sv.asdus().len();
        self.last = index;
    }
}

thread_local! {
    /// Each worker thread's publishers: frame dissectors are shared by the workers, and a
    /// thread's own memo needs no lock.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// Dissects Sampled Values frames. What it reports depends on each frame alone; a small memo
/// per thread ([`MEMO_SLOTS`] publishers, each with the last frame it sent) lets a frame that
/// repeats its publisher's last one outside the per-sample values (smpCnt, refrTm, seqData)
/// skip the decoding, its keys and its details, since they would come out the same.
#[derive(Debug, Default)]
pub struct SvDissector;

impl FrameDissector for SvDissector {
    fn protocol(&self) -> &'static str {
        "sv"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        let memoised = MEMO.try_with(|memo| {
            let Ok(mut memo) = memo.try_borrow_mut() else {
                return dissect(frame, out, None);
            };
            if let Some(remembered) = memo.find(frame) {
                remembered.observe(frame, out);
                return;
            }
            dissect(frame, out, Some(&mut memo));
        });
        if memoised.is_err() {
            // The thread is shutting down and its memo is gone.
            dissect(frame, out, None);
        }
        true
    }
}

/// Decodes the frame and reports it; remembers it in `memo` when it decoded cleanly.
fn dissect(frame: &LinkFrame<'_>, out: &mut Observations, memo: Option<&mut Memo>) {
    let mut layout = SvLayout::default();
    match SampledValues::parse_with(frame.payload, &mut layout) {
        Ok(sv) => {
            observe(&sv, frame, out);
            if let (Some(memo), None) = (memo, sv.error) {
                memo.remember(frame, &sv, &layout);
            }
        }
        Err(e) => malformed(frame, out, "sv", &e),
    }
}

/// The datSet the publisher's facts name: the first one an ASDU carries.
fn reference<'a>(sv: &SampledValues<'a>) -> &'a [u8] {
    sv.asdus()
        .iter()
        .map(|a| a.dat_set)
        .find(|d| !d.is_empty())
        .unwrap_or_default()
}

/// The key of an ASDU's `publish` event: the fields its detail shows, folded into one word
/// once per distinct frame.
fn asdu_key(asdu: &Asdu<'_>, simulated: bool) -> u64 {
    let mut hasher = key_hasher();
    (
        asdu.sv_id,
        asdu.dat_set,
        asdu.conf_rev,
        asdu.smp_synch,
        simulated,
    )
        .hash(&mut hasher);
    hasher.finish()
}

/// `svID=… datSet=… confRev=… smpSynch=…[ test]`.
fn render(
    detail: &mut Detail,
    sv_id: &[u8],
    dat_set: &[u8],
    conf_rev: Option<u64>,
    smp_synch: Option<u64>,
    simulated: bool,
) {
    detail.push_bytes(b"svID=");
    detail.push_bytes(sv_id);
    if !dat_set.is_empty() {
        detail.push_bytes(b" datSet=");
        detail.push_bytes(dat_set);
    }
    if let Some(rev) = conf_rev {
        let _ = write!(detail, " confRev={rev}");
    }
    if let Some(synch) = smp_synch {
        let _ = write!(detail, " smpSynch={synch}");
    }
    if simulated {
        detail.push_bytes(b" test");
    }
}

fn observe(sv: &SampledValues<'_>, frame: &LinkFrame<'_>, out: &mut Observations) {
    let appid = sv.header.appid;
    let reference = reference(sv);
    if out.first_time(publisher_key("sv", frame.src_mac, appid, reference)) {
        new_publisher_facts(frame, out, "sv", Source::Sv, appid, reference);
    }
    let simulated = sv.header.simulated();
    for asdu in sv.asdus() {
        // Streams repeat the same fields thousands of times a second: the detail is written
        // only for the first ASDU with these fields.
        out.frame_event_keyed(
            frame,
            "sv",
            EventCategory::Other,
            "publish",
            asdu_key(asdu, simulated),
            |detail| {
                render(
                    detail,
                    asdu.sv_id,
                    asdu.dat_set,
                    asdu.conf_rev,
                    asdu.smp_synch,
                    simulated,
                )
            },
        );
    }
    if let Some(error) = &sv.error {
        malformed(frame, out, "sv", error);
    }
}

/// Adds this module's dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(SvDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Attribute, MacAddress, Timestamp};

    /// SV_Normal_Traffic.pcap frame 1, from the APPID (seqData shortened to 8 bytes, lengths
    /// adjusted).
    const FRAME_1: &str = "4001 002e 0000 0000 6024 800101 a21f 301d
        8004 34303031 8202 0118 8304 00000001 8501 02 8708 fffe598200000000";

    fn run(payload: &[u8]) -> Vec<(String, String, u64)> {
        let frame = LinkFrame {
            src_mac: MacAddress([0xca, 0xfe, 0xc0, 0xff, 0xee, 0x69]),
            dst_mac: MacAddress([0x01, 0x0c, 0xcd, 0x04, 0x00, 0x02]),
            vlan: Some(1),
            ethertype: ETHERTYPE,
            snap_oui: None,
            payload,
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        assert!(SvDissector.on_frame(&frame, &mut out));
        let facts: Vec<_> = out.drain_facts().collect();
        if !facts.is_empty() {
            assert!(
                facts
                    .iter()
                    .any(|f| f.attribute == Attribute::ProtocolAddress
                        && f.value == "sv:appid:0x4001")
            );
        }
        out.drain_events()
            .map(|e| (e.operation.into_owned(), e.detail, e.count))
            .collect()
    }

    #[test]
    fn asdu_fields() {
        let bytes = hex(FRAME_1);
        let sv = SampledValues::parse(&bytes).unwrap();
        assert_eq!((sv.header.appid, sv.no_asdu), (0x4001, Some(1)));
        let asdu = sv.asdus()[0];
        assert_eq!(asdu.sv_id, b"4001");
        assert_eq!(
            (
                asdu.smp_cnt,
                asdu.conf_rev,
                asdu.smp_synch,
                asdu.seq_data_len
            ),
            (Some(280), Some(1), Some(2), 8)
        );
        assert_eq!(
            run(&bytes),
            [("publish".into(), "svID=4001 confRev=1 smpSynch=2".into(), 1)]
        );
    }

    #[test]
    fn large_sample_counters_are_unsigned() {
        // smpCnt 0xffff encoded on two bytes is 65535, not -1.
        let bytes = hex(&FRAME_1.replace("8202 0118", "8202 ffff"));
        let sv = SampledValues::parse(&bytes).unwrap();
        assert_eq!(sv.asdus()[0].smp_cnt, Some(65_535));
    }

    #[test]
    fn several_asdus_and_truncation() {
        let asdu = "301d 8004 34303031 8202 0118 8304 00000001 8501 02 8708 fffe598200000000";
        let bytes = hex(&format!(
            "4001 008c 0000 0000 6081 81 800104 a27c {asdu}{asdu}{asdu}{asdu}"
        ));
        let sv = SampledValues::parse(&bytes).unwrap();
        assert_eq!(sv.asdus().len(), 4);
        assert_eq!(run(&bytes)[0].2, 4);
        for len in 0..bytes.len() {
            let _ = run(&bytes[..len]);
        }
        let cut = run(&bytes[..bytes.len() - 3]);
        assert_eq!(cut.last().unwrap().0, "malformed");
        assert_eq!(
            SampledValues::parse(&hex("4001 0000 0000 0000 6103 800101")),
            Err(GooseError::NotPdu { tag: 0x61 })
        );
    }
}
