//! Hand-built S7comm PDUs through the session, and through the port-102 dispatcher for TPKT
//! framing (PDUs split across segments, several per segment).

use ironward_model::{Attribute, DeviceKey, EventCategory, Timestamp};

use super::*;
use crate::{Dissector, StreamChunk, Transport};

fn flow() -> FlowMeta {
    FlowMeta {
        id: 1,
        transport: Transport::Tcp,
        client: ([10, 0, 0, 1], 50000).into(),
        server: ([10, 0, 0, 2], 102).into(),
        now: Timestamp(1),
        frame: 1,
    }
}

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn pdu(rosctr: u8, pdu_ref: u16, error: Option<[u8; 2]>, param: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = vec![PROTOCOL_ID, rosctr, 0, 0];
    out.extend_from_slice(&pdu_ref.to_be_bytes());
    out.extend_from_slice(&(param.len() as u16).to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if let Some(e) = error {
        out.extend_from_slice(&e);
    }
    out.extend_from_slice(param);
    out.extend_from_slice(data);
    out
}

fn any(ts: u8, len: u16, db: u16, area: u8, byte: u32, bit: u32) -> Vec<u8> {
    let a = (byte << 3 | bit).to_be_bytes();
    let mut v = vec![0x12, 0x0a, 0x10, ts];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&db.to_be_bytes());
    v.extend_from_slice(&[area, a[1], a[2], a[3]]);
    v
}

fn events(out: &Observations) -> Vec<(String, EventCategory, String)> {
    out.events()
        .iter()
        .map(|e| (e.operation.to_string(), e.category, e.detail.clone()))
        .collect()
}

fn facts(out: &mut Observations) -> Vec<(DeviceKey, Attribute, String)> {
    out.drain_facts()
        .map(|f| (f.subject, f.attribute, f.value.to_string()))
        .collect()
}

fn server() -> DeviceKey {
    DeviceKey::Ip("10.0.0.2".parse().unwrap())
}

fn userdata(kind_group: u8, sub: u8, fragment: Option<(u8, bool, u16)>, data: &[u8]) -> Vec<u8> {
    let mut param = vec![
        0x00,
        0x01,
        0x12,
        4,
        if kind_group >> 4 == 4 { 0x11 } else { 0x12 },
        kind_group,
        sub,
        0,
    ];
    if let Some((unit, last, error)) = fragment {
        param[3] = 8;
        param.extend_from_slice(&[unit, if last { 0 } else { 1 }]);
        param.extend_from_slice(&error.to_be_bytes());
    }
    pdu(rosctr::USERDATA, 1, None, &param, data)
}

fn ud_data(rc: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![rc, 0x09];
    d.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    d.extend_from_slice(payload);
    d
}

#[test]
fn read_and_write_variables_with_item_errors() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let mut param = vec![func::READ_VAR, 2];
    param.extend(any(2, 4, 1, 0x84, 0, 0));
    param.extend(any(1, 1, 0, 0x83, 10, 3));
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 5, None, &param, &[]), &mut out);
    // Item 1 fine (4 bytes), item 2 missing.
    let data = [0xff, 0x04, 0x00, 0x20, 1, 2, 3, 4, 0x0a, 0x00, 0x00, 0x00];
    s.on_tsdu(
        &f,
        S2C,
        &pdu(
            rosctr::ACK_DATA,
            5,
            Some([0, 0]),
            &[func::READ_VAR, 2],
            &data,
        ),
        &mut out,
    );
    let mut wparam = vec![func::WRITE_VAR, 1];
    wparam.extend(any(4, 1, 0, 0x82, 2, 0));
    let wdata = [0x00, 0x04, 0x00, 0x10, 0xbe, 0xef];
    s.on_tsdu(
        &f,
        C2S,
        &pdu(rosctr::JOB, 6, None, &wparam, &wdata),
        &mut out,
    );
    s.on_tsdu(
        &f,
        S2C,
        &pdu(
            rosctr::ACK_DATA,
            6,
            Some([0, 0]),
            &[func::WRITE_VAR, 1],
            &[0x05],
        ),
        &mut out,
    );
    assert_eq!(
        events(&out),
        vec![
            (
                "read_var".into(),
                EventCategory::Read,
                "DB1 0.0 BYTE x4; M 10.3 BIT x1".into()
            ),
            (
                "error_response".into(),
                EventCategory::Read,
                "read_var: item 2: object does not exist (0x0a)".into()
            ),
            (
                "write_var".into(),
                EventCategory::Write,
                "Q 2.0 WORD x1 = 0xbeef".into()
            ),
            (
                "error_response".into(),
                EventCategory::Write,
                "write_var: item 1: invalid address (0x05)".into()
            ),
        ]
    );
    assert_eq!(out.events()[1].src, out.events()[0].src);
}

