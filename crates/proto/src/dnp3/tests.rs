#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use ironward_model::{Event, Timestamp};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn flow(transport: Transport) -> FlowMeta {
    FlowMeta {
        id: 1,
        transport,
        client: "10.0.0.1:40000".parse().unwrap(),
        server: "10.0.0.2:20000".parse().unwrap(),
        now: Timestamp(1),
        frame: 1,
    }
}

/// One link frame carrying `user` (transport header included), with CRCs.
fn link(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
    let mut header = vec![0x05, 0x64, 5 + user.len() as u8, control];
    header.extend_from_slice(&dst.to_le_bytes());
    header.extend_from_slice(&src.to_le_bytes());
    let mut frame = header.clone();
    frame.extend_from_slice(&crc(&header).to_le_bytes());
    for block in user.chunks(16) {
        frame.extend_from_slice(block);
        frame.extend_from_slice(&crc(block).to_le_bytes());
    }
    frame
}

/// A request from master 3 to outstation 4 in one frame.
fn request(app: &[u8]) -> Vec<u8> {
    let mut user = vec![0xc0];
    user.extend_from_slice(app);
    link(0xc4, 4, 3, &user)
}

/// A response from outstation 4 to master 3 in one frame.
fn response(app: &[u8]) -> Vec<u8> {
    let mut user = vec![0xc0];
    user.extend_from_slice(app);
    link(0x44, 3, 4, &user)
}

fn run(chunks: &[(Direction, &[u8])]) -> (Vec<Event>, Observations, Dnp3Dissector) {
    let mut d = Dnp3Dissector::default();
    let mut out = Observations::default();
    for (dir, bytes) in chunks {
        d.on_stream(
            &flow(Transport::Tcp),
            *dir,
            StreamChunk::Data(bytes),
            &mut out,
        );
    }
    (out.events().to_vec(), out, d)
}

fn ops(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {:?} {}", e.operation, e.category, e.detail))
        .collect()
}

#[test]
fn crc_matches_a_captured_header() {
    // dnp3_auth_change_session_keys frame 4: checksum 0xd36d.
    assert_eq!(
        crc(&[0x05, 0x64, 0x0e, 0xc4, 0x04, 0x00, 0x03, 0x00]),
        0xd36d
    );
    let frame = request(&[0xc1, 0x20, 0x78, 0x04, 0x07, 0x01, 0x01, 0x00]);
    let parsed = LinkFrame::parse(&frame).unwrap();
    assert_eq!((parsed.source, parsed.destination), (3, 4));
    assert!(parsed.from_master() && parsed.has_user_data());
    assert!(looks_like_dnp3(&frame));
}

#[test]
fn read_request_split_and_coalesced() {
    let read = request(&[0xc1, 1, 60, 2, 6, 60, 3, 6, 60, 4, 6, 60, 1, 6]);
    let mut twice = read.clone();
    twice.extend_from_slice(&read);
    let mut d = Dnp3Dissector::default();
    let mut out = Observations::default();
    for byte in twice.chunks(3) {
        d.on_stream(
            &flow(Transport::Tcp),
            C2S,
            StreamChunk::Data(byte),
            &mut out,
        );
    }
    assert_eq!(
        ops(&out.events()),
        ["read Read outstation 4, class 1 (g60v2), class 2 (g60v3), class 3 (g60v4), class 0 (g60v1)"]
    );
    assert_eq!(out.events()[0].count, 2);
    let facts: Vec<_> = out.drain_facts().collect();
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].value, "dnp3:3");
}

#[test]
fn fragment_reassembled_across_frames() {
    // A write of g80v1 index 7 split over two frames (FIR then FIN).
    let app = [0xc2, 2, 80, 1, 0, 7, 7, 0];
    let first = {
        let mut u = vec![0x40 | 5];
        u.extend_from_slice(&app[..3]);
        link(0xc4, 4, 3, &u)
    };
    let last = {
        let mut u = vec![0x80 | 6];
        u.extend_from_slice(&app[3..]);
        link(0xc4, 4, 3, &u)
    };
    let mut both = first.clone();
    both.extend_from_slice(&last);
    let (events, _, _) = run(&[(C2S, &both)]);
    assert_eq!(
        ops(&events),
        ["write Write outstation 4, g80v1 index 7 clear"]
    );
    // Out of sequence: dropped.
    let skipped = {
        let mut u = vec![0x80 | 9];
        u.extend_from_slice(&app[3..]);
        link(0xc4, 4, 3, &u)
    };
    let (events, _, d) = run(&[(C2S, &first), (C2S, &skipped)]);
    assert!(events.is_empty());
    assert_eq!(d.errors.dropped_fragments, 1);
}

