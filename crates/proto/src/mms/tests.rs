use super::*;
use crate::iso_tsap::IsoTsapDissector;
use crate::test_support::hex;
use crate::{Dissector, StreamChunk, Transport};
use ironward_model::{Event, Fact, Timestamp};

fn flow() -> FlowMeta {
    FlowMeta {
        id: 1,
        transport: Transport::Tcp,
        client: ([10, 0, 0, 1], 45298).into(),
        server: ([10, 0, 0, 2], 102).into(),
        now: Timestamp(1),
        frame: 1,
    }
}

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// Runs TPKT records (hex) through the port-102 dissector; returns events and facts.
fn run(records: &[(Direction, &str)]) -> (Vec<Event>, Vec<Fact>) {
    let mut d = IsoTsapDissector::default();
    let mut out = Observations::default();
    let mut facts = Vec::new();
    for (direction, record) in records {
        d.on_stream(
            &flow(),
            *direction,
            StreamChunk::Data(&hex(record)),
            &mut out,
        );
        facts.extend(out.drain_facts());
    }
    d.on_end(&flow(), &mut out);
    (out.events().to_vec(), facts)
}

fn ops(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.operation.to_string(), e.detail.clone()))
        .collect()
}

// iec61850_read.pcap: connection request/confirm, CN with CP+AARQ+initiate, AC, read, response.
const CR: &str = "030000130ee00000000600c1020002c2020001";
const CC: &str = "0300001611d01801000400c1020002c2020200c0010a";
const CN: &str = "030000bb02f0800db20506130100160102140200023302000134020001c19c318199a003800101a28191810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510188020600615a3058020101a053605180020780a107060528ca220203a20606042bce0f02a303020117be35283306025101020103a02aa82880027530810203e8820203e8830105a417800101810305fb00820d03ffffffffffffffffffffff00";
const AC: &str = "0300009102f0800e89050613010006010214020002c1003178a003800100a271830400000001a512300780010081025201300780010081025101880206006151304f020101a04a614880020780a107060528ca220203a203020100a305a103020100a40606042bce0f02a503020117be20281e020103a019a917800100810100820100830100a409800100810100820100";
const READ: &str =
    "0300002a02f08001000100611d301b020103a016a014020100a40f800100a10aa0083006a00480026d75";
const READ_RSP: &str = "0300001d02f080010001006110300e020103a009a107020100a402a100";
const WRITE: &str =
    "0300002a02f08001000100611d301b020103a016a014020100a50fa0083006a00480026d75a003850100";
const CONCLUDE: &str = "0300001602f0800100010061093007020103a0028b00";

#[test]
fn association_read_write_conclude() {
    let (events, facts) = run(&[
        (C, CR),
        (S, CC),
        (C, CN),
        (S, AC),
        (C, READ),
        (S, READ_RSP),
        (C, WRITE),
        (C, CONCLUDE),
    ]);
    assert_eq!(
        ops(&events),
        [
            ("associate".into(), "context 1.0.9506.2.3 (mms)".into()),
            (
                "initiate".into(),
                "version 1, cbb fb00, services ffffffffffffffffffffff00".into()
            ),
            // The capture's ACCEPT announces one byte more than it holds (tshark: Malformed
            // Packet, SES): reported as malformed, from the server.
            (
                "malformed".into(),
                "MMS session parameters truncated at 1".into()
            ),
            ("read".into(), "vars mu".into()),
            ("write".into(), "vars mu, values integer 0".into()),
            ("conclude".into(), "".into()),
        ]
    );
    assert_eq!(events[2].src.ip, Some(flow().server.ip()));
    assert_eq!(events[2].category, EventCategory::Other);
    assert_eq!(events[3].category, EventCategory::Read);
    assert_eq!(events[4].category, EventCategory::Write);
    let facts: Vec<(String, Attribute, String)> = facts
        .iter()
        .map(|f| (f.subject.to_string(), f.attribute, f.value.to_string()))
        .collect();
    // The called AP title is the client's word about the server; this capture's ACCEPT is
    // malformed (see recognition_is_strict), so nothing comes from the server itself.
    assert_eq!(
        facts,
        [(
            "ip:10.0.0.2".into(),
            Attribute::ProtocolAddress,
            "mms:ap:1.3.9999.2:ae:23".into()
        )]
    );
}

