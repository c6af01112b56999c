use super::*;
use crate::test_support::hex;
use ironward_model::Timestamp;

/// A hand-built datagram with its BVLC length set to its real length.
fn datagram(text: &str) -> Vec<u8> {
    let mut bytes = hex(text);
    if bytes.len() >= 4 && bytes[0] == 0x81 {
        let len = (bytes.len() as u16).to_be_bytes();
        bytes[2..4].copy_from_slice(&len);
    }
    bytes
}

fn flow() -> FlowMeta {
    FlowMeta {
        id: 1,
        transport: Transport::Udp,
        client: ([10, 0, 0, 1], PORT).into(),
        server: ([10, 0, 0, 2], PORT).into(),
        now: Timestamp(1),
        frame: 1,
    }
}

type Facts = Vec<(DeviceKey, Attribute, String)>;
type Events = Vec<(String, EventCategory, String, String, u64, Option<String>)>;

/// Runs datagrams through one dissector: facts (subject, attribute, value) and events
/// (source ip, category, operation, detail, count, hash).
fn run(datagrams: &[(Direction, &str)]) -> (Facts, Events) {
    let f = flow();
    let first = datagram(datagrams[0].1);
    let mut d = BacnetFactory
        .select(&f, datagrams[0].0, &first)
        .expect("selected");
    let mut out = Observations::default();
    for (dir, text) in datagrams {
        d.on_datagram(&f, *dir, &datagram(text), &mut out);
    }
    d.on_end(&f, &mut out);
    let facts = out
        .drain_facts()
        .map(|x| (x.subject, x.attribute, x.value.into_owned()))
        .collect();
    let events = out
        .drain_events()
        .map(|e| {
            (
                e.src.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                e.category,
                e.operation.into_owned(),
                e.detail,
                e.count,
                e.content_hash,
            )
        })
        .collect();
    (facts, events)
}

fn ip(text: &str) -> DeviceKey {
    DeviceKey::Ip(text.parse().unwrap())
}

use Direction::{ClientToServer as C, ServerToClient as S};

/// iti_bacnet_test.pcap: wildcard ReadProperty requests and their ACKs (UCS-2 strings).
const ITI: [(Direction, &str); 8] = [
    (C, "810a001101040005010c0c023fffff194b"),
    (S, "810a0017010030010c0c023fffff194b3ec4020001f43f"),
    (C, "810a001101040005020c0c023fffff1979"),
    (S, "810a001b010030020c0c023fffff19793e750704004a004300493f"),
    (C, "810a001101040005030c0c023fffff192c"),
    (S, "810a0029010030030c0c023fffff192c3e7515040035002e0031002e0030002e00340034003000303f"),
    (C, "810a001101040005040c0c023fffff1946"),
    (S, "810a002d010030040c0c023fffff19463e751904004d0053002d004e004100450034003500310030002d00323f"),
];

#[test]
fn read_property_answers_name_the_device() {
    let (facts, events) = run(&ITI);
    let server = ip("10.0.0.2");
    for (attribute, value) in [
        (Attribute::ProtocolAddress, "bacnet:device:500"),
        (Attribute::Vendor, "JCI"),
        (Attribute::Firmware, "5.1.0.4400"),
        (Attribute::Model, "MS-NAE4510-2"),
        (Attribute::Service, "bacnet"),
    ] {
        assert!(
            facts.contains(&(server, attribute, value.to_owned())),
            "{attribute:?} {value}: {facts:?}"
        );
    }
    assert!(facts.iter().all(|f| f.0 == server));
    let details: Vec<_> = events
        .iter()
        .map(|e| (e.2.as_str(), e.3.as_str()))
        .collect();
    assert_eq!(
        details,
        [
            ("read_property", "device,4194303 object-identifier"),
            ("read_property", "device,4194303 vendor-name"),
            ("read_property", "device,4194303 firmware-revision"),
            ("read_property", "device,4194303 model-name"),
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.0 == "10.0.0.1" && e.1 == EventCategory::Read));
}

