//! Fuzzes the SMB parsers (NetBIOS header and names, SMB1 negotiate and session setup with
//! their strings, SMB2 negotiate and session setup), the NTLMSSP parser and fact extraction
//! they hand tokens to, and the dissector's message framing, on the raw input and as whole
//! stream chunks or records (see `common/dissect.rs`). The first byte picks the mode.
#![no_main]

use ironward_model::{DeviceKey, Source, Timestamp};
use ironward_proto::ntlmssp;
use ironward_proto::smb::{
    self, Smb1, Smb1NegotiateResponse, Smb1SessionSetup, Smb2, Smb2NegotiateResponse,
    Smb2SessionSetup, SmbDissector,
};
use ironward_proto::{Observations, Transport};
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    let _ = smb::NbssHeader::parse(data);
    let mut name = [0u8; 16];
    if let Some((n, _, used)) = smb::netbios_name(data, &mut name) {
        assert!(n.len() <= 15 && used <= data.len());
    }
    if let Ok(m) = Smb1::parse(data) {
        let _ = Smb1NegotiateResponse::parse(&m);
        if let Ok(s) = Smb1SessionSetup::parse(&m) {
            let mut buf = [0u8; 64];
            assert!(s.native_os.decode(&mut buf).len() <= 64);
        }
    }
    if let Ok(m) = Smb2::parse(data) {
        let _ = Smb2NegotiateResponse::parse(&m);
        let _ = Smb2SessionSetup::parse(&m);
    }
    // NTLMSSP on its own: the input with the signature in front.
    let mut token = ntlmssp::SIGNATURE.to_vec();
    token.extend_from_slice(data);
    let _ = ntlmssp::parse(&token);
    let mut out = Observations::default();
    let key = DeviceKey::Ip([192, 0, 2, 1].into());
    ntlmssp::facts(&token, key, Source::Ntlmssp, Timestamp(0), &mut out);
    for fact in out.drain_facts() {
        assert!(!fact.value.is_empty());
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, if first & 2 == 0 { 445 } else { 139 });
    let mut dissector = SmbDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
