//! Unit tests of the Modbus/TCP, Modbus/UDP and UMAS dissector on hand-built and captured
//! ADUs.

use super::*;
use crate::test_support::hex;
use ironward_model::{Event, Timestamp};
use sha2::{Digest, Sha256};

fn flow(transport: Transport, client_port: u16, server_port: u16) -> FlowMeta {
    FlowMeta {
        id: 1,
        transport,
        client: ([10, 0, 0, 57], client_port).into(),
        server: ([10, 0, 0, 3], server_port).into(),
        now: Timestamp(1),
        frame: 1,
    }
}

/// An ADU: MBAP header with the right length around `unit` and `pdu`.
fn adu(transaction: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = transaction.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

struct Run {
    facts: Vec<(Attribute, String)>,
    events: Vec<Event>,
}

impl Run {
    fn ops(&self) -> Vec<(EventCategory, String, String, u64)> {
        self.events
            .iter()
            .map(|e| {
                (
                    e.category,
                    e.operation.to_string(),
                    e.detail.clone(),
                    e.count,
                )
            })
            .collect()
    }

    fn has(&self, attribute: Attribute, value: &str) -> bool {
        self.facts
            .iter()
            .any(|(a, v)| *a == attribute && v == value)
    }
}

/// Feeds stream chunks to a dissector chosen by the factory for `f`.
fn run(f: &FlowMeta, chunks: &[(Direction, StreamChunk<'_>)]) -> Run {
    let first = chunks
        .iter()
        .find_map(|(d, c)| match c {
            StreamChunk::Data(b) => Some((*d, *b)),
            _ => None,
        })
        .unwrap();
    let mut d = ModbusFactory.select(f, first.0, first.1).expect("selected");
    let mut out = Observations::default();
    let mut facts = Vec::new();
    for (dir, chunk) in chunks {
        if f.transport == Transport::Udp {
            if let StreamChunk::Data(b) = chunk {
                d.on_datagram(f, *dir, b, &mut out);
            }
        } else {
            d.on_stream(f, *dir, *chunk, &mut out);
        }
        facts.extend(
            out.drain_facts()
                .map(|f| (f.attribute, f.value.to_string())),
        );
    }
    d.on_end(f, &mut out);
    Run {
        facts,
        events: out.drain_events().collect(),
    }
}

fn tcp(chunks: &[(Direction, &[u8])]) -> Run {
    let f = flow(Transport::Tcp, 2578, PORT);
    let chunks: Vec<_> = chunks
        .iter()
        .map(|(d, b)| (*d, StreamChunk::Data(b)))
        .collect();
    run(&f, &chunks)
}

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

#[test]
fn mbap_header_checks() {
    let ok = adu(7, 1, &[3, 0, 0, 0, 10]);
    let (h, pdu) = split_adu(&ok).unwrap();
    assert_eq!((h.transaction, h.protocol, h.length, h.unit), (7, 0, 6, 1));
    assert_eq!(pdu, &[3, 0, 0, 0, 10]);
    assert_eq!(
        Mbap::parse(&hex("0001 0b03 0003 00")),
        Err(ModbusError::BadProtocolId(0x0b03))
    );
    assert_eq!(
        Mbap::parse(&hex("0001 0000 8804 00")),
        Err(ModbusError::BadLength(0x8804))
    );
    assert_eq!(
        Mbap::parse(&hex("0001 0000 0001 00")),
        Err(ModbusError::BadLength(1))
    );
    assert!(matches!(
        Mbap::parse(&hex("0001 0000 00")),
        Err(ModbusError::Truncated { .. })
    ));
    assert!(matches!(
        split_adu(&ok[..10]),
        Err(ModbusError::Truncated { .. })
    ));
    let e = ModbusError::BadLength(9).to_string();
    assert!(e.contains("length 9"), "{e}");
}

#[test]
fn content_check_is_strict() {
    assert!(looks_like_mbap(&adu(1, 1, &[3, 0, 0, 0, 10])));
    // Two ADUs, and one ADU followed by the start of the next.
    let mut two = adu(1, 1, &[3, 0, 0, 0, 10]);
    two.extend(adu(2, 1, &[4, 0, 0, 0, 1]));
    assert!(looks_like_mbap(&two));
    assert!(looks_like_mbap(&two[..15]));
    // Unknown function, trailing garbage, HTTP, TPKT, short.
    assert!(!looks_like_mbap(&adu(1, 1, &[0x42, 0, 0])));
    let mut junk = adu(1, 1, &[3, 0, 0, 0, 10]);
    junk.extend_from_slice(b"GET / HTTP/1.1");
    assert!(!looks_like_mbap(&junk));
    assert!(!looks_like_mbap(b"GET / HTTP/1.1\r\n\r\n"));
    assert!(!looks_like_mbap(&hex("0300002b26e00000000000")));
    assert!(!looks_like_mbap(&hex("000100000006")));
}

#[test]
fn factory_takes_port_502_either_way_and_content_elsewhere() {
    let req = adu(1, 1, &[3, 0, 0, 0, 10]);
    for (t, c, s) in [
        (Transport::Tcp, 40000, 502),
        (Transport::Tcp, 502, 40000),
        (Transport::Udp, 40000, 502),
        (Transport::Tcp, 40000, 5020),
    ] {
        assert!(ModbusFactory.select(&flow(t, c, s), C2S, &req).is_some());
    }
    assert!(ModbusFactory
        .select(
            &flow(Transport::Tcp, 40000, 8080),
            C2S,
            b"GET / HTTP/1.1\r\n"
        )
        .is_none());
    assert!(ModbusFactory
        .select(&flow(Transport::Udp, 40000, 5020), C2S, &req)
        .is_none());
}

#[test]
fn every_read_and_write_family() {
    let requests = [
        adu(1, 4, &hex("01 0001 0001")),
        adu(2, 5, &hex("02 0001 0008")),
        adu(3, 1, &hex("03 0000 000a")),
        adu(4, 1, &hex("04 0064 0002")),
        adu(5, 6, &hex("05 0001 ff00")),
        adu(6, 7, &hex("06 0001 abcd")),
        adu(7, 7, &hex("0f 0001 0004 01 09")),
        adu(8, 7, &hex("10 0001 0004 08 00aa 00bb 00cc 00dd")),
        adu(9, 4, &hex("16 000a dead 0000")),
        adu(10, 6, &hex("17 0001 0004 0002 0003 06 00aa 00bb 00cc")),
        adu(11, 10, &hex("18 0000")),
        adu(12, 8, &hex("14 0e 06 0004 0001 0002 06 0003 0009 0001")),
        adu(13, 8, &hex("15 0d 06 0004 0007 0003 06af 04be 100d")),
        adu(14, 2, &hex("07")),
        adu(15, 2, &hex("0b")),
        adu(16, 2, &hex("0c")),
        adu(17, 2, &hex("11")),
        adu(18, 2, &hex("2b 0e 01 00")),
        adu(19, 2, &hex("2b 0d 00")),
        adu(20, 2, &hex("41 0102")),
        adu(
            21,
            2,
            &hex("10 0000 000a 14 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"),
        ),
    ];
    // All in one segment.
    let stream: Vec<u8> = requests.concat();
    let r = tcp(&[(C2S, &stream)]);
    let got: Vec<(EventCategory, &str, &str)> = r
        .events
        .iter()
        .map(|e| (e.category, &*e.operation, e.detail.as_str()))
        .collect();
    use EventCategory::*;
    assert_eq!(
        got,
        vec![
            (Read, "read_coils", "unit 4, coils 1-1 (1)"),
            (Read, "read_discrete_inputs", "unit 5, discrete inputs 1-8 (8)"),
            (Read, "read_holding_registers", "unit 1, holding registers 0-9 (10)"),
            (Read, "read_input_registers", "unit 1, input registers 100-101 (2)"),
            (Write, "write_single_coil", "unit 6, coil 1 = on"),
            (Write, "write_single_register", "unit 7, holding register 1 = 43981"),
            (Write, "write_multiple_coils", "unit 7, coils 1-4 (4) = 1,0,0,1"),
            (
                Write,
                "write_multiple_registers",
                "unit 7, holding registers 1-4 (4) = 170,187,204,221"
            ),
            (
                Write,
                "mask_write_register",
                "unit 4, holding register 10, and 0xdead, or 0x0000"
            ),
            (
                Write,
                "read_write_multiple_registers",
                "unit 6, read holding registers 1-4 (4), write holding registers 2-4 (3) = 170,187,204"
            ),
            (Read, "read_fifo_queue", "unit 10, fifo 0"),
            (Read, "read_file_record", "unit 8, file 4 registers 1-2 (2), +1 more"),
            (Write, "write_file_record", "unit 8, file 4 registers 7-9 (3)"),
            (Diagnostics, "read_exception_status", "unit 2"),
            (Diagnostics, "get_comm_event_counter", "unit 2"),
            (Diagnostics, "get_comm_event_log", "unit 2"),
            (Diagnostics, "report_server_id", "unit 2"),
            (Diagnostics, "read_device_identification", "unit 2, basic (1), object 0"),
            (Other, "can_open_general_reference", "unit 2"),
            (Other, "unknown_function", "unit 2, function 65"),
            (
                Write,
                "write_multiple_registers",
                "unit 2, holding registers 0-9 (10) = 1,2,3,4,5,6,7,8,…"
            ),
        ]
    );
    // Split byte by byte: the same events.
    let f = flow(Transport::Tcp, 2578, PORT);
    let chunks: Vec<_> = stream
        .chunks(1)
        .map(|b| (C2S, StreamChunk::Data(b)))
        .collect();
    let split = run(&f, &chunks);
    assert_eq!(split.ops(), r.ops());
}

#[test]
fn diagnostics_sub_functions_and_listen_only_mode() {
    let r = tcp(&[
        (C2S, &adu(0, 10, &hex("08 0004 0000"))),
        (S2C, &hex("0000 0000 0003 0a 88 0b")),
        (C2S, &adu(0, 10, &hex("08 0001 ff00"))),
        (S2C, &adu(0, 10, &hex("08 0001 ff00"))),
        (C2S, &adu(0, 10, &hex("08 000a 0000"))),
        (C2S, &adu(1, 10, &hex("08 0000 1234"))),
    ]);
    use EventCategory::*;
    assert_eq!(
        r.ops(),
        vec![
            (
                ModeChange,
                "force_listen_only_mode".into(),
                "unit 10, sub-function 4".into(),
                1
            ),
            (
                ModeChange,
                "exception".into(),
                "unit 10, force_listen_only_mode: gateway target device failed to respond (11)"
                    .into(),
                1
            ),
            (
                ModeChange,
                "restart_communications_option".into(),
                "unit 10, sub-function 1, clear event log".into(),
                1
            ),
            (
                Diagnostics,
                "clear_counters_and_diagnostic_register".into(),
                "unit 10, sub-function 10".into(),
                1
            ),
            (
                Diagnostics,
                "return_query_data".into(),
                "unit 10, sub-function 0".into(),
                1
            ),
        ]
    );
    assert!(r.has(Attribute::Service, "modbus"));
    assert!(r.has(Attribute::ProtocolAddress, "modbus:unit:10"));
}

#[test]
fn exceptions_with_and_without_request() {
    let r = tcp(&[
        (C2S, &adu(1, 0, &hex("03 0258 000a"))),
        (S2C, &adu(1, 0, &hex("83 02"))),
        // No request for these: the function code names the failed operation.
        (S2C, &adu(9, 10, &hex("81 06 00"))),
        (S2C, &adu(9, 10, &hex("90 04"))),
    ]);
    use EventCategory::*;
    assert_eq!(
        r.ops(),
        vec![
            (
                Read,
                "read_holding_registers".into(),
                "unit 0, holding registers 600-609 (10)".into(),
                1
            ),
            (
                Read,
                "exception".into(),
                "unit 0, read_holding_registers: illegal data address (2)".into(),
                1
            ),
            (
                Read,
                "exception".into(),
                "unit 10, read_coils: server device busy (6)".into(),
                1
            ),
            (
                Write,
                "exception".into(),
                "unit 10, write_multiple_registers: server device failure (4)".into(),
                1
            ),
        ]
    );
    assert_eq!(exception_name(0x0a), "gateway path unavailable");
    assert_eq!(exception_name(0x33), "unknown exception");
}

#[test]
fn responses_without_request_still_count() {
    let r = tcp(&[
        (S2C, &adu(31998, 255, &hex("04 04 0001 0002"))),
        (S2C, &adu(31999, 255, &hex("06 0004 09c4"))),
        (S2C, &adu(32000, 255, &hex("0f 0001 0004"))),
        (S2C, &adu(32001, 255, &hex("2a 0e 04 01"))),
    ]);
    let details: Vec<String> = r
        .events
        .iter()
        .map(|e| format!("{} {}", e.operation, e.detail))
        .collect();
    assert_eq!(
        details,
        vec![
            "read_input_registers unit 255, input registers, 4 bytes, response only",
            "write_single_register unit 255, holding register 4 = 2500, response only",
            "write_multiple_coils unit 255, coils 1-4 (4), response only",
            "unknown_function unit 255, function 42, response only",
        ]
    );
    // Requests are directed from the client.
    assert!(r
        .events
        .iter()
        .all(|e| e.src.ip == Some([10, 0, 0, 57].into())));
}

#[test]
fn repeats_aggregate_and_answers_do_not_add_events() {
    let answer = |t| {
        adu(
            t,
            1,
            &hex("03 14 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000"),
        )
    };
    let mut chunks = Vec::new();
    for t in 0..50u16 {
        chunks.push((C2S, adu(t, 1, &hex("03 0000 000a"))));
        chunks.push((S2C, answer(t)));
    }
    let chunks: Vec<(Direction, &[u8])> = chunks.iter().map(|(d, b)| (*d, &b[..])).collect();
    let r = tcp(&chunks);
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].count, 50);
    // Pipelined beyond the pending table: the oldest answers lose their request (and count as
    // answers without request); nothing grows.
    let mut requests = Vec::new();
    let mut answers = Vec::new();
    for t in 0..(MAX_PENDING as u16 + 4) {
        requests.extend(adu(t, 1, &hex("03 0000 000a")));
        answers.extend(answer(t));
    }
    let r = tcp(&[(C2S, &requests), (S2C, &answers)]);
    assert_eq!(r.events[0].count, MAX_PENDING as u64 + 4);
    assert_eq!(r.events[1].count, 4);
    assert!(r.events[1].detail.ends_with("response only"));
}

#[test]
fn device_identification_facts() {
    // icsnpp_modbus_example.pcap frame 94.
    let answer = hex("00170000003d012b0e018300000300105a65656b204d6f646275732054657374011850726f746f636f6c2050617273696e672069732066756e210207312e322e332e36");
    let r = tcp(&[(C2S, &hex("001700000005012b0e0100")), (S2C, &answer)]);
    assert!(r.has(Attribute::Vendor, "Zeek Modbus Test"));
    assert!(r.has(Attribute::ProductCode, "Protocol Parsing is fun!"));
    assert!(r.has(Attribute::Firmware, "1.2.3.6"));
    assert!(r.has(Attribute::ProtocolAddress, "modbus:unit:1"));
    // Regular objects: ModelName is the model, ProductName a description.
    let mut objects = hex("2b 0e 02 82 00 00 05");
    for (id, text) in [
        (0u8, "Schneider Electric"),
        (4, "Modicon M340"),
        (3, "http://www.schneider-electric.com"),
        (5, "BMX P34 2020"),
        (6, "PROJ1"),
    ] {
        objects.extend([id, text.len() as u8]);
        objects.extend(text.as_bytes());
    }
    let r = tcp(&[
        (C2S, &adu(3, 1, &hex("2b 0e 02 00"))),
        (S2C, &adu(3, 1, &objects)),
    ]);
    assert!(
        r.has(Attribute::Vendor, "Schneider Electric"),
        "{:?}",
        r.facts
    );
    assert!(
        r.has(Attribute::Description, "Modicon M340"),
        "{:?}",
        r.facts
    );
    assert!(
        r.has(Attribute::Url, "http://www.schneider-electric.com"),
        "{:?}",
        r.facts
    );
    assert!(r.has(Attribute::Model, "BMX P34 2020"), "{:?}", r.facts);
    assert!(r.has(Attribute::Hostname, "PROJ1"), "{:?}", r.facts);
    // ProductName alone is the model.
    let r = tcp(&[
        (C2S, &adu(4, 1, &hex("2b 0e 04 04"))),
        (S2C, &adu(4, 1, &hex("2b 0e 04 82 00 00 01 04 04 4d353830"))),
    ]);
    assert!(r.has(Attribute::Model, "M580"), "{:?}", r.facts);
    // A truncated object list stops without panicking; counts are bounded.
    let bytes = hex("01 01 00 00 ff 00 40 4142");
    let ident = DeviceIdentification::parse(&bytes).unwrap();
    assert_eq!(ident.objects().count(), 0);
    assert!(DeviceIdentification::parse(&hex("01 01")).is_err());
}

#[test]
fn report_server_id_layouts() {
    // digitalbond: id 0x00, run 0xFF, additional "Wingpath Limited".
    let wingpath = hex("0000000000150a111200ff57696e6770617468204c696d69746564");
    let r = tcp(&[(C2S, &hex("0000000000020a11")), (S2C, &wingpath)]);
    assert!(r.has(Attribute::State, "run"));
    assert!(r.has(Attribute::Description, "Wingpath Limited"));
    // pymodbus: identity first, run indicator last.
    let bytes = hex("05 414243 4400");
    let id = ServerId::parse(&bytes).unwrap();
    assert_eq!((id.id, id.running), (&b"ABCD"[..], Some(false)));
    // Neither layout: no state.
    let bytes = hex("03 010203");
    let id = ServerId::parse(&bytes).unwrap();
    assert_eq!(id.running, None);
    assert!(ServerId::parse(&[]).is_err());
}

#[test]
fn split_across_segments_and_gap() {
    let a = adu(1, 1, &hex("03 0000 000a"));
    let b = adu(2, 1, &hex("03 0010 0002"));
    let mut both = a.clone();
    both.extend(&b);
    let f = flow(Transport::Tcp, 2578, PORT);
    let r = run(
        &f,
        &[
            (C2S, StreamChunk::Data(&both[..5])),
            (C2S, StreamChunk::Data(&both[5..15])),
            (C2S, StreamChunk::Data(&both[15..])),
            (C2S, StreamChunk::Gap(100)),
            (C2S, StreamChunk::Data(&a)),
        ],
    );
    assert_eq!(r.events.len(), 2, "{:?}", r.ops());
}

#[test]
fn not_modbus_stops_the_direction() {
    let r = tcp(&[
        (C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        (C2S, &adu(1, 1, &hex("03 0000 000a"))),
        (S2C, &hex("05000b030003008001")),
    ]);
    assert!(r.events.is_empty());
    assert!(r.facts.is_empty());
}

#[test]
fn modbus_udp() {
    let f = flow(Transport::Udp, 40000, PORT);
    let req = adu(1, 1, &hex("03 0000 000a"));
    let resp = adu(1, 1, &hex("83 02"));
    let r = run(
        &f,
        &[
            (C2S, StreamChunk::Data(&req)),
            (S2C, StreamChunk::Data(&resp)),
        ],
    );
    assert_eq!(r.events.len(), 2);
    assert!(r.has(Attribute::ProtocolAddress, "modbus:unit:1"));
}

#[test]
fn server_on_the_opening_side() {
    // A connection opened from port 502: that side is still the server.
    let f = flow(Transport::Tcp, PORT, 4446);
    let r = run(
        &f,
        &[(C2S, StreamChunk::Data(&hex("0001000000040a810600")))],
    );
    assert_eq!(r.events[0].operation, "exception");
    assert_eq!(r.events[0].src.ip, Some([10, 0, 0, 3].into()));
}

#[test]
fn truncated_requests_are_still_events() {
    for pdu in [
        "01 00",
        "05 0001",
        "0f 0001 0004",
        "08 00",
        "16 000a",
        "17 0001",
        "2b",
        "5a 00",
    ] {
        let r = tcp(&[(C2S, &adu(1, 1, &hex(pdu)))]);
        assert_eq!(r.events.len(), 2, "{pdu}");
        assert!(r.events[1].detail.ends_with("truncated request"), "{pdu}");
        // And the PDU is reported as malformed, naming where it is cut.
        assert_eq!(r.events[0].operation, "malformed", "{pdu}");
        assert!(r.events[0].detail.contains("truncated at"), "{pdu}");
    }
    assert!(Request::parse(&[]).is_err());
}

/// UMAS (function 90): identity, mode changes, errors, and a download's hash.
#[test]
fn umas_session() {
    // ndpi_umas.pcap frames 4 and 6: Read ID and its answer.
    let read_id = hex("00000000000400 5a 0002");
    let answer = hex("000000000032005a00fe10ff5a010100000070020000270009000800000000000e3134302043505520333131203130010101000000001100");
    let stop = hex("0001 0000 0004 00 5a 01 41");
    let stop_ok = hex("0001 0000 0004 00 5a 01 fe");
    let start = hex("0002 0000 0004 00 5a 01 40");
    let start_err = hex("0002 0000 0005 00 5a 01 fd 81");
    let blocks: [&[u8]; 2] = [b"first block of logic", b"second"];
    let mut download = adu(3, 0, &hex("5a 01 30 0001"));
    for (i, b) in blocks.iter().enumerate() {
        let mut pdu = hex("5a 01 31 0001");
        pdu.extend_from_slice(&(i as u16 + 1).to_le_bytes());
        pdu.extend_from_slice(&(b.len() as u16).to_le_bytes());
        pdu.extend_from_slice(b);
        download.extend(adu(4 + i as u16, 0, &pdu));
    }
    download.extend(adu(9, 0, &hex("5a 01 32 0001 0200")));
    let r = tcp(&[
        (C2S, &read_id),
        (S2C, &answer),
        (C2S, &stop),
        (S2C, &stop_ok),
        (C2S, &start),
        (S2C, &start_err),
        (C2S, &download),
    ]);
    assert!(r.has(Attribute::Model, "140 CPU 311 10"), "{:?}", r.facts);
    assert!(r.has(Attribute::State, "stop"));
    assert!(!r.has(Attribute::State, "run"));
    use EventCategory::*;
    let ops: Vec<(EventCategory, String)> = r
        .events
        .iter()
        .map(|e| (e.category, e.operation.to_string()))
        .collect();
    assert_eq!(
        ops,
        vec![
            (Diagnostics, "umas_read_id".into()),
            (ModeChange, "umas_stop_plc".into()),
            (ModeChange, "umas_start_plc".into()),
            (ModeChange, "error_response".into()),
            (ProgramDownload, "umas_initialize_download".into()),
            (ProgramDownload, "umas_download_block".into()),
            (ProgramDownload, "umas_end_download".into()),
        ]
    );
    let end = r.events.last().unwrap();
    let mut hasher = Sha256::new();
    for b in blocks {
        hasher.update(b);
    }
    let want: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(end.content_hash.as_deref(), Some(want.as_str()));
    assert_eq!(end.detail, "unit 0, 2 blocks, 26 bytes");
    assert_eq!(r.events[3].detail, "unit 0, umas_start_plc: error 0x81");
    assert_eq!(r.events[5].count, 2, "blocks aggregate");
}

#[test]
fn umas_helpers_are_bounded() {
    assert_eq!(umas::Umas::parse(&[1]), None);
    assert_eq!(umas::read_memory_block(&[0; 8]), None);
    assert_eq!(
        umas::read_memory_block(&hex("00 1300 6400 0000 9c00")),
        Some((0x13, 100, 156))
    );
    assert_eq!(
        umas::download_block_payload(&hex("0001 0100 ff00 41")),
        Some(&b"A"[..])
    );
    assert_eq!(
        umas::upload_block_payload(&hex("01 00 0200 414243")),
        Some((true, &b"AB"[..]))
    );
    assert_eq!(umas::read_id_model(&[0; 22]), None);
    assert_eq!(umas::read_id_model(&[0xff; 40]), None);
    assert_eq!(umas::function_name(0x99), "umas_function");
    let r = tcp(&[(C2S, &adu(1, 0, &hex("5a 00 99")))]);
    assert_eq!(r.events[0].detail, "unit 0, umas function 0x99");
}

/// Operations `malformed` and `violation`, with their details.
fn spec_events(r: &Run) -> Vec<(String, String)> {
    r.events
        .iter()
        .filter(|e| matches!(&*e.operation, "malformed" | "violation"))
        .map(|e| (e.operation.to_string(), e.detail.clone()))
        .collect()
}

#[test]
fn spec_violations_are_reported_from_their_sender() {
    let r = tcp(&[
        (C2S, &adu(1, 1, &hex("03 0000 0000"))),
        (C2S, &adu(2, 1, &hex("05 0001 1234"))),
        (C2S, &adu(3, 1, &hex("10 0000 0002 03 000100"))),
        (S2C, &adu(3, 1, &hex("90 09"))),
        (S2C, &adu(4, 1, &hex("03 04 0001"))),
        (C2S, &adu(5, 1, &hex("03 00"))),
    ]);
    assert_eq!(
        spec_events(&r),
        [
            ("violation", "unit 1, read_holding_registers quantity 0 outside 1-125"),
            ("violation", "unit 1, write_single_coil value 0x1234, not 0x0000 or 0xFF00"),
            (
                "violation",
                "unit 1, write_multiple_registers byte count 3 but the quantity makes 4"
            ),
            ("violation", "unit 1, exception code 9 not defined"),
            (
                "violation",
                "unit 1, read_holding_registers PDU of 4 bytes, its fields make 6"
            ),
            (
                "malformed",
                "unit 1, read_holding_registers: Modbus ADU truncated at starting address (offset 1)"
            ),
        ]
        .map(|(o, d)| (o.to_owned(), d.to_owned()))
    );
    let sources: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.operation == "violation")
        .map(|e| e.src.ip)
        .collect();
    assert_eq!(
        sources[3],
        Some([10, 0, 0, 3].into()),
        "the server sent the bad exception"
    );
    assert_eq!(sources[0], Some([10, 0, 0, 57].into()));
}

#[test]
fn a_stream_that_goes_bad_is_a_violation_and_one_never_modbus_is_not() {
    let mut bad = adu(1, 1, &hex("03 0000 000a"));
    bad.extend_from_slice(&hex("0002 0007 0006 01 03 0000 000a"));
    let r = tcp(&[(C2S, &bad)]);
    assert_eq!(
        spec_events(&r),
        [(
            "violation".to_owned(),
            "MBAP protocol id 7 is not Modbus (offset 2)".to_owned()
        )]
    );
    let r = tcp(&[(C2S, &hex("0001 0000 0300 01 03 0000 000a"))]);
    assert_eq!(
        spec_events(&r),
        [(
            "violation".to_owned(),
            "MBAP length 768 out of range (offset 4)".to_owned()
        )]
    );
}

#[test]
fn datagram_lengths_must_match() {
    let f = flow(Transport::Udp, 40000, PORT);
    let mut long = adu(1, 1, &hex("03 0000 000a"));
    long[5] = 9;
    let short = hex("0001 0000");
    let r = run(
        &f,
        &[
            (C2S, StreamChunk::Data(&long)),
            (C2S, StreamChunk::Data(&short)),
        ],
    );
    assert_eq!(
        spec_events(&r),
        [
            ("violation", "MBAP length 9 but 6 bytes follow"),
            (
                "malformed",
                "Modbus ADU truncated at MBAP header (offset 0)"
            ),
        ]
        .map(|(o, d)| (o.to_owned(), d.to_owned()))
    );
}

#[test]
fn a_flood_of_the_same_violation_is_one_counted_event() {
    let one = adu(1, 1, &hex("03 0000 0000"));
    let flood: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
    let r = tcp(&[(C2S, &flood)]);
    let violations: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.operation == "violation")
        .collect();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].count, 1000);
}
