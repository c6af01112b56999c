#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Forwarding against real receivers on loopback: syslog listeners (UDP, TCP, TLS) that parse
//! the RFC 5424 header and the CEF/LEEF/JSON inside, a webhook server that verifies the HMAC,
//! an SMTP server speaking STARTTLS, receivers that are down and come back, and playbooks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{seed_time, TestConsole};
use ironward_console::forward::{parse, webhook, worker, worker::WorkerConfig};
use ironward_store::{AlertFilter, AlertId, AlertRecord, SiteId, Store};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

fn config() -> WorkerConfig {
    WorkerConfig {
        poll: Duration::from_millis(20),
        backoff_base: Duration::from_millis(30),
        backoff_max: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

async fn insert_alert(store: &Store, site: SiteId, title: &str, severity: &str) -> AlertId {
    store
        .insert_alert(&AlertRecord {
            id: AlertId(0),
            site_id: site,
            zone_id: None,
            engine: "policy".to_owned(),
            title: title.to_owned(),
            severity: severity.to_owned(),
            status: "new".to_owned(),
            devices: vec![],
            first_seen: seed_time(10),
            last_seen: seed_time(20),
            count: 1,
            payload: serde_json::json!({
                "kind": "policy.unauthorized_write",
                "description": "write | from = an \\ unknown\nclient",
                "src_ip": "10.0.0.66",
                "dst_ip": "10.0.0.1",
                "protocol": "modbus",
                "techniques": [{"id": "T0855", "name": "Unauthorized Command Message"}],
            }),
        })
        .await
        .unwrap()
}

async fn rule(store: &Store, name: &str, destination: serde_json::Value, secret: &str) -> i64 {
    store
        .create_forward_rule(
            name,
            &AlertFilter::default(),
            &destination,
            secret,
            ironward_console::state::now(),
        )
        .await
        .unwrap()
        .id
}

/// Runs worker rounds until `done` holds (at most ~10 s).
async fn rounds_until<F: FnMut() -> bool>(store: &Store, mut done: F) {
    let config = config();
    for _ in 0..500 {
        worker::round(store, &config).await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not delivered in time");
}

/// A test CA and a certificate it signed for `localhost`: (CA PEM, server config, leaf DER).
fn tls_server() -> (String, Arc<rustls::ServerConfig>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
        )
        .unwrap();
    (ca.pem(), Arc::new(config), leaf.der().to_vec())
}

/// Reads octet-counted frames from `stream` and sends each message to `tx`.
async fn read_frames<S: tokio::io::AsyncRead + Unpin>(mut stream: S, tx: mpsc::Sender<String>) {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        while let Some((msg, used)) = parse::octet_frame(&buf) {
            let _ = tx.send(String::from_utf8_lossy(msg).into_owned()).await;
            buf.drain(..used);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A TCP syslog receiver on `listener` (optionally TLS).
fn syslog_receiver(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(100);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        if let Ok(stream) = acceptor.accept(stream).await {
                            read_frames(stream, tx).await;
                        }
                    }
                    None => read_frames(stream, tx).await,
                }
            });
        }
    });
    rx
}

fn drain(rx: &mut mpsc::Receiver<String>, into: &mut Vec<String>) -> usize {
    while let Ok(msg) = rx.try_recv() {
        into.push(msg);
    }
    into.len()
}