#[test]
fn who_is_and_i_am() {
    let (facts, events) = run(&[
        (C, "810b000c0120ffff00ff10080900 1a0fff"),
        (S, "810b00190120ffff00ff1000c40203f7a12205c4910021 05"),
    ]);
    let server = ip("10.0.0.2");
    assert!(facts.contains(&(
        server,
        Attribute::ProtocolAddress,
        "bacnet:device:260001".into()
    )));
    assert!(facts.contains(&(server, Attribute::Vendor, "Johnson Controls, Inc.".into())));
    assert_eq!(events[0].2, "who_is");
    assert_eq!(events[0].3, "range 0-4095");
    assert_eq!(events[0].1, EventCategory::Discovery);
    assert_eq!(events[1].2, "i_am");
    assert_eq!(
        events[1].3,
        "device,260001 vendor 5 max-apdu 1476 segmentation both"
    );
    let (_, events) = run(&[(C, "810b00080120ffff00ff1008")]);
    assert_eq!(events[0].3, "all");
}

#[test]
fn writes_commands_and_passwords() {
    let (facts, events) = run(&[
        // WriteProperty analog-value,1 present-value = 72 priority 8.
        (
            C,
            "810a0018 0104 0005070f 0c00800001 1955 3e4442900000 3f 4908",
        ),
        (S, "810a0009 0100 20070f"),
        // ReinitializeDevice warmstart with password "secret".
        (C, "810a0013 0104 00050814 0901 1d0700736563726574"),
        // DeviceCommunicationControl disable for 60 minutes, password "secret".
        (C, "810a0015 0104 00050911 093c 1901 2d0700736563726574"),
        // TimeSynchronization.
        (C, "810a0012 0120ffff00ff 1006 a4780c0106 b40c000000"),
    ]);
    assert!(facts.iter().all(|f| f.1 == Attribute::Service));
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.1, e.2.as_str(), e.3.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                EventCategory::Write,
                "write_property",
                "analog-value,1 present-value = 72 priority 8"
            ),
            (
                EventCategory::ModeChange,
                "reinitialize_device",
                "warmstart"
            ),
            (
                EventCategory::ConfigurationChange,
                "device_communication_control",
                "disable 60 min"
            ),
            (EventCategory::TimeSync, "time_synchronization", ""),
        ]
    );
    for e in &events {
        assert!(!e.3.contains("secret"));
    }
}

#[test]
fn errors_rejects_and_aborts() {
    let (_, events) = run(&[
        (C, "810a0011 0104 0005010c 0c00800001 1955"),
        (S, "810a000d 0100 50010c 9101 911f"),
        (C, "810a000b 0104 00050209"),
        (S, "810a0009 0100 600209"),
        (C, "810a000f 0104 00050310 0c00800001"),
        (S, "810a0009 0100 710304"),
        // Abort sent by the client itself (SRV clear).
        (C, "810a0009 0100 700400"),
    ]);
    let got: Vec<_> = events
        .iter()
        .filter(|e| e.2 == "error_response")
        .map(|e| (e.0.as_str(), e.1, e.3.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "10.0.0.1",
                EventCategory::Read,
                "read_property: object unknown-object"
            ),
            (
                "10.0.0.1",
                EventCategory::Write,
                "remove_list_element: reject unrecognized-service"
            ),
            (
                "10.0.0.1",
                EventCategory::Write,
                "write_property_multiple: abort segmentation-not-supported"
            ),
            (
                "10.0.0.1",
                EventCategory::Other,
                "unknown_service: abort other"
            ),
        ]
    );
}

#[test]
fn read_property_multiple_request_and_answer() {
    // device,123: object-name, vendor-name, model-name; analog-input,1 present-value.
    let request = "810a001d 0104 0005050e 0c0200007b 1e 094d 0979 0946 1f 0c00000001 1e 0955 1f";
    // device,123: object-name "AHU-1", vendor-name error, system-status operational,
    // description "Roof".
    let answer = "810a0033 0100 30050e 0c0200007b 1e 294d 4e 7506 00 4148552d31 4f \
                  2979 5e 9102 9120 5f 2970 4e 9100 4f 291c 4e 7505 00526f6f66 4f 1f";
    let (facts, events) = run(&[(C, request), (S, answer)]);
    assert_eq!(
        events[0].3,
        "device,123 object-name,vendor-name,model-name; analog-input,1 present-value"
    );
    let server = ip("10.0.0.2");
    for (attribute, value) in [
        (Attribute::Hostname, "AHU-1"),
        (Attribute::State, "operational"),
        (Attribute::Description, "Roof"),
        (Attribute::ProtocolAddress, "bacnet:device:123"),
    ] {
        assert!(
            facts.contains(&(server, attribute, value.to_owned())),
            "{value}: {facts:?}"
        );
    }
}