#[test]
fn split_and_coalesced_segments() {
    let mut all = hex(CR);
    all.extend(hex(CN));
    all.extend(hex(READ));
    all.extend(hex(READ));
    let mut d = IsoTsapDissector::default();
    let mut out = Observations::default();
    for chunk in all.chunks(7) {
        d.on_stream(&flow(), C, StreamChunk::Data(chunk), &mut out);
    }
    let events = out.events();
    let read = events.iter().find(|e| e.operation == "read").unwrap();
    assert_eq!(read.count, 2);
    assert_eq!(d.protocol(), "mms");
}

#[test]
fn recognition_is_strict() {
    let tsdu = |record: &str| hex(record)[7..].to_vec();
    assert!(Session::recognises(&tsdu(CN)));
    // This ACCEPT's user-data parameter is empty and the CPA follows as if it were another
    // parameter (tshark calls it malformed too): not a recognisable start.
    assert!(!Session::recognises(&tsdu(AC)));
    assert!(Session::recognises(&tsdu(READ)));
    // MMS straight over COTP (mms-startRequest.pcap): initiate request and stop.
    let init = hex(
        "a826800200 1f81010382010383020808a416800101810305e800820c03ffffffffffffffffffffff"
            .replace(' ', "")
            .as_str(),
    );
    assert!(Session::recognises(&init));
    assert!(!Session::recognises(&[0x0d, 0x00]));
    assert!(!Session::recognises(&[0x01, 0x00, 0x01, 0x00]));
    assert!(!Session::recognises(&[
        0x01, 0x00, 0x01, 0x00, 0x61, 0x02, 0x30, 0x00
    ]));
    assert!(!Session::recognises(&[0x32, 0x01]));
    assert!(!Session::recognises(&[0xa0, 0x05, 0x02]));
}

#[test]
fn bare_mms_stop() {
    // mms-startRequest.pcap frame 12: stop of program invocation R395024397Application_1.
    let (events, _) = run(&[
        (C, CR),
        (C, "0300002f02f080a826800200 1f81010382010383020808a416800101810305e800820c03ffffffffffffffffffffff"),
        (C, "0300002802f080a01f020101bf291980175233393530323433393741 70706c69636174696f6e5f31"),
    ].map(|(d, h)| (d, Box::leak(h.replace(' ', "").into_boxed_str()) as &str)));
    let stop = events.iter().find(|e| e.operation == "stop").unwrap();
    assert_eq!(stop.category, EventCategory::ModeChange);
    assert_eq!(stop.detail, "R395024397Application_1");
}

#[test]
fn errors_information_reports_and_gvaa() {
    // Sample_File_MMS_and_GOOSE frames 124 / 126 / 3 (server report mid-stream).
    let (events, _) = run(&[
        (C, "0300004202f0800100010061353033020103a02ea02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032"),
        (S, "0300002202f0800100010061153013020103a00ea20c800304a273a205a003870102"),
        (S, "0300002202f0800100010061153013020103a00ea20c800304a273a205a003870102"),
    ]);
    assert_eq!(
        ops(&events),
        [
            (
                "get_variable_access_attributes".into(),
                "AA1E1Q01FP2LD0/LLN0$BR$rcb_B02".into()
            ),
            (
                "confirmed_error".into(),
                "service get_variable_access_attributes, class access, code 2".into()
            ),
            (
                "confirmed_error".into(),
                "service unknown, class access, code 2".into()
            ),
        ]
    );
    // The error's source is the requester.
    assert_eq!(events[1].src, events[0].src);
    let report = "030000b302f080010001006181a53081a2020103a0819ca38199a08196a1058003525054a0818c8a1a414131433151303141314c44302f4c4c4e30247263625f49303284030650008601398403050100a25da21da209a2078705083e5a95fc8501018403030000910848808dc98a7efa0aa21da209a2078705083dfe7e228501018403030000910848808dc4a353f80aa21da209a2078705083e5beed48501008403030000910848808dcea49ba60a84020240";
    let (events, _) = run(&[(S, report)]);
    assert_eq!(
        ops(&events),
        [("information_report".into(), "list RPT".into())]
    );
}