#[test]
fn header_errors_name_the_failed_job() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let mut param = vec![func::START_UPLOAD, 0, 0, 0, 0, 0, 0, 0, 9];
    param.extend_from_slice(b"_0800001A");
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 9, None, &param, &[]), &mut out);
    s.on_tsdu(
        &f,
        S2C,
        &pdu(rosctr::ACK, 9, Some([0xd2, 0x41]), &[], &[]),
        &mut out,
    );
    assert_eq!(
        events(&out),
        vec![(
            "error_response".into(),
            EventCategory::ProgramUpload,
            "start_upload: unknown error class, function not permitted in the current protection level (0xd241)".into()
        )]
    );
    assert_eq!(out.events()[0].src.ip, Some("10.0.0.1".parse().unwrap()));
}

#[test]
fn download_and_upload_are_one_hashed_event_each() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let mut req = vec![func::REQUEST_DOWNLOAD, 0, 1, 0, 0, 0, 0, 0, 9];
    req.extend_from_slice(b"_0A00001P");
    req.extend_from_slice(b"\x0d1000216000088");
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 1, None, &req, &[]), &mut out);
    s.on_tsdu(
        &f,
        S2C,
        &pdu(
            rosctr::ACK_DATA,
            1,
            Some([0, 0]),
            &[func::REQUEST_DOWNLOAD],
            &[],
        ),
        &mut out,
    );
    let mut block_req = vec![func::DOWNLOAD_BLOCK, 0, 0, 0, 0, 0, 0, 0, 9];
    block_req.extend_from_slice(b"_0A00001P");
    for (i, chunk) in [&b"hello "[..], &b"world"[..]].iter().enumerate() {
        s.on_tsdu(
            &f,
            S2C,
            &pdu(rosctr::JOB, 10 + i as u16, None, &block_req, &[]),
            &mut out,
        );
        let mut data = (chunk.len() as u16).to_be_bytes().to_vec();
        data.extend_from_slice(&[0x00, 0xfb]);
        data.extend_from_slice(chunk);
        s.on_tsdu(
            &f,
            C2S,
            &pdu(
                rosctr::ACK_DATA,
                10 + i as u16,
                Some([0, 0]),
                &[func::DOWNLOAD_BLOCK, 0],
                &data,
            ),
            &mut out,
        );
    }
    let mut ended = vec![func::DOWNLOAD_ENDED, 0, 0, 0, 0, 0, 0, 0, 9];
    ended.extend_from_slice(b"_0A00001P");
    s.on_tsdu(&f, S2C, &pdu(rosctr::JOB, 12, None, &ended, &[]), &mut out);
    let e = &out.events()[0];
    assert_eq!(
        (e.operation.as_ref(), e.category),
        ("download", EventCategory::ProgramDownload)
    );
    assert_eq!(e.detail, "block DB1, 11 bytes");
    assert_eq!(e.src.ip, Some("10.0.0.1".parse().unwrap()));
    let mut hex = ValueBuf::<64>::new();
    hex.push_hex(&Sha256::digest(b"hello world"));
    assert_eq!(e.content_hash.as_deref(), Some(hex.as_str()));

    // Upload: start (block named), the answer opens it, data answers are hashed, end closes.
    let mut start = vec![func::START_UPLOAD, 0, 0, 0, 0, 0, 0, 0, 9];
    start.extend_from_slice(b"_0800001A");
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 20, None, &start, &[]), &mut out);
    let ack = [func::START_UPLOAD, 0, 1, 0, 0, 0, 0, 7, 3, b'0', b'0', b'3'];
    s.on_tsdu(
        &f,
        S2C,
        &pdu(rosctr::ACK_DATA, 20, Some([0, 0]), &ack, &[]),
        &mut out,
    );
    s.on_tsdu(
        &f,
        C2S,
        &pdu(
            rosctr::JOB,
            21,
            None,
            &[func::UPLOAD, 0, 0, 0, 0, 0, 0, 7],
            &[],
        ),
        &mut out,
    );
    s.on_tsdu(
        &f,
        S2C,
        &pdu(
            rosctr::ACK_DATA,
            21,
            Some([0, 0]),
            &[func::UPLOAD, 0],
            &[0, 3, 0, 0xfb, b'a', b'b', b'c'],
        ),
        &mut out,
    );
    s.on_tsdu(
        &f,
        C2S,
        &pdu(
            rosctr::JOB,
            22,
            None,
            &[func::END_UPLOAD, 0, 0, 0, 0, 0, 0, 7],
            &[],
        ),
        &mut out,
    );
    let e = &out.events()[1];
    assert_eq!(
        (e.operation.as_ref(), e.category),
        ("upload", EventCategory::ProgramUpload)
    );
    assert_eq!(e.detail, "block OB1, 3 bytes");
    // A download cut short is reported at the end of the flow.
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 30, None, &req, &[]), &mut out);
    s.on_end(&f, &mut out);
    assert_eq!(out.events()[2].detail, "block DB1, 0 bytes, incomplete");
}