#[test]
fn forwarded_and_routed_messages() {
    // A BBMD forwards an I-Am from 192.168.5.9:47808.
    let (facts, events) = run(&[(
        S,
        "8104001b c0a80509bac0 0120ffff00ff 1000 c40203f7a1 2205c4 9100 2105",
    )]);
    let origin = ip("192.168.5.9");
    assert!(facts.contains(&(
        origin,
        Attribute::ProtocolAddress,
        "bacnet:device:260001".into()
    )));
    assert!(facts.iter().all(|f| f.0 == origin));
    assert_eq!(events[0].0, "192.168.5.9");
    // An I-Am routed from network 3, MAC 0x6c: an event but no facts on the router.
    let (facts, events) = run(&[(S, "810b0018 0108 0003016c 1000 c40203f7a1 2205c4 9100 2105")]);
    assert!(facts.is_empty(), "{facts:?}");
    assert_eq!(events[0].2, "i_am");
}

#[test]
fn network_layer_and_bvlc_management() {
    let (_, events) = run(&[
        (C, "810b0008 0180 00"),
        (S, "810a000b 0180 01 0001 0002"),
        (C, "81050006 0010"),
        (S, "81000006 0030"),
        (C, "81020004"),
        (S, "81000006 0020"),
        (S, "81000006 0000"),
    ]);
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.0.as_str(), e.1, e.2.as_str(), e.3.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "10.0.0.1",
                EventCategory::Discovery,
                "who_is_router_to_network",
                "all"
            ),
            (
                "10.0.0.2",
                EventCategory::Discovery,
                "i_am_router_to_network",
                "networks 1,2"
            ),
            (
                "10.0.0.1",
                EventCategory::ConfigurationChange,
                "register_foreign_device",
                "ttl 16"
            ),
            (
                "10.0.0.1",
                EventCategory::ConfigurationChange,
                "error_response",
                "register_foreign_device: nak 0x0030"
            ),
            (
                "10.0.0.1",
                EventCategory::Diagnostics,
                "read_broadcast_distribution_table",
                ""
            ),
            (
                "10.0.0.1",
                EventCategory::Diagnostics,
                "error_response",
                "read_broadcast_distribution_table: nak 0x0020"
            ),
        ]
    );
}

/// An AtomicReadFile request for file,1 at `start`, and its ACK with `data`.
fn read_file(invoke: u8, start: u8, data: &str, eof: bool) -> [String; 2] {
    let request = format!("0104 0005{invoke:02x}06 c402800001 0e 31{start:02x} 220400 0f");
    let len = data.len() / 2;
    let ack = format!(
        "0100 30{invoke:02x}06 {} 0e 31{start:02x} 65{len:02x}{data} 0f",
        if eof { "11" } else { "10" }
    );
    [request, ack].map(|npdu| {
        let npdu = hex(&npdu);
        let mut datagram = vec![0x81, 0x0a];
        datagram.extend_from_slice(&((npdu.len() + 4) as u16).to_be_bytes());
        datagram.extend_from_slice(&npdu);
        datagram.iter().map(|b| format!("{b:02x}")).collect()
    })
}

#[test]
fn whole_file_reads_are_hashed() {
    let [r1, a1] = read_file(1, 0, "61626364", false);
    let [r2, a2] = read_file(2, 4, "6566", true);
    let (_, events) = run(&[(C, &r1), (S, &a1), (C, &r2), (S, &a2)]);
    let read: Vec<_> = events
        .iter()
        .filter(|e| e.1 == EventCategory::Read)
        .collect();
    assert_eq!(read.len(), 1);
    assert_eq!((read[0].3.as_str(), read[0].4), ("file,1 stream", 2));
    let upload: Vec<_> = events
        .iter()
        .filter(|e| e.1 == EventCategory::ProgramUpload)
        .collect();
    assert_eq!(upload.len(), 1);
    assert_eq!(upload[0].3, "file,1 6 bytes");
    assert_eq!(upload[0].0, "10.0.0.1");
    // sha256("abcdef")
    assert_eq!(
        upload[0].5.as_deref(),
        Some("bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721")
    );
    // A gap in positions abandons the transfer.
    let [r3, a3] = read_file(2, 5, "6566", true);
    let (_, events) = run(&[(C, &r1), (S, &a1), (C, &r3), (S, &a3)]);
    assert!(events.iter().all(|e| e.1 == EventCategory::Read));
}

