//! Fuzzes the telnet decoder and dissector: option negotiation and subnegotiations on the raw
//! input (whole, then byte by byte: the same items), then the dissector (banner, prompts, login
//! heuristics) on the same bytes as whole stream chunks or as records (see
//! `common/dissect.rs`).
#![no_main]

use ironward_proto::telnet::{self, Decoder, Item, TelnetDissector};
use ironward_proto::{Direction, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

/// Commands decoded from `pieces`, text bytes counted.
fn decode<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> (Vec<String>, usize) {
    let mut decoder = Decoder::default();
    let (mut commands, mut text) = (Vec::new(), 0);
    for piece in pieces {
        decoder.feed(piece, |item| match item {
            Item::Data(data) => text += data.len(),
            Item::Subnegotiation { data, .. } => {
                assert!(data.len() <= telnet::MAX_SUBNEGOTIATION);
                let _ = telnet::subnegotiation_is(data);
                commands.push(format!("{item:?}"));
            }
            other => commands.push(format!("{other:?}")),
        });
    }
    (commands, text)
}

fuzz_target!(|input: &[u8]| {
    // The first byte picks how the dissector is driven; the rest is the traffic.
    let (first, data) = input.split_first().unwrap_or((&0, &[]));
    let _ = telnet::looks_like_telnet(data);
    let whole = decode(std::iter::once(data));
    assert!(whole.1 <= data.len());
    let bytewise = decode(data.chunks(1));
    assert_eq!(whole, bytewise);
    let meta = dissect::flow(Transport::Tcp, 23);
    let mut dissector = TelnetDissector::new(Direction::ServerToClient);
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, data);
    } else {
        dissect::drive(&mut dissector, meta, data);
    }
});
