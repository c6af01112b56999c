#![allow(clippy::unwrap_used, clippy::expect_used)]
//! S7comm and S7comm-plus operations and identity against `tshark`, frame by frame, over every
//! shared capture of `pcaps/s7comm/` and `pcaps/s7comm-plus/`.
//!
//! S7comm (tshark's `s7comm` dissector): from each S7 PDU tshark decodes, this test computes the
//! operations Ironward must report in that frame — a job's function (`s7comm.param.func`) with
//! its read items (area, DB, byte.bit or number, transport size, count: the detail is rebuilt
//! from tshark's item fields), a PI service by `s7comm.param.pistart.servicename` and argument,
//! `download` / `upload` at download ended / end upload with the block from
//! `s7comm.data.blockcontrol.*` and the SHA-256 (computed with `sha256sum`) and length of the
//! `s7comm.resp.data` bytes of the download block / upload answers; userdata requests by
//! `s7comm.param.userdata.funcgroup` / `subfunc` (read SZL with `s7comm.data.userdata.szl_id`
//! and `szl_index`); `error_response` for a header error class, a userdata parameter error
//! code, or an item return code other than 0xff. Identity facts come from the SZL fields
//! (`s7comm.szl.xy11.0001.*`, `s7comm.szl.001c.*`, `s7comm.szl.0424.0000.bzu_id.req`) and the
//! rack/slot from `cotp.dst-tsap`. Operation counts per type are compared in total.
//!
//! S7comm-plus (tshark 4.0 has no dissector for it): every COTP data unit whose payload
//! (`data.data`, reassembled by tshark's COTP) starts with 0x72 is parsed by a small oracle in
//! this test — version, the integrity part of version 3, the trailer that ends a PDU, opcode,
//! function and session id — and every request that starts a PDU must be an Ironward event of
//! that function; the protocol version is the server's Service fact. Frames compared and PDUs
//! per function are counted.
//!
//! Deliberate differences, checked explicitly:
//! * The request-download, download-block, start-upload and upload jobs make no event of their
//!   own: one `download` (at download ended) or `upload` (at end upload) per block stands for
//!   the sequence, so tshark's 0x1c / 0x1f jobs are the count to match.
//! * A userdata request that only asks for the next fragment of an answer (parameter length 8,
//!   return code 0x0a, no data) is not an operation; its fragments are reassembled instead.
//! * Pushes (mode transitions, alarms, cyclic data the CPU sends unasked) and S7comm-plus
//!   notifications and responses make no event.
//! * Frames after a TCP segment missing from the capture (`tcp.analysis.lost_segment` earlier in
//!   the same direction): the port-102 reader drops the partial record at a gap and resumes at
//!   the next chunk that starts a TPKT record, and the reassembler delivers held data when a
//!   later frame (the peer's acknowledgement) puts it in order, so an operation there may carry
//!   a later frame's number, or be undecoded when no chunk restarts on a record boundary; and
//!   tshark, which does not resynchronise, leaves some PDUs there undecoded that Ironward reads.
//!   Three S7comm captures are sampled this way; there, an operation Ironward reports matches
//!   one tshark saw in that frame or an earlier one or is counted as decoded only by Ironward,
//!   and per-operation counts may differ by at most those tallies.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use ironward_model::{Attribute, DeviceKey, Event, EventCategory, Fact, Source};

const S7_CAPTURES: [&str; 10] = [
    "s7comm/icsnpp_s7ident.pcap",
    "s7comm/icsnpp_snap7.pcap",
    "s7comm/s7comm_downloading_block_db1.pcap",
    "s7comm/s7comm_reading_plc_status.pcap",
    "s7comm/s7comm_reading_setting_plc_time.pcap",
    "s7comm/step7_s300_download.pcap",
    "s7comm/step7_s300_stop.pcap",
    "s7comm/wincc_s300_setup-alarm-read-write.pcap",
    "s7comm/wincc_s400_production.pcap",
    "s7comm-plus/icsnpp_s7comm_plus.pcap",
];

const PLUS_CAPTURES: [&str; 2] = [
    "s7comm-plus/S7-1511-opc-request-all-types.pcap",
    "s7comm-plus/icsnpp_s7comm_plus.pcap",
];

