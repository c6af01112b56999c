//! The console in a real browser (Debian `chromium` driven by `chromedriver`, both on
//! loopback): `ironward serve` filled from the demo plant by its embedded sensor; sign in, see
//! the inventory, filter it, open a device, open the map and click a node, create a site, a
//! zone and an enrolment token, sign out. A screenshot of every page goes to `target/e2e/`.
//! Skipped, with the reason printed, when chromium or chromedriver is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;

use browser::{fill_and_submit, path_of, run_journey, shot, sign_in};
use fantoccini::{Client, Locator};

#[test]
fn sign_in_inventory_device_map_sites_sign_out() {
    run_journey("inventory", |b, base| Box::pin(journey(b, base)));
}

async fn journey(b: &Client, base: &str) -> Result<(), String> {
    // Any page without a session shows the sign-in form.
    sign_in(b, base, "/devices", "01-sign-in").await?;

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
    fill_and_submit(&form, &[("input[name=name]", "E2E site")]).await?;
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
    fill_and_submit(form, &[("input[name=name]", "E2E zone")]).await?;
    b.wait()
        .for_element(Locator::XPath("//*[contains(text(), 'E2E zone')]"))
        .await
        .map_err(|e| e.to_string())?;
    let enrol_forms = b
        .find_all(Locator::Css("form[action$='/enroll']"))
        .await
        .unwrap();
    let form = enrol_forms.last().ok_or("no enrol form")?;
    fill_and_submit(form, &[("input[name=sensor_name]", "e2e-sensor")]).await?;
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
