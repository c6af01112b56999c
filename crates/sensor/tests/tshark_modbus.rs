#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Modbus/TCP (and UMAS in function 90) against `tshark`, frame by frame, over every capture in
//! `pcaps/modbus/`.
//!
//! From tshark's `mbtcp`/`modbus` fields of each frame (one entry per ADU, several ADUs per
//! frame included) this test computes what Ironward must report in that same frame:
//! * every query (an ADU sent to port 502) → one event whose operation is the function's
//!   (Diagnostics: the sub-function's, `modbus.diagnostic_code`; function 43: MEI 14 →
//!   `read_device_identification`; function 90: the UMAS function, the second byte of
//!   `modbus.data`) and whose detail names `mbtcp.unit_id` and the request's fields:
//!   `modbus.reference_num` with `modbus.bit_cnt`/`modbus.word_cnt` as `start-end (n)`
//!   (functions 1–4, 15, 16), the address of single writes (5, 6) and mask writes (22), the
//!   read and write ranges of function 23, the FIFO address (24), `modbus.read_device_id` and
//!   `modbus.object_id` (43/14);
//! * every exception response (`modbus.exception_code`) → an `exception` event with the unit
//!   and the code;
//! * Read Device Identification answers: `modbus.object_id` / `modbus.object_str_value` →
//!   Vendor (0), ProductCode (1), Firmware (2), Url (3), Model (4 without 5, and 5), Hostname
//!   (6) facts of the server, reported in that frame or earlier (facts are de-duplicated);
//! * per capture, the number of query ADUs per function code equals the number of request
//!   events per function code, and the number of exception ADUs the number of `exception`
//!   events.
//!
//! Deliberate differences, checked explicitly:
//! * A response whose request is not in the capture (iti_ModbusTCP starts mid-conversation)
//!   is still an operation for Ironward: it reports the request's event from what the answer
//!   tells, with `response only` in the detail. tshark decodes those responses without
//!   linking them to a request (`modbus.request_frame` absent); the test checks that every
//!   such event comes from a response tshark did not link, and counts them.
//! * tshark 4.0 has no UMAS dissector: function 90 is compared through `modbus.data` (UMAS
//!   function code of each query), and the upload's SHA-256 in ndpi_umas is recomputed here
//!   from the upload-block answers' bytes as tshark shows them (`sha256sum`), and their total
//!   length checked against the size the controller announced in its initialize-upload
//!   answer.
//! * zeek_modbus-and-non-modbus-p502: DCE-RPC, NFS, TLS, HTTP, RDP and scanner probes sent to
//!   port 502, answered by a device that echoes four bytes into an MBAP-like header with a
//!   non-zero protocol id. tshark decodes none of them as Modbus; Ironward neither reports a
//!   Modbus event nor a Modbus fact for those hosts.
//! * digitalbond (and its copy suricata_modbus): a connection opened *from* port 502 carries
//!   exception answers without requests; both tools take the port-502 side as the server. One
//!   stream there has an MBAP length of 34820 — tshark waits for the bytes forever and Ironward
//!   stops reading the direction; neither reports anything from it. An ADU followed by three
//!   stray bytes ends that direction for both.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use ironward_model::{Attribute, Event, Source};

const CAPTURES: [&str; 8] = [
    "digitalbond_modbus_test_data_part1.pcap",
    "icsnpp_modbus_example.pcap",
    "iti_ModbusTCP.pcap",
    "iti_modbus_test.pcap",
    "ndpi_umas.pcap",
    "suricata_modbus.pcap",
    "zeek_modbus-and-non-modbus-p502.pcap",
    "zeek_modbusSmall.pcap",
];

const FIELDS: [&str; 22] = [
    "mbtcp.len",
    "tcp.dstport",
    "udp.dstport",
    "mbtcp.trans_id",
    "mbtcp.unit_id",
    "modbus.func_code",
    "modbus.reference_num",
    "modbus.bit_cnt",
    "modbus.word_cnt",
    "modbus.exception_code",
    "modbus.diagnostic_code",
    "modbus.read_reference_num",
    "modbus.read_word_cnt",
    "modbus.write_reference_num",
    "modbus.write_word_cnt",
    "modbus.mei",
    "modbus.read_device_id",
    "modbus.object_id",
    "modbus.object_str_value",
    "modbus.data",
    "modbus.request_frame",
    "ip.src",
];