/// Wraps an MMS PDU in GIVE TOKENS + DATA TRANSFER, fully-encoded data (context 3) and TPKT.
fn wrap(mms: &[u8]) -> String {
    let mut single = vec![0xa0, mms.len() as u8];
    single.extend_from_slice(mms);
    let mut pdv = vec![0x02, 0x01, 0x03];
    pdv.extend(single);
    let mut list = vec![0x30, pdv.len() as u8];
    list.extend(pdv);
    let mut ppdu = vec![0x61, list.len() as u8];
    ppdu.extend(list);
    let mut tsdu = vec![0x01, 0x00, 0x01, 0x00];
    tsdu.extend(ppdu);
    let mut record = vec![0x03, 0x00, 0x00, (tsdu.len() + 7) as u8, 0x02, 0xf0, 0x80];
    record.extend(tsdu);
    record.iter().map(|b| format!("{b:02x}")).collect()
}

fn confirmed(tag: u8, invoke: u8, service: &[u8]) -> Vec<u8> {
    let mut body = vec![0x02, 0x01, invoke];
    body.extend_from_slice(service);
    let mut pdu = vec![tag, body.len() as u8];
    pdu.extend(body);
    pdu
}

fn vs(text: &str) -> Vec<u8> {
    let mut v = vec![0x1a, text.len() as u8];
    v.extend_from_slice(text.as_bytes());
    v
}

fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut v = tag.to_vec();
    v.push(content.len() as u8);
    v.extend_from_slice(content);
    v
}

#[test]
fn identify_get_name_list_and_status() {
    let identify_rsp = tlv(
        &[0xa2],
        &[
            tlv(&[0x80], b"ACME").as_slice(),
            tlv(&[0x81], b"IED-9000").as_slice(),
            tlv(&[0x82], b"2.4.1").as_slice(),
        ]
        .concat(),
    );
    // getNameList: class domain [0]{[0] 9}, scope vmd [1]{[0] NULL}.
    let gnl = tlv(
        &[0xa1],
        &[
            tlv(&[0xa0], &[0x80, 0x01, 0x09]),
            tlv(&[0xa1], &[0x80, 0x00]),
        ]
        .concat(),
    );
    let gnl_rsp = tlv(
        &[0xa1],
        &[
            tlv(&[0xa0], &[vs("IED1LD0"), vs("IED1CTRL")].concat()),
            vec![0x81, 0x01, 0x00],
        ]
        .concat(),
    );
    let status_rsp = tlv(&[0xa0], &[0x80, 0x01, 0x00, 0x81, 0x01, 0x00]);
    let records = [
        (C, wrap(&confirmed(0xa0, 1, &[0x82, 0x00]))),
        (S, wrap(&confirmed(0xa1, 1, &identify_rsp))),
        (C, wrap(&confirmed(0xa0, 2, &gnl))),
        (S, wrap(&confirmed(0xa1, 2, &gnl_rsp))),
        (C, wrap(&confirmed(0xa0, 3, &[0x80, 0x01, 0x00]))),
        (S, wrap(&confirmed(0xa1, 3, &status_rsp))),
    ];
    let records: Vec<(Direction, &str)> = records.iter().map(|(d, h)| (*d, h.as_str())).collect();
    let (events, facts) = run(&records);
    assert_eq!(
        ops(&events),
        [
            ("identify".into(), "".into()),
            ("get_name_list".into(), "class domain, scope vmd".into()),
            ("status".into(), "".into()),
        ]
    );
    let facts: Vec<(Attribute, String)> = facts
        .iter()
        .map(|f| (f.attribute, f.value.to_string()))
        .collect();
    for want in [
        (Attribute::Vendor, "ACME"),
        (Attribute::Model, "IED-9000"),
        (Attribute::Firmware, "2.4.1"),
        (Attribute::Description, "ld: IED1LD0"),
        (Attribute::Description, "ld: IED1CTRL"),
        (Attribute::State, "operational"),
    ] {
        assert!(
            facts.contains(&(want.0, want.1.to_string())),
            "{want:?} in {facts:?}"
        );
    }
}