const FIELDS: [&str; 44] = [
    "ip.src",
    "ip.dst",
    "tcp.stream",
    "tcp.srcport",
    "s7comm.header.rosctr",
    "s7comm.header.errcls",
    "s7comm.header.errcod",
    "s7comm.param.func",
    "s7comm.param.pdu_length",
    "s7comm.param.maxamq_calling",
    "s7comm.param.maxamq_called",
    "s7comm.param.item.syntaxid",
    "s7comm.param.item.transp_size",
    "s7comm.param.item.length",
    "s7comm.param.item.db",
    "s7comm.param.item.area",
    "s7comm.param.item.address.byte",
    "s7comm.param.item.address.bit",
    "s7comm.param.item.address.number",
    "s7comm.param.itemcount",
    "s7comm.data.returncode",
    "s7comm.data.length",
    "s7comm.resp.data",
    "s7comm.param.userdata.length",
    "s7comm.param.userdata.type",
    "s7comm.param.userdata.funcgroup",
    "s7comm.param.userdata.subfunc",
    "s7comm.param.errcod",
    "s7comm.data.userdata.szl_id",
    "s7comm.data.userdata.szl_index",
    "s7comm.param.pistart.servicename",
    "s7comm.param.pistart.argument",
    "s7comm.data.blockcontrol.block_type",
    "s7comm.data.blockcontrol.block_number",
    "s7comm.szl.xy11.0001.index",
    "s7comm.szl.xy11.0001.anz",
    "s7comm.szl.xy11.0001.ausbg",
    "s7comm.szl.xy11.0001.ausbe",
    "s7comm.szl.001c.000x.index",
    "s7comm.szl.001c.0001.name",
    "s7comm.szl.001c.0005.serialn",
    "s7comm.szl.001c.0007.cputypname",
    "s7comm.szl.0424.0000.bzu_id.req",
    "s7comm.param.modetrans.subfunc",
];

/// One tshark row, fields by name.
struct Row<'a> {
    values: &'a [String],
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        let i = FIELDS.iter().position(|n| *n == name).expect(name);
        self.values.get(i).map_or("", String::as_str)
    }

    fn list(&self, name: &str) -> Vec<&str> {
        let v = self.get(name);
        if v.is_empty() {
            Vec::new()
        } else {
            v.split(',').collect()
        }
    }

    fn num(&self, name: &str) -> Option<u32> {
        parse_num(self.get(name))
    }
}

fn parse_num(v: &str) -> Option<u32> {
    match v.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn ip(v: &str) -> DeviceKey {
    DeviceKey::Ip(v.parse::<IpAddr>().expect("address"))
}

/// What Ironward must report for one operation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Op {
    operation: String,
    category: EventCategory,
    /// The exact detail, when the test can rebuild it; else a text the detail must contain.
    detail: Detail,
    hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Exact(String),
    Contains(String),
}

fn op(operation: &str, category: EventCategory, detail: Detail) -> Op {
    Op {
        operation: operation.to_owned(),
        category,
        detail,
        hash: None,
    }
}

fn matches(want: &Op, got: &Event) -> bool {
    want.operation == got.operation
        && want.category == got.category
        && match &want.detail {
            Detail::Exact(d) => *d == got.detail,
            Detail::Contains(d) => got.detail.contains(d.as_str()),
        }
        && (want.hash.is_none() || want.hash.as_deref() == got.content_hash.as_deref())
}

fn area(code: u32) -> &'static str {
    match code {
        0x80 => "P",
        0x81 => "I",
        0x82 => "Q",
        0x83 => "M",
        0x84 => "DB",
        0x85 => "DI",
        0x86 => "L",
        0x87 => "V",
        0x1c => "C",
        0x1d => "T",
        0x1e => "IEC-C",
        0x1f => "IEC-T",
        _ => "?",
    }
}

fn transport(code: u32) -> &'static str {
    match code {
        1 => "BIT",
        2 => "BYTE",
        3 => "CHAR",
        4 => "WORD",
        5 => "INT",
        6 => "DWORD",
        7 => "DINT",
        8 => "REAL",
        28 => "COUNTER",
        29 => "TIMER",
        _ => "?",
    }
}

