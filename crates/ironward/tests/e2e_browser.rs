//! The console in a real browser (Debian `chromium` driven by `chromedriver`, both on
//! loopback): `ironward serve` filled from the demo plant by its embedded sensor; sign in, see
//! the inventory, filter it, open a device, open the map and click a node, create a site, a
//! zone and an enrolment token, sign out. A screenshot of every page goes to `target/e2e/`.
//! Skipped, with the reason printed, when chromium or chromedriver is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use ironward_store::{DeviceQuery, Scope, Store};

const PASSWORD: &str = "e2e-password-long-enough";

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ironward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

/// Starts the console with the demo plant and waits until its devices are in.
fn start_console(data: &Path, port: u16) -> Process {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo.pcapng");
    let mut add = ironward()
        .args([
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
            "--data",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(add.stdin.as_mut().unwrap(), PASSWORD.as_bytes()).unwrap();
    drop(add.stdin.take());
    assert!(add.wait().unwrap().success());
    let mut child = ironward()
        .args(["serve", "--data"])
        .arg(data)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--site",
            "Demo plant",
            "--zone",
            "Process network",
            "--pcap",
        ])
        .arg(&demo)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let process = Process(child);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the console starts");
        if line.starts_with("Ironward console at") {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    loop {
        let devices = runtime.block_on(async {
            let store = Store::open_sqlite(data).await.unwrap();
            let n = store
                .list_devices(&DeviceQuery::new(Scope::All))
                .await
                .unwrap()
                .total;
            store.close().await;
            n
        });
        if devices >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the demo plant did not arrive");
        std::thread::sleep(Duration::from_millis(200));
    }
    process
}

fn start_chromedriver(port: u16) -> Process {
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Process(child)
}

async fn browser(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new",
        "--ignore-certificate-errors",
        "--window-size=1440,900",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
    ];
    // Chromium refuses to run as root without it.
    if is_root() {
        args.push("--no-sandbox");
    }
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({ "args": args, "binary": "/usr/bin/chromium" }),
    );
    caps.insert("acceptInsecureCerts".to_owned(), serde_json::json!(true));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session")
}

fn is_root() -> bool {
    // The effective user id, read from /proc (no unsafe libc call needed).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

async fn path_of(browser: &Client) -> String {
    let url = browser.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

#[test]
fn sign_in_inventory_device_map_sites_sign_out() {
    let missing: Vec<&str> = ["chromium", "chromedriver"]
        .into_iter()
        .filter(|p| which(p).is_none())
        .collect();
    if !missing.is_empty() {
        println!(
            "skipped: {} not installed (scripts/test installs them as root)",
            missing.join(", ")
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let console_port = free_port();
    let _console = start_console(dir.path(), console_port);
    let driver_port = free_port();
    let _driver = start_chromedriver(driver_port);
    let base = format!("https://localhost:{console_port}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let b = browser(driver_port).await;
        let result = journey(&b, &base).await;
        if result.is_err() {
            shot(&b, "failure").await;
        }
        b.close().await.unwrap();
        result.unwrap();
    });
}

async fn journey(b: &Client, base: &str) -> Result<(), String> {
    // Any page without a session shows the sign-in form.
    b.goto(&format!("{base}/devices"))
        .await
        .map_err(|e| e.to_string())?;
    b.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .map_err(|e| e.to_string())?;
    shot(b, "01-sign-in").await;
    b.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    b.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_url(&format!("{base}/devices").parse().unwrap())
        .await
        .map_err(|e| e.to_string())?;

    // The inventory, filled from the capture.
    let rows = b
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    if rows.len() < 10 {
        return Err(format!("{} inventory rows", rows.len()));
    }
    shot(b, "02-inventory").await;

    // Filtering by text narrows it.
    let search = b.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys("modbus").await.unwrap();
    search.send_keys("\u{E007}").await.unwrap(); // Enter
    b.wait()
        .for_url(&format!("{base}/devices?q=modbus").parse().unwrap())
        .await
        .ok();
    let path = path_of(b).await;
    if !path.contains("q=modbus") {
        return Err(format!("search did not filter: {path}"));
    }
    let filtered = b
        .find_all(Locator::Css("main table tbody tr"))
        .await
        .unwrap();
    if filtered.is_empty() || filtered.len() >= rows.len() {
        return Err(format!(
            "filter kept {} of {} rows",
            filtered.len(),
            rows.len()
        ));
    }
    shot(b, "03-inventory-filtered").await;

    // A device.
    b.find(Locator::Css("main table tbody tr a[href^='/devices/']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait().for_element(Locator::Css("main h1")).await.unwrap();
    let path = path_of(b).await;
    if !path.starts_with("/devices/") {
        return Err(format!("device link went to {path}"));
    }
    shot(b, "04-device").await;

    // The map; a node leads to its device.
    b.goto(&format!("{base}/map")).await.unwrap();
    b.wait()
        .for_element(Locator::Css("svg#device-map"))
        .await
        .unwrap();
    shot(b, "05-map").await;
    let node = b
        .find(Locator::Css("svg#device-map a[href^='/devices/']"))
        .await
        .map_err(|e| format!("no node on the map: {e}"))?;
    node.click().await.unwrap();
    b.wait().for_element(Locator::Css("main h1")).await.unwrap();
    let path = path_of(b).await;
    if !path.starts_with("/devices/") {
        return Err(format!("map node went to {path}"));
    }

    // A site, a zone, an enrolment token with the command to run.
    b.goto(&format!("{base}/sites")).await.unwrap();
    let form = b.find(Locator::Css("form[action='/sites']")).await.unwrap();
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("E2E site")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::XPath("//*[contains(text(), 'E2E site')]"))
        .await
        .map_err(|e| e.to_string())?;
    // Sites are listed by name: the new one is last.
    let zone_forms = b
        .find_all(Locator::Css("form[action$='/zones']"))
        .await
        .unwrap();
    let form = zone_forms.last().ok_or("no zone form")?;
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("E2E zone")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::XPath("//*[contains(text(), 'E2E zone')]"))
        .await
        .map_err(|e| e.to_string())?;
    let enrol_forms = b
        .find_all(Locator::Css("form[action$='/enroll']"))
        .await
        .unwrap();
    let form = enrol_forms.last().ok_or("no enrol form")?;
    form.find(Locator::Css("input[name=sensor_name]"))
        .await
        .unwrap()
        .send_keys("e2e-sensor")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::XPath("//*[contains(text(), '--enroll-token')]"))
        .await
        .map_err(|e| e.to_string())?;
    let source = b.source().await.unwrap();
    if !source.contains("ironward sensor --console")
        || !source.contains("--console-fingerprint sha256:")
    {
        return Err("the enrolment command is incomplete".to_owned());
    }
    shot(b, "06-enrol-sensor").await;

    // Sign out: back to the sign-in form; the inventory is closed again.
    b.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    b.goto(&format!("{base}/devices")).await.unwrap();
    if b.find(Locator::Css("input[name=username]")).await.is_err() {
        return Err("the inventory is still open after signing out".to_owned());
    }
    shot(b, "07-signed-out").await;
    Ok(())
}