/// One field's values in a frame, consumed ADU by ADU.
struct Column<'a> {
    values: Vec<&'a str>,
    next: usize,
}

impl<'a> Column<'a> {
    fn new(raw: &'a str) -> Self {
        Self {
            values: raw.split(',').filter(|v| !v.is_empty()).collect(),
            next: 0,
        }
    }

    fn take(&mut self) -> &'a str {
        let v =
            self.values.get(self.next).copied().unwrap_or_else(|| {
                panic!("tshark column shorter than its ADUs: {:?}", self.values)
            });
        self.next += 1;
        v
    }

    fn num(&mut self) -> u32 {
        let v = self.take();
        v.strip_prefix("0x").map_or_else(
            || v.parse().unwrap(),
            |hex| u32::from_str_radix(hex, 16).unwrap(),
        )
    }

    fn done(&self) -> bool {
        self.next == self.values.len()
    }
}

/// The value of field `name` in a row of [`FIELDS`].
fn get<'a>(values: &'a [String], name: &str) -> &'a str {
    values[FIELDS.iter().position(|f| *f == name).unwrap()].as_str()
}

/// What one query ADU calls for: function code, unit, and a piece its event's detail must
/// contain; or one exception ADU: unit and code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Query {
        function: u8,
        operation: String,
        unit: u32,
        detail: String,
    },
    Exception {
        unit: u32,
        code: u32,
    },
}

