//! Fuzzes the TLS parsers and dissector: the record header, the handshake message views
//! (ClientHello with its fingerprints, ServerHello, Certificate list) and the certificate
//! summary on the raw input, then the dissector on the same bytes as whole stream chunks or as
//! records (see `common/dissect.rs`).
#![no_main]

use ironward_proto::tls::certificate::CertificateSummary;
use ironward_proto::tls::handshake::{CertificateList, ClientHello, ServerHello};
use ironward_proto::tls::{ja, RecordHeader, TlsDissector, MAX_RECORD};
use ironward_proto::Transport;
use libfuzzer_sys::fuzz_target;

#[path = "common/dissect.rs"]
mod dissect;

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(header)) = RecordHeader::parse(data) {
        assert!(usize::from(header.length) <= MAX_RECORD);
    }
    if let Ok(hello) = ClientHello::parse(data) {
        let ja3 = ja::ja3(&hello);
        assert_eq!(ja3.len(), 32);
        let ja4 = ja::ja4(&hello);
        assert_eq!(ja4.len(), 36, "{ja4}");
        assert!(ja4.is_ascii());
        // Every list view stays within the input.
        assert!(hello.cipher_suites().len() <= data.len() / 2);
        assert!(hello.extensions().count() <= data.len() / 4);
        let _ = (
            hello.server_name(),
            hello.alpn().count(),
            hello.highest_version(),
        );
    }
    if let Ok(hello) = ServerHello::parse(data) {
        let _ = (
            hello.negotiated_version(),
            hello.alpn(),
            hello.is_hello_retry_request(),
        );
    }
    if let Ok(list) = CertificateList::parse(data) {
        assert!(list.iter().count() <= data.len() / 3);
    }
    let _ = CertificateList::leaf_from_prefix(data);
    if let Ok(summary) = CertificateSummary::parse(data) {
        let _ = summary.describe();
    }
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let meta = dissect::flow(Transport::Tcp, 443);
    let mut dissector = TlsDissector::default();
    if first & 1 == 0 {
        dissect::drive_whole(&mut dissector, meta, rest);
    } else {
        dissect::drive(&mut dissector, meta, rest);
    }
});