#[test]
fn pi_services_and_plc_stop() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let pi = |block: &[u8], name: &[u8]| {
        let mut p = vec![func::PI_SERVICE, 0, 0, 0, 0, 0, 0, 0xfd];
        p.extend_from_slice(&(block.len() as u16).to_be_bytes());
        p.extend_from_slice(block);
        p.push(name.len() as u8);
        p.extend_from_slice(name);
        p
    };
    for (i, (block, name)) in [
        (&b""[..], &b"P_PROGRAM"[..]),
        (b"C ", b"P_PROGRAM"),
        (b"\x02\x000A00001P0C00012P", b"_DELE"),
        (b"\x01\x000A00001P", b"_INSE"),
    ]
    .iter()
    .enumerate()
    {
        s.on_tsdu(
            &f,
            C2S,
            &pdu(rosctr::JOB, i as u16, None, &pi(block, name), &[]),
            &mut out,
        );
    }
    let stop = [
        func::PLC_STOP,
        0,
        0,
        0,
        0,
        0,
        9,
        b'P',
        b'_',
        b'P',
        b'R',
        b'O',
        b'G',
        b'R',
        b'A',
        b'M',
    ];
    s.on_tsdu(&f, C2S, &pdu(rosctr::JOB, 9, None, &stop, &[]), &mut out);
    assert_eq!(
        events(&out),
        vec![
            (
                "plc_hot_start".into(),
                EventCategory::ModeChange,
                "P_PROGRAM".into()
            ),
            (
                "plc_cold_start".into(),
                EventCategory::ModeChange,
                "P_PROGRAM C".into()
            ),
            (
                "block_delete".into(),
                EventCategory::ConfigurationChange,
                "_DELE DB1, FC12".into()
            ),
            (
                "block_insert".into(),
                EventCategory::ConfigurationChange,
                "_INSE DB1".into()
            ),
            (
                "plc_stop".into(),
                EventCategory::ModeChange,
                "P_PROGRAM".into()
            ),
        ]
    );
}

fn szl_0011() -> Vec<u8> {
    let mut p = vec![0x00, 0x11, 0x00, 0x00, 0x00, 28, 0x00, 0x03];
    let rec = |index: u16, mlfb: &[u8], g: u16, e: u16| {
        let mut r = index.to_be_bytes().to_vec();
        let mut m = [b' '; 20];
        m[..mlfb.len()].copy_from_slice(mlfb);
        r.extend_from_slice(&m);
        r.extend_from_slice(&[0x00, 0xc0]);
        r.extend_from_slice(&g.to_be_bytes());
        r.extend_from_slice(&e.to_be_bytes());
        r
    };
    p.extend(rec(1, b"6ES7 516-3AN01-0AB0", 5, 1));
    p.extend(rec(6, b"6ES7 516-3AN01-0AB0", 5, 1));
    p.extend(rec(7, b"", 0x5602, 0x0904));
    p
}