/// The items of a read/write request as Ironward writes them, from tshark's item fields.
fn items(row: &Row<'_>) -> Vec<String> {
    let (areas, dbs, sizes, lens) = (
        row.list("s7comm.param.item.area"),
        row.list("s7comm.param.item.db"),
        row.list("s7comm.param.item.transp_size"),
        row.list("s7comm.param.item.length"),
    );
    let (bytes, bits, numbers) = (
        row.list("s7comm.param.item.address.byte"),
        row.list("s7comm.param.item.address.bit"),
        row.list("s7comm.param.item.address.number"),
    );
    let (mut b, mut n) = (0, 0);
    let mut out = Vec::new();
    for (i, a) in areas.iter().enumerate() {
        let a = parse_num(a).unwrap();
        let mut s = area(a).to_owned();
        if matches!(a, 0x84 | 0x85) {
            s += dbs[i];
        }
        if (0x1c..=0x1f).contains(&a) {
            s += &format!(" {}", numbers[n]);
            n += 1;
        } else {
            s += &format!(" {}.{}", bytes[b], bits[b]);
            b += 1;
        }
        let size = transport(parse_num(sizes[i]).unwrap());
        s += &format!(" {size} x{}", lens[i]);
        out.push(s);
    }
    out
}

fn userdata_op(group: u32, sub: u32) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match (group, sub) {
        (1, 16) => ("read_job_list", Diagnostics),
        (1, 2) => ("variable_status", Read),
        (1, 1) => ("block_status", Diagnostics),
        (1, 19) => ("block_status_v2", Diagnostics),
        (2, 1) => ("cyclic_transfer", Read),
        (2, 4) => ("unsubscribe", Read),
        (2, 5) => ("change_driven_transfer", Read),
        (2, 7) => ("change_driven_transfer_modify", Read),
        (3, 1) => ("list_blocks", Diagnostics),
        (3, 2) => ("list_blocks_of_type", Diagnostics),
        (3, 3) => ("get_block_info", Diagnostics),
        (4, 1) => ("read_szl", Diagnostics),
        (4, 2) => ("message_service", Diagnostics),
        (4, 19) => ("alarm_query", Diagnostics),
        (5, 1) => ("plc_password", Authentication),
        (7, 1) => ("read_clock", TimeSync),
        (7, 2) => ("set_clock", TimeSync),
        other => panic!("userdata function {other:?} not in this test's table"),
    }
}

fn job_op(func: u32) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match func {
        0x04 => ("read_var", Read),
        0x05 => ("write_var", Write),
        0x1a => ("request_download", ProgramDownload),
        0x1b => ("download_block", ProgramDownload),
        0x1c => ("download_ended", ProgramDownload),
        0x1d => ("start_upload", ProgramUpload),
        0x1e => ("upload", ProgramUpload),
        0x1f => ("end_upload", ProgramUpload),
        0x28 => ("pi_service", Other),
        0x29 => ("plc_stop", ModeChange),
        0xf0 => ("setup_communication", Other),
        _ => ("cpu_services", Other),
    }
}

fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn unhex(v: &str) -> Vec<u8> {
    let v: String = v.chars().filter(char::is_ascii_hexdigit).collect();
    (0..v.len() / 2)
        .map(|i| u8::from_str_radix(&v[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A transfer being followed in tshark's rows.
#[derive(Default)]
struct Transfer {
    block: String,
    bytes: Vec<u8>,
    active: bool,
}

/// Frames at or after the first lost segment of their direction, per (stream, source port).
fn after_gap(path: &Path) -> BTreeMap<(String, String), u64> {
    let mut first = BTreeMap::new();
    for (frame, v) in common::tshark_fields(
        path,
        "tcp.analysis.lost_segment",
        &["tcp.stream", "tcp.srcport"],
    ) {
        first.entry((v[0].clone(), v[1].clone())).or_insert(frame);
    }
    first
}

struct Tally {
    frames: usize,
    after_gap_frames: usize,
    after_gap_missing: usize,
    /// Operations decoded after a gap where tshark decodes nothing (it does not resynchronise).
    after_gap_extra: usize,
    ops: BTreeMap<String, (u64, u64)>,
    facts: usize,
}

fn compare_s7(relative: &str) -> Option<Tally> {
    let path = common::shared_capture(relative)?;
    let analysis = common::logged_analysis(&path);
    let log: Vec<(u64, Event)> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "s7comm")
        .cloned()
        .collect();
    let facts: Vec<(u64, Fact)> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::S7comm)
        .cloned()
        .collect();
    let gaps = after_gap(&path);
    let rows = common::tshark_fields(&path, "s7comm", &FIELDS);
    assert!(!rows.is_empty(), "{relative}: no s7comm frame");
    let mut tally = Tally {
        frames: 0,
        after_gap_frames: 0,
        after_gap_missing: 0,
        after_gap_extra: 0,
        ops: BTreeMap::new(),
        facts: 0,
    };
    let (mut download, mut upload) = (Transfer::default(), Transfer::default());
    let mut pending: HashMap<(String, u32), u32> = HashMap::new();
    let mut fact_frames: BTreeMap<u64, BTreeSet<(DeviceKey, Attribute, String)>> = BTreeMap::new();
    let mut model_named = false;
    let mut covered = BTreeSet::new();
    let mut deferred: Vec<(Op, String)> = Vec::new();
    for (frame, values) in &rows {
        let row = Row { values };
        let (src, dst) = (row.get("ip.src"), row.get("ip.dst"));
        let stream = row.get("tcp.stream").to_owned();
        // Either direction of the stream: a request delivered late is reported in a frame of
        // the answering direction.
        let gap = gaps.iter().any(|((s, _), g)| *s == stream && frame >= g);
        let rosctr = row.num("s7comm.header.rosctr").unwrap();
        let func = row.num("s7comm.param.func");
        let mut want: Vec<Op> = Vec::new();
        // The requester is the sender of jobs and userdata requests, the receiver of answers.
        let mut requester = src;
        match rosctr {
            1 => {
                let func = func.unwrap();
                pending.insert((stream.clone(), func), func);
                let (name, cat) = job_op(func);
                match func {
                    0x04 => {
                        // Ironward writes the first four items and counts the rest.
                        let all = items(&row);
                        let mut detail = all[..all.len().min(4)].join("; ");
                        if all.len() > 4 {
                            detail += &format!("; +{} more", all.len() - 4);
                        }
                        want.push(op(name, cat, Detail::Exact(detail)));
                    }
                    0x05 => want.push(op(name, cat, Detail::Contains(items(&row)[0].clone()))),
                    0xf0 => want.push(op(
                        name,
                        cat,
                        Detail::Contains(format!(
                            "pdu {}, amq {}/{}",
                            row.get("s7comm.param.pdu_length"),
                            row.get("s7comm.param.maxamq_calling"),
                            row.get("s7comm.param.maxamq_called")
                        )),
                    )),
                    0x1a => {
                        download = Transfer {
                            block: block(&row),
                            bytes: Vec::new(),
                            active: true,
                        };
                    }
                    0x1d => upload.block = block(&row),
                    0x1c | 0x1f => {
                        let t = if func == 0x1c {
                            &mut download
                        } else {
                            &mut upload
                        };
                        if t.active {
                            let (op_name, cat) = if func == 0x1c {
                                ("download", EventCategory::ProgramDownload)
                            } else {
                                ("upload", EventCategory::ProgramUpload)
                            };
                            let mut o = op(
                                op_name,
                                cat,
                                Detail::Exact(format!(
                                    "block {}, {} bytes",
                                    t.block,
                                    t.bytes.len()
                                )),
                            );
                            o.hash = Some(sha256(&t.bytes));
                            // The controller sends download ended: the requester is its peer.
                            if func == 0x1c {
                                requester = dst;
                            }
                            want.push(o);
                            t.active = false;
                        }
                    }
                    0x28 => {
                        let service = row.get("s7comm.param.pistart.servicename");
                        let arg = row.get("s7comm.param.pistart.argument").trim();
                        let (name, cat) = match (service, arg) {
                            ("P_PROGRAM", "") => ("plc_hot_start", EventCategory::ModeChange),
                            ("P_PROGRAM", "C") => ("plc_cold_start", EventCategory::ModeChange),
                            ("_INSE", _) => ("block_insert", EventCategory::ConfigurationChange),
                            ("_DELE", _) => ("block_delete", EventCategory::ConfigurationChange),
                            ("_MODU", _) => ("copy_ram_to_rom", EventCategory::ConfigurationChange),
                            ("_GARB", _) => ("compress_memory", EventCategory::Other),
                            other => panic!("PI service {other:?}"),
                        };
                        let detail = match service {
                            "_INSE" | "_DELE" => format!("{service} {}", block(&row)),
                            _ if arg.is_empty() => service.to_owned(),
                            _ => format!("{service} {arg}"),
                        };
                        want.push(op(name, cat, Detail::Exact(detail)));
                    }
                    0x29 => want.push(op(name, cat, Detail::Exact("P_PROGRAM".into()))),
                    _ => {}
                }
            }
            2 | 3 => {
                requester = dst;
                let func = func.or_else(|| {
                    [
                        0x1d, 0x1e, 0x1f, 0x1a, 0x1b, 0x1c, 0x28, 0x29, 0x04, 0x05, 0xf0,
                    ]
                    .into_iter()
                    .find(|f| pending.contains_key(&(stream.clone(), *f)))
                });
                let (name, cat) = job_op(func.unwrap_or(0));
                let cls = row.num("s7comm.header.errcls").unwrap_or(0);
                let code = row.num("s7comm.header.errcod").unwrap_or(0);
                if cls != 0 {
                    want.push(op(
                        "error_response",
                        cat,
                        Detail::Contains(format!("{name}: ")),
                    ));
                    want.last_mut().unwrap().detail =
                        Detail::Contains(format!("(0x{:04x})", cls << 8 | code));
                    if func == Some(0x1d) {
                        upload.active = false;
                    }
                } else {
                    match func {
                        Some(0x04 | 0x05)
                            if row
                                .list("s7comm.data.returncode")
                                .iter()
                                .any(|rc| *rc != "0xff") =>
                        {
                            want.push(op(
                                "error_response",
                                cat,
                                Detail::Contains(format!("{name}: item ")),
                            ));
                        }
                        Some(0x1b) if download.active => {
                            download.bytes.extend(unhex(row.get("s7comm.resp.data")));
                            requester = src;
                        }
                        Some(0x1d) => {
                            upload.active = true;
                            upload.bytes.clear();
                        }
                        Some(0x1e) if upload.active => {
                            upload.bytes.extend(unhex(row.get("s7comm.resp.data")));
                        }
                        _ => {}
                    }
                }
                if let Some(f) = func {
                    pending.remove(&(stream.clone(), f));
                }
            }
            _ => {
                let kind = row.num("s7comm.param.userdata.type").unwrap();
                let group = row.num("s7comm.param.userdata.funcgroup").unwrap();
                let sub = row
                    .num("s7comm.param.userdata.subfunc")
                    .or_else(|| row.num("s7comm.param.modetrans.subfunc"))
                    .unwrap();
                if kind == 4 || kind == 7 {
                    let continuation = row.get("s7comm.param.userdata.length") == "8"
                        && row.get("s7comm.data.returncode") == "0x0a"
                        && row.get("s7comm.data.length") == "0";
                    if !continuation {
                        let (name, cat) = userdata_op(group, sub);
                        let detail = if (group, sub) == (4, 1) {
                            Detail::Exact(format!(
                                "szl {} index {}",
                                row.get("s7comm.data.userdata.szl_id"),
                                row.get("s7comm.data.userdata.szl_index")
                            ))
                        } else {
                            Detail::Contains(String::new())
                        };
                        want.push(op(name, cat, detail));
                    }
                } else if kind == 8 || kind == 11 {
                    requester = dst;
                    if row.num("s7comm.param.errcod").unwrap_or(0) != 0 {
                        let (name, cat) = userdata_op(group, sub);
                        want.push(op(
                            "error_response",
                            cat,
                            Detail::Contains(format!("{name}: ")),
                        ));
                    }
                    expected_facts(
                        &row,
                        ip(src),
                        &mut model_named,
                        fact_frames.entry(*frame).or_default(),
                    );
                } else if group == 0 {
                    let state = match sub {
                        0 => "stop",
                        2 => "run",
                        _ => "",
                    };
                    if !state.is_empty() {
                        fact_frames.entry(*frame).or_default().insert((
                            ip(src),
                            Attribute::State,
                            state.to_owned(),
                        ));
                    }
                }
            }
        }
        covered.insert(*frame);
        // Compare the frame's operations.
        let got: Vec<&Event> = log
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| e)
            .collect();
        for e in &got {
            if want.iter().any(|w| matches(w, e)) {
                assert_eq!(
                    e.src.ip,
                    Some(requester.parse().unwrap()),
                    "{relative} frame {frame}: source of {}",
                    e.operation
                );
                continue;
            }
            // After a gap the reassembler delivers held data when a later frame (the peer's
            // acknowledgement) shows it in order: the operation carries that frame's number.
            let late = gap
                .then(|| {
                    deferred.iter().position(|(w, req): &(Op, String)| {
                        matches(w, e) && e.src.ip == Some(req.parse().unwrap())
                    })
                })
                .flatten();
            match late {
                Some(pos) => {
                    deferred.remove(pos);
                    tally.after_gap_missing -= 1;
                }
                None if gap => tally.after_gap_extra += 1,
                None => panic!(
                    "{relative} frame {frame}: unexpected {} {:?} {:?}; tshark wants {want:?}",
                    e.operation, e.category, e.detail
                ),
            }
        }
        for w in &want {
            let found = got.iter().any(|e| matches(w, e));
            if gap {
                if !found {
                    tally.after_gap_missing += 1;
                    deferred.push((w.clone(), requester.to_owned()));
                }
            } else {
                assert!(
                    found,
                    "{relative} frame {frame}: missing {w:?}; got {got:?}"
                );
            }
        }
        tally.frames += 1;
        tally.after_gap_frames += usize::from(gap);
        for w in &want {
            tally.ops.entry(w.operation.clone()).or_default().0 += 1;
        }
        for e in &got {
            tally.ops.entry(e.operation.to_string()).or_default().1 += 1;
        }
    }
    for (frame, e) in &log {
        assert!(
            covered.contains(frame),
            "{relative}: event {e:?} from frame {frame}, which tshark does not decode as s7comm"
        );
    }
    // Identity facts: each fact tshark calls for is reported by its frame; each reported fact
    // is called for (the connection request's rack/slot aside).
    let mut tsaps = BTreeSet::new();
    for (frame, v) in
        common::tshark_fields(&path, "cotp.type == 0x0e", &["ip.dst", "cotp.dst-tsap"])
    {
        if let Some(ts) = v[1]
            .strip_prefix("0x")
            .and_then(|t| u16::from_str_radix(t, 16).ok())
        {
            let rs = ts & 0xff;
            // Reported when the first data unit decides the protocol (the CR is replayed then).
            let Some(frame) = rows.iter().map(|(f, _)| *f).find(|f| *f > frame) else {
                continue;
            };
            fact_frames.entry(frame).or_default().insert((
                ip(&v[0]),
                Attribute::ProtocolAddress,
                format!("s7:rack:{}:slot:{}", rs >> 5, rs & 0x1f),
            ));
            tsaps.insert(frame);
        }
    }
    let mut seen = BTreeSet::new();
    for (frame, want) in &fact_frames {
        let reported: BTreeSet<(DeviceKey, Attribute, String)> = facts
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, f)| (f.subject, f.attribute, f.value.to_string()))
            .collect();
        for f in &reported {
            assert!(
                want.contains(f),
                "{relative} frame {frame}: unexpected fact {f:?}; wants {want:?}"
            );
        }
        seen.extend(reported);
        for f in want {
            assert!(
                seen.contains(f),
                "{relative} frame {frame}: missing fact {f:?}"
            );
            tally.facts += 1;
        }
    }
    for (frame, f) in &facts {
        assert!(
            fact_frames.contains_key(frame),
            "{relative}: fact {f:?} from frame {frame} unexplained"
        );
    }
    Some(tally)
}

