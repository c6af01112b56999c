//! The console over real HTTPS on loopback: its generated certificate verifies for `localhost`,
//! every route refuses callers without credentials, a token works, the session cookie is
//! `Secure; HttpOnly; SameSite=Strict`, security headers are on every answer, and the port
//! speaks no cleartext HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use common::{concrete, hidden_field, PASSWORD};
use ironward_console::access::Access;
use ironward_console::{table, AppState, ConsoleSettings, TlsIdentity};
use ironward_model::Timestamp;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::Store;

struct Served {
    address: SocketAddr,
    agent: ureq::Agent,
    store: Store,
    running: ironward_console::Running,
    _dir: tempfile::TempDir,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.address.port())
    }
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    let tls = TlsIdentity::load_or_create(dir.path(), &[]).unwrap();
    let state = AppState::new(store.clone(), ConsoleSettings::default(), tls.fingerprint());
    let (running, _task) = ironward_console::start(
        state,
        "127.0.0.1:0".parse().unwrap(),
        &tls,
        std::future::pending(),
    )
    .await
    .unwrap();
    // The client trusts exactly the console's certificate, and resolves localhost to it.
    let address = running.address;
    let agent = ureq::AgentBuilder::new()
        .tls_config(agent_tls(&tls))
        .redirects(0)
        // A refused request's body is not read, so the server closes that connection: no
        // pooling, every request on a fresh one.
        .max_idle_connections(0)
        .resolver(move |_: &str| Ok(vec![address]))
        .build();
    Served {
        address,
        agent,
        store,
        running,
        _dir: dir,
    }
}

fn agent_tls(tls: &TlsIdentity) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            tls.leaf_der().to_vec(),
        ))
        .unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Status of a request (ureq reports 4xx/5xx as errors).
fn status(result: Result<ureq::Response, ureq::Error>) -> (u16, Option<ureq::Response>) {
    match result {
        Ok(response) => (response.status(), Some(response)),
        Err(ureq::Error::Status(code, response)) => (code, Some(response)),
        Err(other) => panic!("transport error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_nothing_is_open_and_sessions_are_safe() {
    let served = serve().await;
    let store = served.store.clone();
    let hash = ironward_console::password::hash_password(PASSWORD).unwrap();
    let user = store
        .create_user("alice", "viewer", &[], &hash, Timestamp(1))
        .await
        .unwrap();
    let token = new_secret().unwrap();
    store
        .create_api_token(user.id, "t", &hash_secret(&token), Timestamp(1))
        .await
        .unwrap();
    let served = Arc::new(served);
    let check = served.clone();
    tokio::task::spawn_blocking(move || {
        let served = check;
        for route in table() {
            if route.access == Access::Public {
                continue;
            }
            let url = served.url(&concrete(route.path));
            let request = served.agent.request(route.method.as_str(), &url);
            let (code, _) = status(if route.method == "GET" {
                request.call()
            } else {
                request
                    .set("content-type", "application/json")
                    .send_string("{}")
            });
            assert_eq!(code, 401, "{} {} over HTTPS", route.method, route.path);
        }

        let (code, response) = status(
            served
                .agent
                .get(&served.url("/api/v1/openapi.json"))
                .set("authorization", &format!("Bearer {token}"))
                .call(),
        );
        assert_eq!(code, 200);
        let response = response.unwrap();
        for header in [
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "strict-transport-security",
        ] {
            assert!(response.header(header).is_some(), "{header} missing");
        }
        let doc: serde_json::Value = response.into_json().unwrap();
        assert_eq!(doc["openapi"], "3.0.3");

        // Sign in as a browser does.
        let (code, page) = status(served.agent.get(&served.url("/login")).call());
        assert_eq!(code, 200);
        let page = page.unwrap();
        let login_cookie = page
            .all("set-cookie")
            .into_iter()
            .find_map(|c| {
                c.split(';')
                    .next()?
                    .strip_prefix("iw_login=")
                    .map(str::to_owned)
            })
            .unwrap();
        let form_token = hidden_field(&page.into_string().unwrap(), "login_token").unwrap();
        let (code, answer) = status(
            served
                .agent
                .post(&served.url("/login"))
                .set("cookie", &format!("iw_login={login_cookie}"))
                .send_form(&[
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("login_token", &form_token),
                    ("next", "/"),
                ]),
        );
        assert_eq!(code, 303);
        let session = answer
            .unwrap()
            .all("set-cookie")
            .into_iter()
            .find(|c| c.starts_with("iw_session="))
            .map(str::to_owned)
            .expect("session cookie");
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(
                session.contains(attribute),
                "{attribute} missing in {session}"
            );
        }
    })
    .await
    .unwrap();

    // The HTTPS port does not answer cleartext HTTP with content.
    let mut plain = std::net::TcpStream::connect(served.address).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("Sign in"),
        "cleartext HTTP got a page"
    );
    served.running.stop();
}