#[test]
fn bad_crc_is_counted_and_the_stream_resyncs() {
    let mut bad = request(&[0xc1, 13]);
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let mut bad_header = request(&[0xc1, 14]);
    bad_header[8] ^= 1;
    let mut stream = vec![0xde, 0xad];
    stream.extend_from_slice(&bad);
    stream.extend_from_slice(&bad_header);
    stream.extend_from_slice(&request(&[0xc1, 13]));
    let (events, _, d) = run(&[(C2S, &stream)]);
    let (spec, events): (Vec<Event>, Vec<Event>) = events
        .into_iter()
        .partition(|e| matches!(&*e.operation, "malformed" | "violation"));
    assert_eq!(ops(&events), ["cold_restart ModeChange outstation 4"]);
    assert_eq!(d.errors.bad_crc, 2);
    assert!(d.errors.skipped_bytes >= 2);
    // Each is reported from the master that sent it: the garbage, the data CRC (the block at
    // offset 10), the header CRC.
    let spec: Vec<_> = spec
        .iter()
        .map(|e| format!("{} {}", e.operation, e.detail))
        .collect();
    assert_eq!(
        spec,
        [
            "malformed DNP3 start bytes not 0x0564 at offset 0, bytes skipped to the next start",
            "violation DNP3 CRC mismatch for the block at offset 10",
            "violation DNP3 CRC mismatch for the block at offset 0",
        ]
    );
}

#[test]
fn short_link_length_and_application_header() {
    let mut short = link(0xc4, 4, 3, &[]);
    short[2] = 4;
    let (events, _, _) = run(&[(C2S, &short)]);
    assert_eq!(events[0].operation, "violation");
    assert_eq!(events[0].detail, "DNP3 link length 4 at offset 2");
    // A transport segment with FIR and FIN but no application control byte.
    let (events, _, d) = run(&[(C2S, &link(0xc4, 4, 3, &[0xc0]))]);
    assert_eq!(d.errors.bad_objects, 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].operation, "malformed");
}

#[test]
fn select_operate_and_failed_status() {
    let crob = [
        12, 1, 0x28, 1, 0, 1, 0, 0x03, 1, 100, 0, 0, 0, 100, 0, 0, 0, 0,
    ];
    let mut select = vec![0xc7, 3];
    select.extend_from_slice(&crob);
    let mut operate = vec![0xc8, 4];
    operate.extend_from_slice(&crob);
    let mut refused = vec![0xc8, 129, 0, 0];
    refused.extend_from_slice(&crob);
    *refused.last_mut().unwrap() = 4;
    let (events, mut out, _) = run(&[
        (C2S, &request(&select)),
        (C2S, &request(&operate)),
        (S2C, &response(&refused)),
    ]);
    assert_eq!(
        ops(&events),
        [
            "select ControlCommand outstation 4, g12v1 index 1 latch on, count 1, on 100 ms, off 100 ms",
            "operate ControlCommand outstation 4, g12v1 index 1 latch on, count 1, on 100 ms, off 100 ms",
            "error_response ControlCommand outstation 4, g12v1 index 1 status 4 (not supported)",
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.src.ip == Some(flow(Transport::Tcp).client.ip())));
    let facts: Vec<_> = out.drain_facts().collect();
    assert!(facts.iter().any(|f| f.value == "dnp3:4"));
    assert!(facts
        .iter()
        .any(|f| f.attribute == Attribute::Service && f.value == "dnp3"));
}

#[test]
fn iin_changes_and_errors() {
    let restart = request(&[0xc1, 13]);
    let refused = response(&[0xc1, 129, 0x00, 0x01]);
    let needs_time = response(&[0xc2, 129, 0x90, 0x00]);
    let (events, _, _) = run(&[
        (C2S, &restart),
        (S2C, &refused),
        (S2C, &needs_time),
        (S2C, &needs_time),
        (S2C, &refused),
    ]);
    assert_eq!(
        ops(&events),
        [
            "cold_restart ModeChange outstation 4",
            "error_response ModeChange outstation 4, cold_restart, function not supported",
            "iin Diagnostics outstation 4, device restart, need time",
            "iin Diagnostics outstation 4, cleared",
        ]
    );
    assert_eq!(events[1].count, 2);
}

#[test]
fn time_sync_freeze_unsolicited_and_auth() {
    let write_time = request(&[0xc3, 2, 50, 1, 7, 1, 1, 2, 3, 4, 5, 6]);
    let freeze = request(&[0xc4, 7, 20, 0, 6]);
    let unsol = response(&[0xf0, 130, 0, 0, 2, 1, 0x17, 1, 3, 0x81]);
    let auth = request(&[0xc1, 0x20, 0x78, 0x04, 0x07, 0x01, 0x01, 0x00]);
    let auth_error = response(&[0xc1, 131, 0, 0, 120, 7, 0x5b, 1, 2, 0, 9, 9]);
    let (events, _, _) = run(&[
        (C2S, &write_time),
        (C2S, &freeze),
        (S2C, &unsol),
        (C2S, &auth),
        (S2C, &auth_error),
    ]);
    assert_eq!(
        ops(&events),
        [
            "write TimeSync outstation 4, g50v1",
            "immediate_freeze ControlCommand outstation 4, g20v0",
            "unsolicited_response Other outstation 4, g2v1",
            "authentication_request Authentication outstation 4, session key status request (g120v4)",
            "authentication_error Authentication outstation 4, error (g120v7)",
        ]
    );
    // The unsolicited response's source is the outstation.
    assert_eq!(events[2].src.ip, Some(flow(Transport::Tcp).server.ip()));
}