/// The block a tshark row names (`DB1`).
fn block(row: &Row<'_>) -> String {
    let kind = match row.get("s7comm.data.blockcontrol.block_type") {
        "08" => "OB",
        "0A" => "DB",
        "0B" => "SDB",
        "0C" => "FC",
        "0D" => "SFC",
        "0E" => "FB",
        "0F" => "SFB",
        other => panic!("block type {other:?}"),
    };
    let number: u32 = row
        .get("s7comm.data.blockcontrol.block_number")
        .parse()
        .unwrap();
    format!("{kind}{number}")
}

/// The identity facts an SZL answer calls for.
fn expected_facts(
    row: &Row<'_>,
    plc: DeviceKey,
    model_named: &mut bool,
    out: &mut BTreeSet<(DeviceKey, Attribute, String)>,
) {
    let mut add = |a, v: &str| {
        if !v.trim().is_empty() {
            out.insert((plc, a, v.trim().to_owned()));
        }
    };
    let index = row.list("s7comm.szl.xy11.0001.index");
    let (mlfb, ausbg, ausbe) = (
        row.list("s7comm.szl.xy11.0001.anz"),
        row.list("s7comm.szl.xy11.0001.ausbg"),
        row.list("s7comm.szl.xy11.0001.ausbe"),
    );
    let has_hw = index.iter().any(|i| parse_num(i) == Some(6));
    for (i, x) in index.iter().enumerate() {
        let g: u32 = ausbg[i].parse().unwrap();
        let e: u32 = ausbe[i].parse().unwrap();
        match parse_num(x).unwrap() {
            1 => {
                add(Attribute::Vendor, "Siemens");
                add(Attribute::ProductCode, mlfb[i]);
                if !*model_named {
                    let m = ironward_proto::s7comm::mlfb_model(mlfb[i].trim()).unwrap_or(mlfb[i]);
                    add(Attribute::Model, m);
                }
                if !has_hw {
                    add(Attribute::Hardware, &g.to_string());
                }
            }
            6 => add(Attribute::Hardware, &g.to_string()),
            7 if g >> 8 == u32::from(b'V') => {
                add(
                    Attribute::Firmware,
                    &format!("V{}.{}.{}", g & 0xff, e >> 8, e & 0xff),
                );
            }
            _ => {}
        }
    }
    let name = row.get("s7comm.szl.001c.0001.name");
    add(Attribute::Hostname, name);
    add(Attribute::Serial, row.get("s7comm.szl.001c.0005.serialn"));
    let type_name = row.get("s7comm.szl.001c.0007.cputypname");
    if !type_name.trim().is_empty() {
        *model_named = true;
        add(Attribute::Vendor, "Siemens");
        add(Attribute::Model, type_name);
    }
    match row.num("s7comm.szl.0424.0000.bzu_id.req") {
        Some(8) => add(Attribute::State, "run"),
        Some(4) => add(Attribute::State, "stop"),
        _ => {}
    }
}