fn szl_001c() -> Vec<u8> {
    let mut p = vec![0x00, 0x1c, 0x00, 0x00, 0x00, 34, 0x00, 0x04];
    for (index, text) in [
        (1u16, &b"Line 3 station"[..]),
        (3, b"Plant A"),
        (5, b"S C-X4U12345678"),
        (7, b"CPU 1516-3 PN/DP"),
    ] {
        p.extend_from_slice(&index.to_be_bytes());
        let mut t = [0u8; 32];
        t[..text.len()].copy_from_slice(text);
        p.extend_from_slice(&t);
    }
    p
}

#[test]
fn szl_identity_and_state() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x44, 1, None, &ud_data(0xff, &[0x00, 0x11, 0x00, 0x00])),
        &mut out,
    );
    s.on_tsdu(
        &f,
        S2C,
        &userdata(0x84, 1, Some((0, true, 0)), &ud_data(0xff, &szl_0011())),
        &mut out,
    );
    let got = facts(&mut out);
    let dev = server();
    for want in [
        (dev, Attribute::Vendor, "Siemens"),
        (dev, Attribute::ProductCode, "6ES7 516-3AN01-0AB0"),
        (dev, Attribute::Model, "CPU 1516-3 PN/DP"),
        (dev, Attribute::Hardware, "5"),
        (dev, Attribute::Firmware, "V2.9.4"),
    ] {
        assert!(
            got.contains(&(want.0, want.1, want.2.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    assert_eq!(got.iter().filter(|f| f.1 == Attribute::Hardware).count(), 1);
    // 0x001C split over two fragments.
    let list = szl_001c();
    let (a, b) = list.split_at(50);
    s.on_tsdu(
        &f,
        S2C,
        &userdata(0x84, 1, Some((3, false, 0)), &ud_data(0xff, a)),
        &mut out,
    );
    assert!(facts(&mut out).is_empty());
    // The continuation request makes no event.
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x44, 1, Some((3, true, 0)), &[0x0a, 0, 0, 0]),
        &mut out,
    );
    s.on_tsdu(
        &f,
        S2C,
        &userdata(0x84, 1, Some((3, true, 0)), &ud_data(0xff, b)),
        &mut out,
    );
    let got = facts(&mut out);
    for want in [
        (Attribute::Hostname, "Line 3 station"),
        (Attribute::Location, "Plant A"),
        (Attribute::Serial, "S C-X4U12345678"),
    ] {
        assert!(
            got.contains(&(dev, want.0, want.1.to_owned())),
            "{want:?} in {got:?}"
        );
    }
    // CPU state from 0x0424 (RUN) and a mode-transition push (STOP).
    let mut state = vec![0x04, 0x24, 0, 0, 0, 20, 0, 1, 0x51, 0x44, 0xff, 0x08];
    state.extend_from_slice(&[0; 16]);
    s.on_tsdu(
        &f,
        S2C,
        &userdata(0x84, 1, Some((0, true, 0)), &ud_data(0xff, &state)),
        &mut out,
    );
    s.on_tsdu(&f, S2C, &userdata(0x00, 0, None, &[]), &mut out);
    let got = facts(&mut out);
    assert_eq!(
        got,
        vec![
            (dev, Attribute::State, "run".into()),
            (dev, Attribute::State, "stop".into())
        ]
    );
    // An error answer is an error event for the requester; only one read_szl event was made.
    s.on_tsdu(
        &f,
        S2C,
        &userdata(0x84, 1, Some((0, true, 0xd402)), &ud_data(0x0a, &[])),
        &mut out,
    );
    let ev = events(&out);
    assert_eq!(ev.iter().filter(|e| e.0 == "read_szl").count(), 1);
    assert_eq!(ev[0].2, "szl 0x0011 index 0x0000");
    assert_eq!(
        ev[1],
        (
            "error_response".into(),
            EventCategory::Diagnostics,
            "read_szl: information function unavailable (0xd402)".into()
        )
    );
}

#[test]
fn userdata_functions_categories() {
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let clock = [0x00, 0x19, 0x14, 0x08, 0x20, 0x11, 0x59, 0x33, 0x04, 0x00];
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x47, 2, None, &ud_data(0xff, &clock)),
        &mut out,
    );
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x45, 1, None, &ud_data(0xff, b"secret!!")),
        &mut out,
    );
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x43, 3, None, &ud_data(0xff, b"0A00001A")),
        &mut out,
    );
    s.on_tsdu(
        &f,
        C2S,
        &userdata(0x43, 2, None, &ud_data(0xff, b"08")),
        &mut out,
    );
    assert_eq!(
        events(&out),
        vec![
            (
                "set_clock".into(),
                EventCategory::TimeSync,
                "2014-08-20 11:59:33".into()
            ),
            (
                "plc_password".into(),
                EventCategory::Authentication,
                String::new()
            ),
            (
                "get_block_info".into(),
                EventCategory::Diagnostics,
                "DB1".into()
            ),
            (
                "list_blocks_of_type".into(),
                EventCategory::Diagnostics,
                "OB".into()
            ),
        ]
    );
    assert!(out.events().iter().all(|e| !e.detail.contains("secret")));
}