#[test]
fn iccp_control_and_file_upload() {
    // read of a TASE.2 name turns the association into ICCP.
    let name = tlv(&[0xa1], &[vs("VCC"), vs("TASE2_Version")].concat());
    let var = tlv(&[0x30], &tlv(&[0xa0], &name));
    let read = tlv(&[0xa4], &tlv(&[0xa1], &tlv(&[0xa0], &var)));
    // write to a control object, boolean true.
    let ctl = tlv(&[0xa1], &[vs("LD0"), vs("CSWI1$CO$Pos$Oper")].concat());
    let cvar = tlv(&[0x30], &tlv(&[0xa0], &ctl));
    let write = tlv(
        &[0xa5],
        &[tlv(&[0xa0], &cvar), tlv(&[0xa0], &[0x83, 0x01, 0xff])].concat(),
    );
    let write_rsp = tlv(&[0xa5], &[0x80, 0x01, 0x03]);
    // fileOpen "COMTRADE/x.cfg" -> frsm 7; two fileReads; close.
    let open = tlv(
        &[0xbf, 0x48],
        &[
            tlv(&[0xa0], &tlv(&[0x19], b"COMTRADE/x.cfg")),
            vec![0x81, 0x01, 0x00],
        ]
        .concat(),
    );
    let open_rsp = tlv(
        &[0xbf, 0x48],
        &[vec![0x80, 0x01, 0x07], tlv(&[0xa1], &[0x80, 0x01, 0x06])].concat(),
    );
    let read1 = vec![0x9f, 0x49, 0x01, 0x07];
    let read1_rsp = tlv(
        &[0xbf, 0x49],
        &[tlv(&[0x80], b"abc"), vec![0x81, 0x01, 0xff]].concat(),
    );
    let read2_rsp = tlv(
        &[0xbf, 0x49],
        &[tlv(&[0x80], b"def"), vec![0x81, 0x01, 0x00]].concat(),
    );
    let close = vec![0x9f, 0x4a, 0x01, 0x07];
    let records = [
        (C, wrap(&confirmed(0xa0, 1, &read))),
        (C, wrap(&confirmed(0xa0, 2, &write))),
        (S, wrap(&confirmed(0xa1, 2, &write_rsp))),
        (C, wrap(&confirmed(0xa0, 3, &open))),
        (S, wrap(&confirmed(0xa1, 3, &open_rsp))),
        (C, wrap(&confirmed(0xa0, 4, &read1))),
        (S, wrap(&confirmed(0xa1, 4, &read1_rsp))),
        (C, wrap(&confirmed(0xa0, 5, &read1))),
        (S, wrap(&confirmed(0xa1, 5, &read2_rsp))),
        (C, wrap(&confirmed(0xa0, 6, &close))),
    ];
    let records: Vec<(Direction, &str)> = records.iter().map(|(d, h)| (*d, h.as_str())).collect();
    let (events, facts) = run(&records);
    assert_eq!(
        ops(&events),
        [
            ("read".into(), "vars VCC/TASE2_Version".into()),
            (
                "write".into(),
                "iccp, vars LD0/CSWI1$CO$Pos$Oper, values boolean true".into()
            ),
            (
                "data_access_error".into(),
                "iccp service write, failures 1, code 3, vars LD0/CSWI1$CO$Pos$Oper".into()
            ),
            ("file_open".into(), "iccp file COMTRADE/x.cfg".into()),
            ("file_read".into(), "iccp file COMTRADE/x.cfg".into()),
            (
                "file_upload".into(),
                "iccp file COMTRADE/x.cfg, 6 bytes".into()
            ),
            ("file_close".into(), "iccp file COMTRADE/x.cfg".into()),
        ]
    );
    assert_eq!(events[1].category, EventCategory::ControlCommand);
    assert_eq!(events[4].count, 2);
    // sha256("abcdef")
    assert_eq!(
        events[5].content_hash.as_deref(),
        Some("bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721")
    );
    assert_eq!(events[5].src, events[3].src);
    assert!(facts
        .iter()
        .any(|f| f.attribute == Attribute::Service && &*f.value == "iccp"));
}