#[test]
fn s7comm_operations_and_identity_match_tshark() {
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for relative in S7_CAPTURES {
        let Some(t) = compare_s7(relative) else {
            continue;
        };
        eprintln!(
            "{relative}: {} frames compared ({} after a capture gap, {} operations undecoded there, \
             {} decoded there that tshark does not), {} facts",
            t.frames, t.after_gap_frames, t.after_gap_missing, t.after_gap_extra, t.facts
        );
        for (op, (want, got)) in &t.ops {
            eprintln!("    {op}: tshark {want}, ironward {got}");
            let total = totals.entry(op.clone()).or_default();
            total.0 += want;
            total.1 += got;
        }
        let missing: u64 = t.ops.values().map(|(w, g)| w.saturating_sub(*g)).sum();
        let extra: u64 = t.ops.values().map(|(w, g)| g.saturating_sub(*w)).sum();
        assert!(
            missing as usize <= t.after_gap_missing && extra as usize <= t.after_gap_extra,
            "{relative}: counts differ beyond the gaps ({missing} missing, {extra} extra)"
        );
    }
    eprintln!("totals: {totals:?}");
}

/// Version, (opcode, function, session) when the frame starts a PDU, and whether it ends one.
type PlusHeader = (u8, Option<(u8, u16, u32)>, bool);

