//! A console in the test process over a fresh SQLite store, with helpers to create users, sign
//! in and call routes as a given user (API token or browser session).

#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use ironward_console::password::hash_password;
use ironward_console::{router, AppState, ConsoleSettings};
use ironward_model::Timestamp;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{SiteId, Store, UserId};
use tower::ServiceExt;

/// A console with its store.
pub struct TestConsole {
    pub state: AppState,
    pub store: Store,
    pub router: Router,
    _dir: tempfile::TempDir,
}

/// A site named `site` with one zone and one sensor enrolled in it (as `ironward sensor` would),
/// for tests that ingest batches straight through the store.
pub async fn enrolled_sensor(
    store: &Store,
    site: &str,
    now: Timestamp,
) -> (ironward_store::Site, ironward_store::SensorRecord) {
    let site = store.create_site(site, now).await.unwrap();
    let zone = store
        .create_zone(&ironward_store::Scope::All, site.id, "Cell", now)
        .await
        .unwrap();
    let token = store
        .create_enrollment_token(
            &ironward_store::Scope::All,
            zone.id,
            "s",
            Timestamp(now.0 + 3_600_000_000_000),
            None,
            now,
        )
        .await
        .unwrap();
    let sensor = store.enroll(&token, now).await.unwrap().0;
    (site, sensor)
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum As {
    Nobody,
    Token(String),
    Session { cookie: String, csrf: String },
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestConsole {
    pub async fn new() -> Self {
        Self::with_settings(ConsoleSettings::default()).await
    }

    /// A console with these settings.
    pub async fn with_settings(settings: ConsoleSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let state = AppState::new(store.clone(), settings, "sha256:test".to_owned());
        let router = router(state.clone());
        Self {
            state,
            store,
            router,
            _dir: dir,
        }
    }

    /// A user with `role` restricted to `sites` (empty: all sites), and an API token for it.
    pub async fn user(&self, name: &str, role: &str, sites: &[SiteId]) -> (UserId, As) {
        let hash = hash_password(PASSWORD).unwrap();
        let user = self
            .store
            .create_user(name, role, sites, &hash, Timestamp(1))
            .await
            .unwrap();
        let token = new_secret().unwrap();
        self.store
            .create_api_token(user.id, "test", &hash_secret(&token), Timestamp(1))
            .await
            .unwrap();
        (user.id, As::Token(token))
    }

    /// Signs in through the form, as a browser would; returns the session.
    pub async fn sign_in(&self, name: &str) -> As {
        let page = self.call(Method::GET, "/login", &As::Nobody, None).await;
        let login_cookie = set_cookie(&page, "iw_login").expect("login cookie");
        let token = hidden_field(&page.text(), "login_token").expect("login token field");
        let form = format!(
            "username={name}&password={}&login_token={token}&next=/",
            PASSWORD.replace(' ', "+")
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("iw_login={login_cookie}"))
            .body(Body::from(form))
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        let cookie = set_cookie(&answer, "iw_session").expect("session cookie");
        let session = As::Session {
            cookie: cookie.clone(),
            csrf: String::new(),
        };
        let home = self.call(Method::GET, "/", &session, None).await;
        let csrf = hidden_field(&home.text(), "_csrf").unwrap_or_default();
        As::Session { cookie, csrf }
    }

    /// Calls `path` as `who`, with an optional body (JSON unless it looks like a form).
    pub async fn call(&self, method: Method, path: &str, who: &As, body: Option<&str>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        match who {
            As::Nobody => {}
            As::Token(token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            As::Session { cookie, csrf } => {
                request = request
                    .header(header::COOKIE, format!("iw_session={cookie}"))
                    .header("x-csrf-token", csrf.as_str());
            }
        }
        let body = match body {
            Some(text) => {
                let content_type = if text.starts_with('{') || text.starts_with('[') {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(text.to_owned())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub fn set_cookie(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The value of the hidden input `name` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A concrete path for a route pattern (`{id}` → 1, `{file}` → console.css).
pub fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{file}" => "console.css",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---- Seeding an inventory (appended for the API tests) ----

/// Two sites, each with one zone and one enrolled sensor that delivered a batch: site A
/// ("Plant A", zone "Cell A") sees a Siemens PLC and an HMI talking Modbus; site B
/// ("Plant B", zone "Cell B") sees a Schneider PLC (whose hostname is a spreadsheet formula)
/// and an engineering station. Each site has one connection, one event and one alert.
pub struct Seeded {
    pub site_a: SiteId,
    pub site_b: SiteId,
    pub zone_a: ironward_store::ZoneId,
    pub zone_b: ironward_store::ZoneId,
    pub sensor_a: ironward_store::SensorId,
    pub sensor_b: ironward_store::SensorId,
    /// Device rows: A's PLC, A's HMI, B's PLC, B's station.
    pub plc_a: i64,
    pub hmi_a: i64,
    pub plc_b: i64,
    pub station_b: i64,
}

/// Seconds after 2023-11-14T22:13:20Z, the seeded inventory's clock.
pub fn seed_time(seconds: i64) -> Timestamp {
    Timestamp(1_700_000_000_000_000_000 + seconds * 1_000_000_000)
}

/// A device known by its IP address, with the given identity.
pub fn seed_device(
    ip: &str,
    hostname: &str,
    vendor: &str,
    device_type: &str,
    server: &[&str],
    client: &[&str],
) -> ironward_model::Device {
    use std::borrow::Cow;
    let fact = |attribute: &str, value: &str| ironward_model::ReportedFact {
        attribute: Cow::Owned(attribute.to_owned()),
        value: Cow::Owned(value.to_owned()),
        source: Cow::Borrowed("traffic"),
        confidence: 90,
        selected: true,
        evidence: None,
    };
    ironward_model::Device {
        id: ironward_model::DeviceId(format!("ip:{ip}")),
        mac: None,
        ips: vec![ip.parse().unwrap()],
        vendor: Some(vendor.to_owned()),
        hostnames: vec![hostname.to_owned()],
        device_type: Some(device_type.to_owned()),
        role: None,
        model: None,
        firmware: None,
        serial: None,
        os: None,
        state: None,
        purdue_level: None,
        purdue_reason: None,
        protocols: ironward_model::Protocols {
            client: client.iter().map(|p| (*p).to_owned()).collect(),
            server: server.iter().map(|p| (*p).to_owned()).collect(),
        },
        services: vec![],
        findings: vec![],
        facts: vec![
            fact("ip", ip),
            fact("vendor", vendor),
            fact("hostname", hostname),
        ],
        conflicts: vec![],
        first_seen: seed_time(0),
        last_seen: seed_time(60),
    }
}

/// A batch with two devices, the connection and one write event between them.
pub fn seed_batch(
    id: &str,
    server: ironward_model::Device,
    client: ironward_model::Device,
) -> ironward_model::Batch {
    use std::borrow::Cow;
    let (s_ip, c_ip) = (server.ips[0], client.ips[0]);
    let mut src = ironward_model::EventEndpoint::ip(c_ip);
    src.device = Some(client.id.clone());
    let mut dst = ironward_model::EventEndpoint::ip(s_ip);
    dst.device = Some(server.id.clone());
    ironward_model::Batch {
        id: id.to_owned(),
        created: seed_time(100),
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        connections: vec![ironward_model::Connection {
            a: Some(client.id.clone()),
            b: Some(server.id.clone()),
            a_ip: c_ip,
            b_ip: s_ip,
            transport: "tcp".to_owned(),
            port: Some(502),
            protocol: Some("modbus".to_owned()),
            packets: 10,
            bytes: 1000,
            flows: 1,
            first_seen: seed_time(0),
            last_seen: seed_time(60),
        }],
        events: vec![ironward_model::Event {
            time: seed_time(10),
            last_seen: seed_time(50),
            count: 3,
            src,
            dst,
            protocol: Cow::Borrowed("modbus"),
            category: ironward_model::EventCategory::Write,
            operation: Cow::Borrowed("write_multiple_registers"),
            detail: format!("{id} registers 40001-40010"),
            content_hash: None,
        }],
        devices: vec![server, client],
        health: Some(ironward_model::SensorHealth {
            at: seed_time(100),
            version: "0.1.0".to_owned(),
            source: "eth1".to_owned(),
            packets: 1_000,
            bytes: 100_000,
            packets_per_second: 12.5,
            drops: 0,
        }),
    }
}

impl TestConsole {
    /// Seeds the two sites of [`Seeded`] through enrolment and ingest, as sensors would.
    pub async fn seed_two_sites(&self) -> Seeded {
        use ironward_store::{AlertId, AlertRecord, DeviceQuery, Scope};
        let store = &self.store;
        let now = ironward_console::state::now();
        let site_a = store.create_site("Plant A", now).await.unwrap();
        let site_b = store.create_site("Plant B", now).await.unwrap();
        let zone_a = store
            .create_zone(&Scope::All, site_a.id, "Cell A", now)
            .await
            .unwrap();
        let zone_b = store
            .create_zone(&Scope::All, site_b.id, "Cell B", now)
            .await
            .unwrap();
        let mut sensors = Vec::new();
        for (zone, name) in [(zone_a.id, "sensor-a"), (zone_b.id, "sensor-b")] {
            let expires = Timestamp(now.as_nanos() + 3_600_000_000_000);
            let token = store
                .create_enrollment_token(&Scope::All, zone, name, expires, None, now)
                .await
                .unwrap();
            sensors.push(store.enroll(&token, now).await.unwrap().0);
        }
        let batch_a = seed_batch(
            "batch-a",
            seed_device("10.0.0.1", "plc-a", "Siemens", "plc", &["modbus"], &[]),
            seed_device("10.0.0.2", "hmi-a", "Siemens", "hmi", &[], &["modbus"]),
        );
        let batch_b = seed_batch(
            "batch-b",
            seed_device(
                "10.1.0.1",
                "=HYPERLINK(\"http://evil\",\"x\")",
                "Schneider Electric",
                "plc",
                &["modbus"],
                &[],
            ),
            seed_device(
                "10.1.0.2",
                "station-b",
                "Dell",
                "engineering_workstation",
                &[],
                &["modbus"],
            ),
        );
        store
            .ingest_batch(sensors[0].id, &batch_a, now)
            .await
            .unwrap();
        store
            .ingest_batch(sensors[1].id, &batch_b, now)
            .await
            .unwrap();
        for (site, zone, title) in [
            (site_a.id, zone_a.id, "alert in plant A"),
            (site_b.id, zone_b.id, "alert in plant B"),
        ] {
            store
                .insert_alert(&AlertRecord {
                    id: AlertId(0),
                    site_id: site,
                    zone_id: Some(zone),
                    engine: "policy".to_owned(),
                    title: title.to_owned(),
                    severity: "high".to_owned(),
                    status: "open".to_owned(),
                    devices: vec![],
                    first_seen: seed_time(10),
                    last_seen: seed_time(20),
                    count: 1,
                    payload: serde_json::json!({}),
                })
                .await
                .unwrap();
        }
        let row = |ip: &'static str| async move {
            let mut query = DeviceQuery::new(Scope::All);
            query.text = Some(format!("ip:{ip}"));
            let page = self.store.list_devices(&query).await.unwrap();
            assert_eq!(page.items.len(), 1, "{ip}");
            page.items[0].id.0
        };
        Seeded {
            site_a: site_a.id,
            site_b: site_b.id,
            zone_a: zone_a.id,
            zone_b: zone_b.id,
            sensor_a: sensors[0].id,
            sensor_b: sensors[1].id,
            plc_a: row("10.0.0.1").await,
            hmi_a: row("10.0.0.2").await,
            plc_b: row("10.1.0.1").await,
            station_b: row("10.1.0.2").await,
        }
    }

    /// `GET path` as `who`, expecting 200 and JSON.
    pub async fn get_json(&self, path: &str, who: &As) -> serde_json::Value {
        let answer = self.call(Method::GET, path, who, None).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "GET {path}: {}",
            answer.text()
        );
        answer.json()
    }
}

/// The `id`s of a list answer's items.
pub fn ids(list: &serde_json::Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}