/// The function code of one of Ironward's request operations.
fn function_of(operation: &str) -> u8 {
    use ironward_proto::modbus;
    if operation.starts_with("umas") {
        return 90;
    }
    if operation == "read_device_identification" || operation == "can_open_general_reference" {
        return 43;
    }
    (0u8..=127)
        .find(|&f| modbus::function_name(f) == operation)
        .or_else(|| {
            (0u16..=30)
                .any(|s| modbus::diagnostic_name(s) == operation)
                .then_some(8)
        })
        .unwrap_or(0)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    let hex: String = hex.chars().filter(|c| *c != ':').collect();
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[derive(Default, Debug)]
struct Tally {
    frames: usize,
    queries: usize,
    exceptions: usize,
    values: usize,
    identity: usize,
    orphans: usize,
    per_function_tshark: BTreeMap<u8, usize>,
    per_function_ours: BTreeMap<u8, usize>,
}

/// Compares one capture; returns its tally.
fn compare(name: &str) -> Option<Tally> {
    let path = common::shared_capture(&format!("modbus/{name}"))?;
    let analysis = common::logged_analysis(&path);
    let events: Vec<(u64, &Event)> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "modbus")
        // Broken ADUs are checked by detect_protocol_violations.rs, not against tshark.
        .filter(|(_, e)| !common::is_spec_report(e))
        .map(|(f, e)| (*f, e))
        .collect();
    let rows = common::tshark_fields(&path, "mbtcp", &FIELDS);
    assert!(!rows.is_empty(), "{name}: tshark shows no Modbus");
    let mut tally = Tally::default();
    let mut unlinked_responses = BTreeSet::new();
    for (frame, values) in &rows {
        tally.frames += 1;
        let field = |n: &str| get(values, n);
        let query = field("tcp.dstport") == "502" || field("udp.dstport") == "502";
        let mut units = Column::new(field("mbtcp.unit_id"));
        let mut lengths = Column::new(field("mbtcp.len"));
        let mut functions = Column::new(field("modbus.func_code"));
        let mut refs = Column::new(field("modbus.reference_num"));
        let mut bits = Column::new(field("modbus.bit_cnt"));
        let mut words = Column::new(field("modbus.word_cnt"));
        let mut exceptions = Column::new(field("modbus.exception_code"));
        let mut diags = Column::new(field("modbus.diagnostic_code"));
        let mut data = Column::new(field("modbus.data"));
        let mut expected = Vec::new();
        while !functions.done() {
            let function = functions.num() as u8;
            let unit = units.num();
            let length = lengths.num();
            if !query {
                // tshark shows an exception's function code without the exception bit.
                // Every ADU an exception, or (mixed frames) the 3-byte ones.
                let all = exceptions.values.len() == functions.values.len();
                if all || (length == 3 && exceptions.next < exceptions.values.len()) {
                    let code = exceptions.num();
                    expected.push(Expect::Exception { unit, code });
                } else if field("modbus.request_frame").is_empty() {
                    unlinked_responses.insert(*frame);
                }
                continue;
            }
            let mut operation = ironward_proto::modbus::function_name(function).to_owned();
            let detail = match function {
                1..=4 | 15 | 16 => {
                    let start = refs.num();
                    let n = if matches!(function, 1 | 2 | 15) {
                        bits.num()
                    } else {
                        words.num()
                    };
                    format!("{start}-{} ({n})", start + n - 1)
                }
                5 => format!(", coil {} = ", refs.num()),
                6 => format!(", holding register {} = ", refs.num()),
                22 => format!(", holding register {}, and", refs.num()),
                24 => format!(", fifo {}", refs.num()),
                8 => {
                    let sub = diags.num();
                    operation = ironward_proto::modbus::diagnostic_name(sub as u16).to_owned();
                    format!(", sub-function {sub}")
                }
                23 => {
                    let r = field("modbus.read_reference_num").parse::<u32>().unwrap();
                    let rn = field("modbus.read_word_cnt").parse::<u32>().unwrap();
                    let w = field("modbus.write_reference_num").parse::<u32>().unwrap();
                    let wn = field("modbus.write_word_cnt").parse::<u32>().unwrap();
                    format!(
                        "read holding registers {r}-{} ({rn}), write holding registers {w}-{} ({wn})",
                        r + rn - 1,
                        w + wn - 1
                    )
                }
                43 => {
                    operation = "read_device_identification".to_owned();
                    format!(
                        "({}), object {}",
                        field("modbus.read_device_id"),
                        field("modbus.object_id")
                    )
                }
                90 => {
                    let bytes = hex_bytes(data.take());
                    operation = ironward_proto::modbus::umas::function_name(bytes[1]).to_owned();
                    String::new()
                }
                _ => String::new(),
            };
            if !detail.is_empty() {
                tally.values += 1;
            }
            *tally.per_function_tshark.entry(function).or_default() += 1;
            expected.push(Expect::Query {
                function,
                operation,
                unit,
                detail,
            });
        }
        assert!(
            exceptions.done(),
            "{name} frame {frame}: exception codes left over"
        );
        // What Ironward reported in this frame.
        let mut ours: Vec<&Event> = events
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| *e)
            .collect();
        for want in &expected {
            let position = ours.iter().position(|e| match want {
                Expect::Query {
                    operation,
                    unit,
                    detail,
                    ..
                } => {
                    e.operation == *operation
                        && e.detail.starts_with(&format!("unit {unit}"))
                        && e.detail.contains(detail.as_str())
                        && !e.detail.contains("response only")
                }
                Expect::Exception { unit, code } => {
                    e.operation == "exception"
                        && e.detail.starts_with(&format!("unit {unit}, "))
                        && e.detail.ends_with(&format!(" ({code})"))
                }
            });
            let Some(position) = position else {
                panic!(
                    "{name} frame {frame}: tshark calls for {want:?}, Ironward reported {ours:#?}"
                );
            };
            ours.remove(position);
            match want {
                Expect::Query { .. } => tally.queries += 1,
                Expect::Exception { .. } => tally.exceptions += 1,
            }
        }
        // Anything left must be an event for a response tshark did not link to a request.
        for e in ours {
            assert!(
                e.detail.ends_with("response only") && unlinked_responses.contains(frame),
                "{name} frame {frame}: Ironward reported {e:?}, tshark calls for no such thing"
            );
            tally.orphans += 1;
        }
        tally.identity += identity(name, &analysis.facts, *frame, values);
    }
    // Frames Ironward reported Modbus events in are frames tshark decodes as Modbus.
    let decoded: BTreeSet<u64> = rows.iter().map(|(f, _)| *f).collect();
    for (frame, e) in &events {
        assert!(
            decoded.contains(frame),
            "{name} frame {frame}: {e:?} where tshark sees no Modbus"
        );
        if e.operation != "exception" && !e.detail.ends_with("response only") {
            *tally
                .per_function_ours
                .entry(function_of(&e.operation))
                .or_default() += 1;
        }
    }
    assert_eq!(
        tally.per_function_ours, tally.per_function_tshark,
        "{name}: operations per function code"
    );
    let exception_events = events
        .iter()
        .filter(|(_, e)| e.operation == "exception")
        .count();
    assert_eq!(exception_events, tally.exceptions, "{name}: exceptions");
    Some(tally)
}