#[test]
fn tpkt_framing_split_and_coalesced() {
    fn tpkt(payload: &[u8]) -> Vec<u8> {
        let mut r = vec![3, 0];
        r.extend_from_slice(&((payload.len() + 7) as u16).to_be_bytes());
        r.extend_from_slice(&[2, 0xf0, 0x80]);
        r.extend_from_slice(payload);
        r
    }
    let cr = [
        3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 10, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2,
    ];
    let setup = pdu(
        rosctr::JOB,
        1,
        None,
        &[func::SETUP_COMMUNICATION, 0, 0, 1, 0, 1, 1, 0xe0],
        &[],
    );
    let mut read = vec![func::READ_VAR, 1];
    read.extend(any(2, 2, 0, 0x81, 4, 0));
    let mut stream = cr.to_vec();
    stream.extend(tpkt(&setup));
    stream.extend(tpkt(&pdu(rosctr::JOB, 2, None, &read, &[])));
    stream.extend(tpkt(&pdu(rosctr::JOB, 3, None, &read, &[])));
    for cut in 0..stream.len() {
        let mut d = crate::iso_tsap::IsoTsapDissector::default();
        let mut out = Observations::default();
        let f = flow();
        for piece in [&stream[..cut], &stream[cut..]] {
            d.on_stream(&f, C2S, StreamChunk::Data(piece), &mut out);
        }
        assert_eq!(d.protocol(), "s7comm", "cut {cut}");
        let ev = events(&out);
        assert_eq!(ev.len(), 2, "cut {cut}: {ev:?}");
        assert_eq!(ev[0].2, "pdu 480, amq 1/1, pg, rack 0 slot 2");
        assert_eq!(ev[1].2, "I 4.0 BYTE x2");
        assert_eq!(out.events()[1].count, 2);
        let got = facts(&mut out);
        assert_eq!(
            got,
            vec![(
                server(),
                Attribute::ProtocolAddress,
                "s7:rack:0:slot:2".into()
            )]
        );
    }
}