#[tokio::test]
async fn syslog_over_udp_tcp_and_tls_carries_cef_leef_and_json() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();

    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_port = tls.local_addr().unwrap().port();
    let pinned = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pinned_port = pinned.local_addr().unwrap().port();
    let (ca_pem, server_config, leaf) = tls_server();
    let mut tcp_rx = syslog_receiver(tcp, None);
    let mut tls_rx = syslog_receiver(tls, Some(Arc::clone(&server_config)));
    let mut pinned_rx = syslog_receiver(pinned, Some(server_config));

    rule(
        store,
        "udp-cef",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": udp_port, "transport": "udp", "format": "cef"}),
        "",
    )
    .await;
    rule(
        store,
        "tcp-leef",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": tcp_port, "transport": "tcp", "format": "leef", "facility": 13}),
        "",
    )
    .await;
    rule(
        store,
        "tls-json",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": tls_port, "transport": "tls", "format": "json",
        "tls": {"ca_pem": ca_pem, "server_name": "localhost"}}),
        "",
    )
    .await;
    rule(
        store,
        "tls-pinned-cef",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": pinned_port, "transport": "tls", "format": "cef",
        "tls": {"fingerprint": ironward_console::forward::tls::fingerprint(&leaf),
                "server_name": "localhost"}}),
        "",
    )
    .await;
    let id = insert_alert(store, site.id, "Unauthorized write | to PLC", "critical").await;

    let (mut tcp_msgs, mut tls_msgs, mut pinned_msgs) = (Vec::new(), Vec::new(), Vec::new());
    rounds_until(store, || {
        drain(&mut tcp_rx, &mut tcp_msgs) >= 1
            && drain(&mut tls_rx, &mut tls_msgs) >= 1
            && drain(&mut pinned_rx, &mut pinned_msgs) >= 1
    })
    .await;

    // UDP: one datagram, RFC 5424 then CEF.
    let mut datagram = vec![0_u8; 70_000];
    let n = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut datagram))
        .await
        .unwrap()
        .unwrap();
    let msg = parse::syslog(std::str::from_utf8(&datagram[..n]).unwrap()).unwrap();
    assert_eq!(msg.pri, 16 * 8 + 2, "local0, critical");
    assert_eq!(
        (msg.version, msg.app_name.as_str(), msg.msgid.as_str()),
        (1, "ironward", "CEF")
    );
    let cef = parse::cef(&msg.msg).unwrap();
    assert_eq!(
        cef.header[1..5],
        [
            "Ironward",
            "Ironward",
            env!("CARGO_PKG_VERSION"),
            "policy.unauthorized_write"
        ]
    );
    assert_eq!(cef.header[5], "Unauthorized write | to PLC");
    assert_eq!(cef.header[6], "10");
    assert_eq!(cef.ext["src"], "10.0.0.66");
    assert_eq!(cef.ext["dst"], "10.0.0.1");
    assert_eq!(cef.ext["msg"], "write | from = an \\ unknown\nclient");
    assert_eq!(cef.ext["externalId"], id.to_string());

    // TCP: octet-counted, LEEF 2.0 with tabs.
    let msg = parse::syslog(&tcp_msgs[0]).unwrap();
    assert_eq!((msg.pri, msg.msgid.as_str()), (13 * 8 + 2, "LEEF"));
    let leef = parse::leef(&msg.msg).unwrap();
    assert_eq!(
        leef.header[0..5],
        [
            "2.0",
            "Ironward",
            "Ironward",
            env!("CARGO_PKG_VERSION"),
            "policy.unauthorized_write"
        ]
    );
    assert_eq!(leef.header[5], "x09");
    assert_eq!(leef.ext["sev"], "10");
    assert_eq!(leef.ext["src"], "10.0.0.66");
    assert_eq!(leef.ext["title"], "Unauthorized write | to PLC");
    assert_eq!(
        leef.ext["description"],
        "write | from = an \\ unknown\nclient"
    );

    // TLS verified by the CA: JSON.
    let msg = parse::syslog(&tls_msgs[0]).unwrap();
    assert_eq!(msg.msgid, "JSON");
    let doc: serde_json::Value = serde_json::from_str(&msg.msg).unwrap();
    assert_eq!(doc["alert_id"], id.0);
    assert_eq!(doc["severity"], "critical");
    assert_eq!(doc["techniques"][0]["id"], "T0855");

    // TLS verified by the pinned fingerprint: CEF.
    let msg = parse::syslog(&pinned_msgs[0]).unwrap();
    assert!(parse::cef(&msg.msg).is_some());

    let stats = store.forward_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delivered, stats.overflow), (0, 4, 0));

    // A second scan of the same alert queues nothing; a repeat (count 2) is a new occurrence.
    worker::round(store, &config()).await.unwrap();
    assert_eq!(store.forward_stats().await.unwrap().delivered, 4);
}

#[tokio::test]
async fn tls_receiver_with_an_unknown_certificate_is_refused_and_kept_queued() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_, server_config, _) = tls_server();
    let (other_ca, _, _) = tls_server();
    let mut rx = syslog_receiver(listener, Some(server_config));
    rule(
        store,
        "tls-wrong-ca",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": port, "transport": "tls", "format": "cef",
        "tls": {"ca_pem": other_ca, "server_name": "localhost"}}),
        "",
    )
    .await;
    insert_alert(store, site.id, "x", "major").await;
    let round = worker::round(store, &config()).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 1));
    assert_eq!(store.forward_stats().await.unwrap().queued, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        rx.try_recv().is_err(),
        "nothing reaches an unverified receiver"
    );
}