/// Checks the Read Device Identification facts a frame calls for; returns how many.
fn identity(
    name: &str,
    facts: &[(u64, ironward_model::Fact)],
    frame: u64,
    values: &[String],
) -> usize {
    let field = |n: &str| get(values, n);
    let strings = field("modbus.object_str_value");
    if strings.is_empty() {
        return 0;
    }
    let ids: Vec<u8> = field("modbus.object_id")
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let values: Vec<&str> = strings.split(',').collect();
    assert_eq!(
        ids.len(),
        values.len(),
        "{name} frame {frame}: one value per object"
    );
    let server: IpAddr = field("ip.src").parse().unwrap();
    let has_model_name = ids.contains(&5);
    for (id, value) in ids.iter().zip(&values) {
        let attribute = match id {
            0 => Attribute::Vendor,
            1 => Attribute::ProductCode,
            2 => Attribute::Firmware,
            3 => Attribute::Url,
            4 if has_model_name => Attribute::Description,
            4 | 5 => Attribute::Model,
            6 => Attribute::Hostname,
            _ => continue,
        };
        assert!(
            facts.iter().any(|(f, fact)| *f <= frame
                && fact.source == Source::Modbus
                && fact.subject == ironward_model::DeviceKey::Ip(server)
                && fact.attribute == attribute
                && &*fact.value == *value),
            "{name} frame {frame}: no {attribute:?} {value:?} fact for {server}"
        );
    }
    ids.len()
}

#[test]
fn modbus_matches_tshark_frame_by_frame() {
    let mut total = Tally::default();
    for name in CAPTURES {
        let Some(tally) = compare(name) else {
            return;
        };
        println!(
            "{name}: {} frames, {} queries ({} with addresses/quantities), {} exceptions, {} \
             identity objects, {} responses without request; per function {:?}",
            tally.frames,
            tally.queries,
            tally.values,
            tally.exceptions,
            tally.identity,
            tally.orphans,
            tally.per_function_tshark
        );
        total.frames += tally.frames;
        total.queries += tally.queries;
        total.values += tally.values;
        total.exceptions += tally.exceptions;
        total.identity += tally.identity;
        total.orphans += tally.orphans;
    }
    println!("total: {total:?}");
    // 14 494 Modbus frames: 9 304 queries (9 206 with addresses, quantities or sub-codes),
    // 24 exceptions, 3 identity objects, 5 answers without their request.
    assert!(total.queries >= 9_300, "{total:?}");
    assert!(total.exceptions >= 24 && total.identity >= 3, "{total:?}");
}

/// Identity and state facts tshark only shows as raw bytes (`modbus.data`): Report Server ID
/// and UMAS Read ID.
#[test]
fn server_id_and_umas_identity() {
    let Some(path) = common::shared_capture("modbus/digitalbond_modbus_test_data_part1.pcap")
    else {
        return;
    };
    // Report Server ID: byte count, server id 0x00, run indicator 0xFF, "Wingpath Limited".
    let rows = common::tshark_fields(
        &path,
        "modbus.func_code == 17 && tcp.srcport == 502",
        &["modbus.data"],
    );
    let data = hex_bytes(&rows[0].1[0]);
    assert_eq!(data[2], 0xff, "run indicator");
    let text = String::from_utf8(data[3..].to_vec()).unwrap();
    let facts = common::fact_log(&path);
    let has = |attribute: Attribute, value: &str| {
        facts.iter().any(|(_, f)| {
            f.source == Source::Modbus && f.attribute == attribute && &*f.value == value
        })
    };
    assert!(has(Attribute::State, "run"));
    assert!(has(Attribute::Description, &text));
    assert!(has(Attribute::Service, "modbus"));
    assert!(has(Attribute::ProtocolAddress, "modbus:unit:10"));

    let Some(path) = common::shared_capture("modbus/icsnpp_modbus_example.pcap") else {
        return;
    };
    // pymodbus puts its identity first and the run indicator last.
    let rows = common::tshark_fields(
        &path,
        "modbus.func_code == 17 && tcp.srcport == 502",
        &["modbus.data"],
    );
    let data = hex_bytes(&rows[0].1[0]);
    assert_eq!(data.last(), Some(&0xff));
    let text = String::from_utf8(data[1..data.len() - 1].to_vec()).unwrap();
    let facts = common::fact_log(&path);
    assert!(facts
        .iter()
        .any(|(_, f)| f.attribute == Attribute::Description && *f.value == text));
    assert!(facts
        .iter()
        .any(|(_, f)| f.attribute == Attribute::State && &*f.value == "run"));

    let Some(path) = common::shared_capture("modbus/ndpi_umas.pcap") else {
        return;
    };
    // UMAS Read ID: the CPU module's name, length-prefixed, 22 bytes into the answer's data.
    let rows = common::tshark_fields(
        &path,
        "tcp.srcport == 502 && modbus.func_code == 90",
        &["modbus.data"],
    );
    let data = hex_bytes(&rows[0].1[0]);
    let len = usize::from(data[2 + 22]);
    let model = String::from_utf8(data[2 + 23..2 + 23 + len].to_vec()).unwrap();
    assert_eq!(model, "140 CPU 311 10");
    let facts = common::fact_log(&path);
    assert!(facts
        .iter()
        .any(|(_, f)| f.attribute == Attribute::Model && *f.value == model));
}