#[test]
fn reject_cancel_conclude_error_and_acse_auth() {
    let reject = tlv(&[0xa4], &[0x80, 0x01, 0x05, 0x85, 0x01, 0x01]);
    let records = [
        (S, wrap(&reject)),
        (C, wrap(&[0x85, 0x01, 0x05])),
        (S, wrap(&tlv(&[0xad], &[]))),
    ];
    let records: Vec<(Direction, &str)> = records.iter().map(|(d, h)| (*d, h.as_str())).collect();
    let (events, _) = run(&records);
    assert_eq!(
        ops(&events),
        [
            ("reject".into(), "type 5, reason 1".into()),
            ("cancel".into(), "".into()),
            ("conclude_error".into(), "".into()),
        ]
    );
    // AARQ with mechanism 2.2.3.1 and a password (never reported).
    let aarq = tlv(
        &[0x60],
        &[
            tlv(&[0xa1], &tlv(&[0x06], &[0x28, 0xca, 0x22, 0x02, 0x03])),
            tlv(&[0x8a], &[0x06, 0x80]),
            tlv(&[0x8b], &[0x52, 0x03, 0x01]),
            tlv(&[0xac], &tlv(&[0x80], b"secret")),
        ]
        .concat(),
    );
    let apdu = iso::parse_apdu(&aarq, 0).unwrap();
    let iso::Apdu::Aarq(a) = apdu else { panic!() };
    assert!(a.authenticated);
    let mut single = vec![0xa0, aarq.len() as u8];
    single.extend(&aarq);
    let pdv = tlv(&[0x30], &[vec![0x02, 0x01, 0x01], single].concat());
    let mut tsdu = vec![0x01, 0x00, 0x01, 0x00];
    tsdu.extend(tlv(&[0x61], &pdv));
    let mut record = vec![0x03, 0x00, 0x00, (tsdu.len() + 7) as u8, 0x02, 0xf0, 0x80];
    record.extend(tsdu);
    let h: String = record.iter().map(|b| format!("{b:02x}")).collect();
    let (events, _) = run(&[(C, &h)]);
    let auth = events
        .iter()
        .find(|e| e.operation == "acse_authentication")
        .unwrap();
    assert_eq!(auth.detail, "mechanism 2.2.3.1 (password)");
    assert!(!events.iter().any(|e| e.detail.contains("secret")));
}

#[test]
fn truncation_and_hostile_nesting() {
    // Every prefix of a real CN is refused or read without panicking.
    let cn = hex(CN);
    for n in 0..cn.len() {
        let _ = Session::recognises(&cn[7..n.max(7)]);
        let mut s = Session::default();
        let mut out = Observations::default();
        s.on_tsdu(&flow(), C, &cn[7..n.max(7)], &mut out);
    }
    // 200 nested constructed [0] elements inside a read: refused by depth, no recursion.
    let mut nested = vec![0x05, 0x00];
    for _ in 0..100 {
        let mut outer = vec![0xa0, 0x81, nested.len().min(255) as u8];
        outer.extend_from_slice(&nested);
        nested = outer;
        if nested.len() > 240 {
            break;
        }
    }
    assert!(parse_pdu(&nested, 0).is_ok() || parse_pdu(&nested, 0).is_err());
    let mut s = Session::default();
    let mut out = Observations::default();
    s.on_tsdu(&flow(), C, &nested, &mut out);
    assert!(matches!(
        parse_pdu(&[0xbf, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00], 0),
        Err(MmsError::Ber(_))
    ));
    // Indefinite lengths are refused.
    assert!(parse_pdu(&[0xa0, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00], 0).is_err());
    // More requests outstanding than remembered: the oldest are overwritten, nothing grows.
    let mut s = Session::default();
    for i in 0..(MAX_PENDING as u8 * 2) {
        let tsdu = hex(&wrap(&confirmed(0xa0, i, &[0x82, 0x00])))[7..].to_vec();
        s.on_tsdu(&flow(), C, &tsdu, &mut out);
    }
    assert_eq!(s.pending.iter().filter(|p| p.used).count(), MAX_PENDING);
}