/// A minimal HTTP server: answers `status` to each request and sends (headers, body) to `tx`.
async fn webhook_server(listener: TcpListener, tx: mpsc::Sender<(Vec<String>, Vec<u8>)>) {
    while let Ok((stream, _)) = listener.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end().to_owned();
                if line.is_empty() {
                    break;
                }
                headers.push(line);
            }
            let length: usize = headers
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.parse().unwrap())
                })
                .unwrap();
            let mut body = vec![0_u8; length];
            reader.read_exact(&mut body).await.unwrap();
            let mut stream = reader.into_inner();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            let _ = tx.send((headers, body)).await;
        });
    }
}

/// A port with nothing listening (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn webhook_is_signed_and_delivered_after_the_receiver_comes_back() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();
    let port = closed_port().await;
    let secret = "s3cret-key";
    rule(
        store,
        "hook",
        serde_json::json!({"type": "webhook",
        "url": format!("http://127.0.0.1:{port}/ironward/hook")}),
        secret,
    )
    .await;
    let first = insert_alert(store, site.id, "first", "major").await;
    let second = insert_alert(store, site.id, "second", "minor").await;

    // Down: both stay queued, the first failed attempt is counted, the second waits with it.
    let round = worker::round(store, &config()).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 1));
    assert_eq!(store.forward_stats().await.unwrap().queued, 2);
    let round = worker::round(store, &config()).await.unwrap();
    assert_eq!(round.failed, 0, "within the backoff, nobody knocks");

    // Back up on the same port.
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let (tx, mut rx) = mpsc::channel(10);
    tokio::spawn(webhook_server(listener, tx));
    let mut received = Vec::new();
    rounds_until(store, || {
        while let Ok(r) = rx.try_recv() {
            received.push(r);
        }
        received.len() >= 2
    })
    .await;
    let mut ids = Vec::new();
    for (headers, body) in &received {
        assert!(
            headers[0].starts_with("POST /ironward/hook HTTP/1.1"),
            "{headers:?}"
        );
        let signature = headers
            .iter()
            .find_map(|h| h.strip_prefix("X-Ironward-Signature: "))
            .expect("signed");
        assert_eq!(signature, webhook::signature(secret.as_bytes(), body));
        assert_ne!(signature, webhook::signature(b"another key", body));
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
        ids.push(doc["alert_id"].as_i64().unwrap());
    }
    assert_eq!(ids, [first.0, second.0], "in order, each once");
    let stats = store.forward_stats().await.unwrap();
    assert_eq!((stats.queued, stats.delivered), (0, 2));
}

#[tokio::test]
async fn tcp_syslog_receiver_down_gets_every_message_after_it_comes_back() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();
    let port = closed_port().await;
    rule(
        store,
        "tcp",
        serde_json::json!({"type": "syslog", "host": "127.0.0.1",
        "port": port, "transport": "tcp", "format": "cef"}),
        "",
    )
    .await;
    for i in 0..5 {
        insert_alert(store, site.id, &format!("alert {i}"), "minor").await;
    }
    worker::round(store, &config()).await.unwrap();
    assert_eq!(store.forward_stats().await.unwrap().queued, 5);
    // Meanwhile the console "restarts": the queue is in the database, so a new worker (here:
    // new rounds with fresh connections) picks it up.
    let mut rx = syslog_receiver(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), None);
    let mut msgs = Vec::new();
    rounds_until(store, || drain(&mut rx, &mut msgs) >= 5).await;
    let titles: Vec<String> = msgs
        .iter()
        .map(|m| parse::cef(&parse::syslog(m).unwrap().msg).unwrap().header[5].clone())
        .collect();
    assert_eq!(
        titles,
        ["alert 0", "alert 1", "alert 2", "alert 3", "alert 4"]
    );
    assert_eq!(store.forward_stats().await.unwrap().queued, 0);
}