/// The S7comm-plus oracle: (version, opcode, function, session) of a PDU's first frame, and
/// whether the frame ends its PDU.
fn plus_header(bytes: &[u8]) -> Option<PlusHeader> {
    if bytes.first() != Some(&0x72) || bytes.len() < 4 {
        return None;
    }
    let version = bytes[1];
    if version == 0xff {
        return Some((version, None, true));
    }
    let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    let trailer = bytes.len() >= 4 + len + 4 && bytes[4 + len] == 0x72;
    let mut data = &bytes[4..(4 + len).min(bytes.len())];
    if version == 3 {
        let skip = 1 + usize::from(*data.first()?);
        data = data.get(skip..)?;
    }
    if !(1..=3).contains(&version) || data.len() < 14 || data[0] == 0x33 {
        return Some((version, data.first().map(|&o| (o, 0, 0)), trailer));
    }
    let function = u16::from_be_bytes([data[3], data[4]]);
    let session = u32::from_be_bytes([data[9], data[10], data[11], data[12]]);
    Some((version, Some((data[0], function, session)), trailer))
}

fn plus_op(function: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match function {
        0x04bb => ("explore", Diagnostics),
        0x04ca => ("create_object", Other),
        0x04d4 => ("delete_object", Other),
        0x04f2 => ("set_variable", Write),
        0x0542 => ("set_multi_variables", Write),
        0x054c => ("get_multi_variables", Read),
        0x0586 => ("get_var_sub_streamed", Read),
        other => panic!("function 0x{other:04x} not in this test's table"),
    }
}

