//! The console in a real browser, shared by the browser tests: `ironward serve` filled from the
//! demo plant by its embedded sensor, Debian `chromium` driven by `chromedriver` (both on
//! loopback), signing in, screenshots under `target/e2e/`, and the check that skips a test
//! (with the reason printed) when the browser is not installed.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use ironward_store::{DeviceQuery, Scope, Store};

/// The administrator's password of the consoles started here.
pub const PASSWORD: &str = "e2e-password-long-enough";

/// A child process killed when dropped.
pub struct Process(Child);

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

/// `true` when chromium and chromedriver are installed; otherwise prints why the test is
/// skipped and answers `false`.
pub fn browser_installed() -> bool {
    let missing: Vec<&str> = ["chromium", "chromedriver"]
        .into_iter()
        .filter(|p| which(p).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    println!(
        "skipped: {} not installed (scripts/test installs them as root)",
        missing.join(", ")
    );
    false
}

/// A loopback port nobody listens on.
pub fn free_port() -> u16 {
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

/// Saves a screenshot of the browser's page as `target/e2e/NAME.png`.
pub async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

/// Saves a screenshot of the first element `css` selects (all of it, even below the window)
/// as `target/e2e/NAME.png`.
pub async fn shot_element(browser: &Client, css: &str, name: &str) -> Result<(), String> {
    let element = browser
        .find(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?;
    let png = element
        .screenshot()
        .await
        .map_err(|e| format!("{css}: {e}"))?;
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
    Ok(())
}

/// Starts the console with the demo plant (user `admin`, [`PASSWORD`]) and waits until its
/// devices are in.
pub fn start_console(data: &Path, port: u16) -> Process {
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

/// Starts chromedriver on `port` and waits until it listens.
pub fn start_chromedriver(port: u16) -> Process {
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

/// A headless chromium session through the chromedriver on `port`.
pub async fn browser(port: u16) -> Client {
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

/// The path and query of the browser's page.
pub async fn path_of(browser: &Client) -> String {
    let url = browser.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Opens `path` without a session, expects the sign-in form (screenshot `shot_name`), signs
/// Types each `(css, text)` into the field of `form` it selects and presses the form's submit
/// button.
pub async fn fill_and_submit(form: &Element, fields: &[(&str, &str)]) -> Result<(), String> {
    for (css, text) in fields {
        form.find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?
            .send_keys(text)
            .await
            .map_err(|e| format!("{css}: {e}"))?;
    }
    form.find(Locator::Css("button[type=submit]"))
        .await
        .map_err(|e| format!("no submit button: {e}"))?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// in as `admin` and waits to land on `path`.
pub async fn sign_in(b: &Client, base: &str, path: &str, shot_name: &str) -> Result<(), String> {
    b.goto(&format!("{base}{path}"))
        .await
        .map_err(|e| e.to_string())?;
    b.wait()
        .for_element(Locator::Css("input[name=username]"))
        .await
        .map_err(|e| e.to_string())?;
    shot(b, shot_name).await;
    let form = b
        .find(Locator::Css("form[action='/login']"))
        .await
        .map_err(|e| e.to_string())?;
    fill_and_submit(
        &form,
        &[
            ("input[name=username]", "admin"),
            ("input[name=password]", PASSWORD),
        ],
    )
    .await?;
    // The sign-in form is served at the page's own address, so the address alone does not say
    // the sign-in went through: wait for what only a signed-in page has, the sign-out button.
    b.wait()
        .for_element(Locator::Css("form[action='/logout']"))
        .await
        .map_err(|e| format!("not signed in: {e}"))?;
    b.wait()
        .for_url(&format!("{base}{path}").parse().unwrap())
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Runs `journey` in a browser against a console filled from the demo plant; a failure leaves
/// `target/e2e/failure-NAME.png`. Skips (printing why) without the browser.
pub fn run_journey<F>(name: &str, journey: F)
where
    F: for<'a> FnOnce(&'a Client, &'a str) -> Journey<'a>,
{
    if !browser_installed() {
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
            shot(&b, &format!("failure-{name}")).await;
        }
        b.close().await.unwrap();
        result.unwrap();
    });
}

/// A journey through the console (the boxed future of an `async` block): `Err` says what was
/// not as expected.
pub type Journey<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;