#[test]
fn whole_file_writes_are_hashed() {
    let write = |invoke: u8, start: u8, data: &str| {
        format!(
            "810a{:04x} 0104 0005{invoke:02x}07 c402800001 0e 31{start:02x} 65{:02x}{data} 0f",
            16 + data.len() / 2,
            data.len() / 2
        )
    };
    let (w1, w2) = (write(1, 0, "61626364"), write(2, 4, "6566"));
    let (_, events) = run(&[(C, &w1), (C, &w2)]);
    let download: Vec<_> = events
        .iter()
        .filter(|e| e.1 == EventCategory::ProgramDownload)
        .collect();
    assert_eq!(download.len(), 1, "{events:?}");
    assert_eq!(download[0].3, "file,1 6 bytes");
    assert_eq!(
        download[0].5.as_deref(),
        Some("bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721")
    );
    let writes = events.iter().find(|e| e.1 == EventCategory::Write).unwrap();
    assert_eq!(
        (writes.2.as_str(), writes.3.as_str(), writes.4),
        ("atomic_write_file", "file,1 stream", 2)
    );
    // Full chunks only: the transfer ends with the flow.
    let (w2, w3) = (write(2, 4, "65666768"), write(3, 8, "696a6b6c"));
    let (_, events) = run(&[(C, &w1), (C, &w2), (C, &w3)]);
    let download: Vec<_> = events
        .iter()
        .filter(|e| e.1 == EventCategory::ProgramDownload)
        .collect();
    assert_eq!(download[0].3, "file,1 12 bytes");
}

#[test]
fn segmented_requests_count_once() {
    // A segmented WritePropertyMultiple: first segment (seq 0) and second (seq 1).
    let (_, events) = run(&[
        (
            C,
            "810a0016 0104 0c050a0004 10 0c00800001 1e 0955 2e 4442900000 2f 1f",
        ),
        (C, "810a000c 0104 08050a0104 10 2f"),
    ]);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].3, "analog-value,1 present-value = 72");
}

#[test]
fn truncated_and_hostile_datagrams() {
    let mut all: Vec<Vec<u8>> = ITI.iter().map(|(_, t)| hex(t)).collect();
    all.push(hex(
        "810a001d 0104 0005050e 0c0200007b 1e 094d 0979 0946 1f 0c00000001 1e 0955 1f",
    ));
    all.push(hex(
        "8104001b c0a80509bac0 0120ffff00ff 1000 c40203f7a1 2205c4 9100 2105",
    ));
    let f = flow();
    let mut out = Observations::default();
    for datagram in &all {
        for cut in 0..datagram.len() {
            let mut d = BacnetDissector::default();
            let mut piece = datagram[..cut].to_vec();
            // Keep the BVLC length consistent so the cut reaches the inner parsers.
            if piece.len() >= 4 {
                let len = (piece.len() as u16).to_be_bytes();
                piece[2..4].copy_from_slice(&len);
            }
            d.on_datagram(&f, C, &piece, &mut out);
            d.on_datagram(&f, S, &piece, &mut out);
        }
    }
    // Deeply nested opening tags in a WriteProperty value.
    let mut deep = hex("0104 0005070f 0c00800001 1955");
    deep.extend(std::iter::repeat_n(0x3e, 200));
    let mut datagram = vec![0x81, 0x0a];
    datagram.extend_from_slice(&((deep.len() + 4) as u16).to_be_bytes());
    datagram.extend_from_slice(&deep);
    let mut d = BacnetDissector::default();
    d.on_datagram(&f, C, &datagram, &mut out);
    // The write is reported with what was read, then the value as malformed.
    let events = out.events();
    let n = events.len();
    assert_eq!(events[n - 2].operation, "write_property");
    assert_eq!(events[n - 1].operation, "malformed");
    assert!(events[n - 1]
        .detail
        .starts_with("BACnet tags nested too deep"));
    assert!(!looks_like_bvlc(b"\x81\x0a\x00\x05\x02"));
    assert!(!looks_like_bvlc(b"GET / HTTP/1.1"));
    assert!(looks_like_bvlc(&hex(ITI[0].1)));
    assert!(matches!(
        Npdu::parse(&[2, 0]),
        Err(BacnetError::BadNpduVersion(2))
    ));
}