/// The UMAS program upload in ndpi_umas: its hash, recomputed from tshark's bytes.
#[test]
fn umas_upload_hash() {
    let Some(path) = common::shared_capture("modbus/ndpi_umas.pcap") else {
        return;
    };
    let rows = common::tshark_fields(
        &path,
        "modbus.func_code == 90",
        &["tcp.dstport", "modbus.data"],
    );
    let mut payload = Vec::new();
    let mut announced = None;
    let mut last_query = 0u8;
    for (_, values) in &rows {
        let data = hex_bytes(&values[1]);
        if values[0] == "502" {
            last_query = data[1];
            continue;
        }
        assert_eq!(data[1], 0xfe, "UMAS answer status");
        match last_query {
            // Initialize upload: the size of what follows, little-endian, after two bytes.
            0x33 => announced = Some(usize::from(u16::from_le_bytes([data[4], data[5]]))),
            0x34 => {
                let len = usize::from(u16::from_le_bytes([data[4], data[5]]));
                payload.extend_from_slice(&data[6..6 + len]);
            }
            _ => {}
        }
    }
    assert_eq!(
        Some(payload.len()),
        announced,
        "blocks add up to the announced size"
    );
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child.stdin.take().unwrap().write_all(&payload).unwrap();
    let output = child.wait_with_output().unwrap();
    let hash = String::from_utf8(output.stdout).unwrap();
    let hash = hash.split_whitespace().next().unwrap().to_owned();
    let analysis = common::logged_analysis(&path);
    let end = analysis
        .report
        .events
        .iter()
        .find(|e| e.operation == "umas_end_upload")
        .expect("an end-upload event");
    assert_eq!(end.category, ironward_model::EventCategory::ProgramUpload);
    assert_eq!(end.content_hash.as_deref(), Some(hash.as_str()));
    assert!(
        end.detail.contains(&format!("{} bytes", payload.len())),
        "{}",
        end.detail
    );
}

/// Port 502 probes that are not Modbus give no Modbus fact or event.
#[test]
fn non_modbus_on_port_502() {
    let Some(path) = common::shared_capture("modbus/zeek_modbus-and-non-modbus-p502.pcap") else {
        return;
    };
    let analysis = common::logged_analysis(&path);
    let modbus_hosts: BTreeSet<IpAddr> =
        common::tshark_fields(&path, "mbtcp", &["ip.src", "ip.dst"])
            .into_iter()
            .flat_map(|(_, v)| v.into_iter().map(|ip| ip.parse().unwrap()))
            .collect();
    for (_, fact) in &analysis.facts {
        if fact.source == Source::Modbus {
            let ironward_model::DeviceKey::Ip(ip) = fact.subject else {
                panic!("{fact:?}");
            };
            assert!(modbus_hosts.contains(&ip), "{fact:?}");
        }
    }
    for (_, e) in &analysis.event_log {
        if e.protocol == "modbus" {
            assert!(modbus_hosts.contains(&e.src.ip.unwrap()), "{e:?}");
        }
    }
    assert!(Path::new(&path).exists());
}