#[test]
fn truncated_and_hostile_pdus() {
    assert_eq!(
        Pdu::parse(&[0x32, 1]),
        Err(S7Error::Truncated {
            field: "header",
            offset: 0
        })
    );
    assert_eq!(Pdu::parse(&[0x33; 12]), Err(S7Error::NotS7 { byte: 0x33 }));
    assert_eq!(
        Pdu::parse(&[0x32, 9, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(S7Error::UnknownRosctr(9))
    );
    assert!(Pdu::parse(&[0x32, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    assert!(Pdu::parse(&[0x32, 1, 0, 0, 0, 0, 0, 4, 0, 0, 1]).is_err());
    assert!(UserdataParam::parse(&[0, 1, 0x12, 8, 0x12, 0x84, 1, 0]).is_err());
    assert_eq!(BlockName::from_file_name(b"_0Z00001P"), None);
    assert_eq!(BlockName::from_file_name(b"_0A0x001P"), None);
    // Item counts larger than the items present, odd data lengths: no panic, bounded output.
    let (items, count) = ItemSpecs::new(&[func::READ_VAR, 255, 0x12, 0x0a, 0x10]);
    assert_eq!((items.count(), count), (0, 255));
    assert_eq!(DataItems::new(&[0xff, 4, 0xff, 0xff, 1]).count(), 1);
    let mut s = Session::default();
    let mut out = Observations::default();
    let f = flow();
    let mut param = vec![func::READ_VAR, 20];
    for i in 0..20 {
        param.extend(any(2, 1, i, 0x84, 0, 0));
    }
    let full = pdu(rosctr::JOB, 1, None, &param, &[]);
    s.on_tsdu(&f, C2S, &full, &mut out);
    assert!(events(&out)[0].2.ends_with("; +16 more"));
    for cut in 0..full.len() {
        s.on_tsdu(&f, C2S, &full[..cut], &mut out);
        s.on_tsdu(
            &f,
            S2C,
            &userdata(0x84, 1, Some((1, false, 0)), &full[..cut]),
            &mut out,
        );
    }
    // An endless fragmented answer stops at the reassembly bound.
    let chunk = ud_data(0xff, &[0u8; 1000]);
    for _ in 0..20 {
        s.on_tsdu(
            &f,
            S2C,
            &userdata(0x84, 1, Some((1, false, 0)), &chunk),
            &mut out,
        );
        assert!(s.fragments.buf.len() <= MAX_USERDATA_REASSEMBLY);
    }
}

/// TPKT, COTP and S7 header rules, through the port-102 dissector: each reported from its
/// sender under the protocol the flow carries.
#[test]
fn header_rules_and_undecodable_pdus_are_reported() {
    fn tpkt(reserved: u8, li: u8, payload: &[u8]) -> Vec<u8> {
        let cotp_len = usize::from(li) + 1;
        let mut r = vec![3, reserved];
        r.extend_from_slice(&((payload.len() + 4 + cotp_len) as u16).to_be_bytes());
        r.push(li);
        r.extend_from_slice(&[0xf0, 0x80]);
        r.resize(4 + cotp_len, 0);
        r.extend_from_slice(payload);
        r
    }
    let mut read = vec![func::READ_VAR, 1];
    read.extend(any(2, 2, 0, 0x81, 4, 0));
    let good = pdu(rosctr::JOB, 1, None, &read, &[]);
    let mut reserved = good.clone();
    reserved[3] = 1;
    let mut long = good.clone();
    long.push(0);
    let mut stream = tpkt(0, 2, &good);
    stream.extend(tpkt(7, 2, &good));
    stream.extend(tpkt(0, 4, &good));
    stream.extend(tpkt(0, 2, &reserved));
    stream.extend(tpkt(0, 2, &long));
    stream.extend(tpkt(0, 2, &[0x32, 9, 0, 0, 0, 1, 0, 0, 0, 0]));
    stream.extend(tpkt(0, 2, &[0x32, 1, 0, 0, 0, 1, 0, 9, 0, 0]));
    // Then TPKT version 2: the framing is lost.
    stream.extend([2, 0, 0, 7, 2, 0xf0, 0x80]);
    let mut d = crate::iso_tsap::IsoTsapDissector::default();
    let mut out = Observations::default();
    d.on_stream(&flow(), C2S, StreamChunk::Data(&stream), &mut out);
    let spec: Vec<String> = out
        .events()
        .iter()
        .filter(|e| matches!(&*e.operation, "malformed" | "violation"))
        .inspect(|e| assert_eq!(e.protocol, "s7comm"))
        .inspect(|e| assert_eq!(e.src.ip, Some("10.0.0.1".parse().unwrap())))
        .map(|e| format!("{} {}", e.operation, e.detail))
        .collect();
    assert_eq!(
        spec,
        [
            "violation TPKT reserved byte 0x07, must be 0",
            "violation COTP DT length indicator 4, class 0 has 2",
            "violation S7comm reserved header field 0x0001, must be 0",
            "violation S7comm header and lengths announce 24 bytes but the PDU has 25",
            "malformed S7comm: unknown ROSCTR 9",
            "malformed S7comm: truncated parameter at offset 10",
            "malformed TPKT: version 2, expected 3",
        ]
    );
}