#[test]
fn file_read_is_hashed() {
    let mut open = vec![0xce, 25, 70, 3, 0x5b, 1, 36, 0];
    let mut obj = vec![26, 0, 10, 0];
    obj.extend_from_slice(&[0; 16]);
    obj.extend_from_slice(&[1, 0, 0, 4, 4, 0]);
    obj.extend_from_slice(b"./test.xml");
    open.extend_from_slice(&obj);
    let block = |n: u32, data: &[u8]| {
        let mut app = vec![0xc0, 129, 0, 0, 70, 5, 0x5b, 1];
        app.extend_from_slice(&((8 + data.len()) as u16).to_le_bytes());
        app.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        app.extend_from_slice(&n.to_le_bytes());
        app.extend_from_slice(data);
        response(&app)
    };
    let (events, _, _) = run(&[
        (C2S, &request(&open)),
        (S2C, &block(0, b"<a>")),
        (S2C, &block(0x8000_0001, b"</a>")),
    ]);
    assert_eq!(
        ops(&events),
        [
            "open_file ProgramUpload outstation 4, g70v3 ./test.xml, read",
            "read_file ProgramUpload outstation 4, file ./test.xml, 7 bytes",
        ]
    );
    let expected: String = Sha256::digest(b"<a></a>")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(events[1].content_hash.as_deref(), Some(expected.as_str()));
    assert_eq!(events[1].src.ip, Some(flow(Transport::Tcp).client.ip()));
}

#[test]
fn udp_datagrams_and_device_attributes() {
    let mut d = Dnp3Dissector::default();
    let mut out = Observations::default();
    let mut datagram = link(0xc9, 1, 100, &[]);
    datagram.extend_from_slice(&response(&[
        0xc0, 129, 0, 0, 0, 252, 0x00, 0, 0, 1, 4, b'A', b'c', b'm', b'e',
    ]));
    d.on_datagram(&flow(Transport::Udp), S2C, &datagram, &mut out);
    let facts: Vec<_> = out.drain_facts().collect();
    assert!(facts
        .iter()
        .any(|f| f.attribute == Attribute::Vendor && f.value == "Acme"));
    assert!(out.events().is_empty());
}

#[test]
fn truncated_and_hostile_fragments() {
    // A count far beyond the data, a huge range, a header cut short.
    for app in [
        &[0xc0, 2, 30, 1, 0x09, 0xff, 0xff, 0xff, 0x7f][..],
        &[0xc0, 5, 12, 1, 0x02, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff][..],
        &[0xc0, 1, 30][..],
        &[0xc0][..],
    ] {
        let (events, _, _) = run(&[(C2S, &request(app))]);
        assert!(events.len() <= 1);
    }
}

#[test]
fn file_write_is_hashed_as_a_download() {
    let mut open = vec![0xc1, 25, 70, 3, 0x5b, 1, 31, 0];
    let mut obj = vec![26, 0, 5, 0];
    obj.extend_from_slice(&[0; 16]);
    obj.extend_from_slice(&[2, 0, 0, 4, 4, 0]);
    obj.extend_from_slice(b"a.cfg");
    open.extend_from_slice(&obj);
    let mut write = vec![0xc2, 2, 70, 5, 0x5b, 1, 11, 0];
    write.extend_from_slice(&1u32.to_le_bytes());
    write.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    write.extend_from_slice(b"x=1");
    let (events, _, _) = run(&[(C2S, &request(&open)), (C2S, &request(&write))]);
    assert_eq!(
        ops(&events),
        [
            "open_file ProgramDownload outstation 4, g70v3 a.cfg, write",
            "write_file ProgramDownload outstation 4, file a.cfg, 3 bytes",
            "write Write outstation 4, g70v5",
        ]
    );
}

#[test]
fn the_dir_bit_names_the_master() {
    // Over UDP an outstation's unsolicited response may open the flow: the outstation (DIR
    // clear) is then the flow's client, and the master (DIR set) answers with a confirm.
    let unsolicited = response(&[0xf0, 130, 0x00, 0x00]);
    let confirm = request(&[0xd0, 0]);
    let (_, _, d) = run(&[(C2S, &unsolicited), (S2C, &confirm)]);
    assert!(d.roles_reversed());
    // A master polling first is the client, as the flow says.
    let (_, _, d) = run(&[(C2S, &request(&[0xc1, 1, 60, 1, 6])), (S2C, &unsolicited)]);
    assert!(!d.roles_reversed());
}