#[tokio::test]
async fn filters_and_the_bounded_queue_count_overflow() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();
    let port = closed_port().await;
    store
        .create_forward_rule(
            "majors",
            &AlertFilter {
                min_severity: Some("major".to_owned()),
                protocols: vec!["Modbus".to_owned()],
                ..AlertFilter::default()
            },
            &serde_json::json!({"type": "syslog", "host": "127.0.0.1", "port": port,
                "transport": "tcp", "format": "cef"}),
            "",
            ironward_console::state::now(),
        )
        .await
        .unwrap();
    insert_alert(store, site.id, "minor one", "minor").await;
    for i in 0..5 {
        insert_alert(store, site.id, &format!("major {i}"), "major").await;
    }
    let scan = store
        .forward_scan(100, 3, ironward_console::state::now())
        .await
        .unwrap();
    assert_eq!((scan.alerts, scan.queued, scan.overflow), (6, 3, 2));
    let stats = store.forward_stats().await.unwrap();
    assert_eq!((stats.queued, stats.overflow), (3, 2));
    // Scanning again finds nothing new.
    let scan = store
        .forward_scan(100, 3, ironward_console::state::now())
        .await
        .unwrap();
    assert_eq!(scan.alerts, 0);
}

/// An SMTP server speaking just enough (EHLO, STARTTLS, MAIL, RCPT, DATA, QUIT); each
/// message's (envelope, data) goes to `tx`, and whether STARTTLS came first.
async fn smtp_server(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    tx: mpsc::Sender<(bool, Vec<String>, String)>,
) {
    async fn session<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
        stream: S,
        tls: bool,
        envelope: &mut Vec<String>,
    ) -> Option<(bool, String)> {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                if tls {
                    b"250-test\r\n250 8BITMIME\r\n"
                } else {
                    b"250-test\r\n250 STARTTLS\r\n"
                }
            } else if upper == "STARTTLS" {
                reader.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
                return Some((true, String::new()));
            } else if upper.starts_with("MAIL FROM") || upper.starts_with("RCPT TO") {
                envelope.push(command);
                b"250 ok\r\n"
            } else if upper == "DATA" {
                reader.get_mut().write_all(b"354 go\r\n").await.ok()?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).await.ok()? == 0 {
                        return None;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                reader.get_mut().write_all(b"250 queued\r\n").await.ok()?;
                return Some((false, data));
            } else if upper == "QUIT" {
                reader.get_mut().write_all(b"221 bye\r\n").await.ok()?;
                return None;
            } else {
                b"250 ok\r\n"
            };
            reader.get_mut().write_all(reply).await.ok()?;
        }
    }
    while let Ok((mut stream, _)) = listener.accept().await {
        let config = Arc::clone(&config);
        let tx = tx.clone();
        tokio::spawn(async move {
            stream.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut envelope = Vec::new();
            if let Some((true, _)) = session(&mut stream, false, &mut envelope).await {
                let tls = tokio_rustls::TlsAcceptor::from(config)
                    .accept(stream)
                    .await
                    .unwrap();
                let mut tls = tls;
                // After STARTTLS the client greets again; the data follows.
                if let Some((false, data)) = session(&mut tls, true, &mut envelope).await {
                    let _ = tx.send((true, envelope.clone(), data)).await;
                    // Let the client say QUIT.
                    let _ = session(&mut tls, true, &mut envelope).await;
                }
            } else {
                let _ = tx.send((false, envelope, String::new())).await;
            }
        });
    }
}

#[tokio::test]
async fn email_goes_over_starttls() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let site = store
        .create_site("Plant A", ironward_console::state::now())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ca_pem, server_config, _) = tls_server();
    let (tx, mut rx) = mpsc::channel(10);
    tokio::spawn(smtp_server(listener, server_config, tx));
    rule(
        store,
        "mail",
        serde_json::json!({"type": "email", "host": "127.0.0.1", "port": port,
        "from": "ironward@plant.example", "to": ["soc@plant.example"],
        "tls": {"ca_pem": ca_pem, "server_name": "localhost"}}),
        "",
    )
    .await;
    insert_alert(store, site.id, "PLC stopped", "critical").await;
    let mut got = None;
    rounds_until(store, || {
        if let Ok(m) = rx.try_recv() {
            got = Some(m);
        }
        got.is_some()
    })
    .await;
    let (starttls, envelope, data) = got.unwrap();
    assert!(starttls, "the mail went only after STARTTLS");
    assert_eq!(envelope[0], "MAIL FROM:<ironward@plant.example>");
    assert_eq!(envelope[1], "RCPT TO:<soc@plant.example>");
    assert!(
        data.contains("Subject: [Ironward] critical: PLC stopped"),
        "{data}"
    );
    assert!(data.contains("10.0.0.66"), "{data}");
    assert_eq!(store.forward_stats().await.unwrap().delivered, 1);
}