#[test]
fn s7comm_plus_frames_match_tshark_cotp() {
    for relative in PLUS_CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            continue;
        };
        let analysis = common::logged_analysis(&path);
        let log: Vec<&(u64, Event)> = analysis
            .event_log
            .iter()
            .filter(|(_, e)| e.protocol == "s7comm_plus")
            .collect();
        let gaps = after_gap(&path);
        let rows = common::tshark_fields(
            &path,
            "cotp.type == 0x0f && data.data",
            &["ip.src", "tcp.stream", "tcp.srcport", "data.data"],
        );
        let mut continuing: HashMap<(String, String), bool> = HashMap::new();
        let (mut frames, mut pdus, mut undecoded) = (0, BTreeMap::<&str, (u64, u64)>::new(), 0);
        let mut version = None;
        let mut covered = BTreeSet::new();
        for (frame, v) in &rows {
            let bytes = unhex(&v[3]);
            let Some((ver, header, trailer)) = plus_header(&bytes) else {
                continue;
            };
            frames += 1;
            covered.insert(*frame);
            let key = (v[1].clone(), v[2].clone());
            let first = !continuing.get(&key).copied().unwrap_or(false);
            continuing.insert(key.clone(), !trailer);
            let got: Vec<&Event> = log
                .iter()
                .filter(|(f, _)| f == frame)
                .map(|(_, e)| e)
                .collect();
            match header {
                Some((0x31, function, session)) if first && (1..=3).contains(&ver) => {
                    let (name, cat) = plus_op(function);
                    let detail = if function == 0x04ca && session == 0x120 {
                        format!("session setup, v{ver}")
                    } else {
                        format!("session 0x{session:x}")
                    };
                    let entry = pdus.entry(name).or_default();
                    entry.0 += 1;
                    let ok = got
                        .iter()
                        .any(|e| e.operation == name && e.category == cat && e.detail == detail);
                    entry.1 += u64::from(ok);
                    let gap = gaps.get(&key).is_some_and(|g| frame >= g);
                    if !ok {
                        assert!(
                            gap,
                            "{relative} frame {frame}: missing {name} {detail}; got {got:?}"
                        );
                        undecoded += 1;
                    }
                    assert!(got.len() <= 1, "{relative} frame {frame}: {got:?}");
                }
                Some((0x32 | 0x33, _, _)) => {
                    version.get_or_insert((ver, v[0].clone()));
                    assert!(got.is_empty(), "{relative} frame {frame}: {got:?}");
                }
                _ => assert!(got.is_empty(), "{relative} frame {frame}: {got:?}"),
            }
        }
        for (frame, e) in &log {
            assert!(
                covered.contains(frame),
                "{relative}: {e:?} from frame {frame}"
            );
        }
        let (ver, server) = version.expect("a response");
        let service = format!("s7comm_plus v{ver}");
        assert!(
            analysis
                .facts
                .iter()
                .any(|(_, f)| f.source == Source::S7commPlus
                    && f.attribute == Attribute::Service
                    && f.value == service
                    && f.subject == ip(&server)),
            "{relative}: no {service} fact for {server}"
        );
        eprintln!("{relative}: {frames} S7comm-plus frames, {undecoded} requests undecoded after a gap, requests per function (tshark oracle, ironward): {pdus:?}");
    }
    // The 1511 announces itself in clear text in its CreateObject answer.
    if let Some(path) = common::shared_capture(PLUS_CAPTURES[0]) {
        let facts = common::fact_log(&path);
        let rows = common::tshark_fields(
            &path,
            "cotp.type == 0x0f && data.data",
            &["ip.src", "data.data"],
        );
        let text = rows
            .iter()
            .map(|(_, v)| {
                (
                    v[0].clone(),
                    String::from_utf8_lossy(&unhex(&v[1])).into_owned(),
                )
            })
            .find(|(_, t)| t.contains(";6ES7 "))
            .expect("server session version");
        let version = text.1.split(";6ES7 ").nth(1).unwrap();
        let order = format!("6ES7 {}", &version[..14]);
        let firmware = &version[15..19];
        for (attribute, value) in [
            (Attribute::ProductCode, order.as_str()),
            (Attribute::Firmware, firmware),
        ] {
            assert!(
                facts.iter().any(|(_, f)| f.attribute == attribute
                    && f.value == value
                    && f.subject == ip(&text.0)),
                "{attribute:?} {value}"
            );
        }
    }
}