#[test]
fn the_side_that_answers_is_the_server() {
    let f = flow();
    let mut d = BacnetDissector::default();
    let mut out = Observations::default();
    // The device answers a broadcast Who-Is with a unicast I-Am (device 500, vendor 5), so it
    // speaks first on the unicast flow; then it is polled.
    let i_am = datagram("810a0014 0100 1000 c4020001f4 2201e0 9100 2105");
    d.on_datagram(&f, C, &i_am, &mut out);
    assert!(d.roles_reversed());
    for (dir, text) in [ITI[1], ITI[0]] {
        // A poll from the flow's server side and the device's answer.
        let dir = if dir == C { S } else { C };
        d.on_datagram(&f, dir, &datagram(text), &mut out);
    }
    assert!(d.roles_reversed());
    // A poller that speaks first is the client, as the flow says.
    let mut d = BacnetDissector::default();
    for (dir, text) in ITI {
        d.on_datagram(&f, dir, &datagram(text), &mut out);
    }
    assert!(!d.roles_reversed());
}

#[test]
fn header_rules_and_undecodable_pdus_are_reported() {
    let f = flow();
    let mut out = Observations::default();
    let mut d = BacnetDissector::default();
    // Who-Is with a BVLC length two bytes short, an NPDU with reserved control bits, an
    // undefined BVLC function, NPDU version 2, and an APDU cut in its header.
    for bytes in [
        "810b 0006 0100 1008",
        "810b 0008 0150 1008",
        "811f 0004",
        "810b 0006 0200",
        "810a 0007 0104 00",
    ] {
        d.on_datagram(&f, C, &hex(bytes), &mut out);
    }
    let spec: Vec<String> = out
        .events()
        .iter()
        .filter(|e| matches!(&*e.operation, "malformed" | "violation"))
        .map(|e| format!("{} {}", e.operation, e.detail))
        .collect();
    assert_eq!(
        spec,
        [
            "violation BVLC length 6 but the datagram has 8 bytes",
            // Read as far as the length says, the NPDU holds no APDU.
            "malformed BACnet truncated at apdu type (offset 0)",
            "violation NPDU control 0x50: reserved bits 0x50 must be 0",
            "violation BVLC function 0x1f not defined",
            "violation BACnet NPDU version 2 (1 expected)",
            "malformed BACnet truncated at max apdu (offset 1)",
        ]
    );
}

#[test]
fn pieces_cut_details_as_write_does() {
    // Every buffer size around the text's length: the pieces must stop where `write!` stops.
    let ids = [
        ObjectId::from_u32(0x0200_0005),
        ObjectId::from_u32(0xffc0_0007),
        ObjectId::from_u32(u32::MAX),
    ];
    for id in ids {
        for prefix in 0..24 {
            let mut written = ValueBuf::<24>::new();
            let mut pieces = ValueBuf::<24>::new();
            for _ in 0..prefix {
                written.push_bytes(b"x");
                pieces.push_bytes(b"x");
            }
            // Not literals: `format_args!` would fold those into the text around them.
            let (index, priority) = (std::hint::black_box(12345u64), std::hint::black_box(7u64));
            let _ = write!(written, " {id}[{index}] priority {priority}");
            Pieces::new(&mut pieces)
                .text(" ")
                .object(id)
                .text("[")
                .num(index)
                .text("] priority ")
                .num(priority);
            assert_eq!(written.as_str(), pieces.as_str(), "{id} after {prefix}");
        }
    }
}

#[test]
fn only_the_properties_named_a_fact_make_one() {
    // The plain-ACK shortcut skips device properties `names_a_fact` rejects: device_property
    // must record nothing for them, whatever the value.
    let f = flow();
    let origin = Origin {
        flow: &f,
        direction: Direction::ServerToClient,
        device: Some(f.sender(Direction::ServerToClient)),
    };
    let device = ObjectId::from_u32(8 << 22 | 5);
    let values: [&[u8]; 3] = [
        &[0x75, 0x04, 0x00, b'a', b'b', b'c'],
        &[0x21, 0x05],
        &[0xc4, 0x02, 0, 0, 5],
    ];
    for property in 0..1024u64 {
        for value in values {
            let tag = TagReader::new(value).next_tag().unwrap().unwrap();
            let mut out = Observations::default();
            device_property(&origin, device, property, &tag, &mut out);
            let facts = out.drain_facts().count();
            assert!(facts == 0 || names_a_fact(property), "property {property}");
        }
    }
}
