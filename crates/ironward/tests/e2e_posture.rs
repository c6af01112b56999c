//! The security initiatives in a real browser (Debian `chromium` driven by `chromedriver`, both
//! on loopback): `ironward serve` filled from the demo plant by its embedded sensor; sign in,
//! open Initiatives and see OT Security and Enterprise IoT Security with their scores and trend
//! charts, open OT Security (metrics table, formula), open its recommendation worth the most
//! points, accept its risk with a reason, see the state and the OT score change, and mark
//! Enterprise IoT Security a favourite (it moves first). A screenshot of every page goes to
//! `target/e2e/`. Skipped, with the reason printed, when chromium or chromedriver is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;

use std::time::{Duration, Instant};

use browser::{fill_and_submit, path_of, run_journey, shot, shot_element, sign_in};
use fantoccini::{Client, Locator};

#[test]
fn initiatives_recommendation_risk_accepted_favourite() {
    run_journey("posture", |b, base| Box::pin(journey(b, base)));
}

/// The text of the first element `css` selects.
async fn text(b: &Client, css: &str) -> Result<String, String> {
    b.find(Locator::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .text()
        .await
        .map_err(|e| format!("{css}: {e}"))
}

/// The ids of the initiative cards, in page order.
async fn card_order(b: &Client) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for card in b
        .find_all(Locator::Css("article.initiative"))
        .await
        .map_err(|e| e.to_string())?
    {
        ids.push(
            card.attr("id")
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_default(),
        );
    }
    Ok(ids)
}

async fn journey(b: &Client, base: &str) -> Result<(), String> {
    sign_in(b, base, "/initiatives", "posture-01-sign-in").await?;

    // Both initiatives, each with a score (the demo plant's devices are in) and a trend chart.
    let cards = card_order(b).await?;
    if cards
        != [
            "initiative-ot-security",
            "initiative-enterprise-iot-security",
        ]
    {
        return Err(format!("initiative cards: {cards:?}"));
    }
    for id in &cards {
        let score = text(b, &format!("#{id} .score.value")).await?;
        if score.parse::<f64>().is_err() {
            return Err(format!("{id} shows no score: {score:?}"));
        }
    }
    // The history job stores the first point once the demo plant's devices are in (a round
    // shortly after each ingest): reload until both charts draw it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut missing = Vec::new();
        for id in &cards {
            let css = format!("#{id} svg.trend circle.point");
            if b.find(Locator::Css(&css)).await.is_err() {
                missing.push(id.clone());
            }
        }
        if missing.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no trend point on {missing:?}"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.refresh().await.map_err(|e| e.to_string())?;
    }
    shot(b, "posture-02-initiatives").await;

    // OT Security: its formula and metrics table.
    b.find(Locator::Css("#initiative-ot-security h2 a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Css("table.metrics"))
        .await
        .map_err(|e| e.to_string())?;
    let path = path_of(b).await;
    if path != "/initiatives/ot-security" {
        return Err(format!("the OT Security link went to {path}"));
    }
    let formula = text(b, "section.formula").await?;
    if !formula.contains("score = Σ (weightᵢ × progressᵢ) ÷ Σ weightᵢ")
        || !formula.contains("Now: score = (")
    {
        return Err(format!("formula: {formula}"));
    }
    let metrics = b
        .find_all(Locator::Css("table.metrics tbody tr"))
        .await
        .unwrap();
    if metrics.len() < 5 {
        return Err(format!("{} metric rows", metrics.len()));
    }
    let before = text(b, ".scorecard .score.value").await?;
    shot(b, "posture-03-ot-security").await;
    shot_element(b, "table.metrics", "posture-03b-ot-metrics").await?;

    // Its recommendation worth the most points (the table is sorted by score impact).
    let link = b
        .find(Locator::Css(
            "table.initiative-recommendations tbody tr a[href^='/recommendations/']",
        ))
        .await
        .map_err(|e| format!("no recommendation on OT Security: {e}"))?;
    let title = link.text().await.unwrap();
    link.click().await.unwrap();
    b.wait()
        .for_element(Locator::Css("section.state form"))
        .await
        .map_err(|e| e.to_string())?;
    let recommendation = path_of(b).await;
    let heading = text(b, "main h1").await?;
    if heading != title {
        return Err(format!("opened {heading:?} for {title:?}"));
    }
    let devices = b
        .find_all(Locator::Css("table.devices tbody tr a[href^='/devices/']"))
        .await
        .unwrap();
    if devices.is_empty() {
        return Err(format!("{title}: no device linked"));
    }
    shot(b, "posture-04-recommendation").await;

    // Accept its risk with a reason.
    let form = b.find(Locator::Css("section.state form")).await.unwrap();
    form.find(Locator::Css(
        "select[name=state] option[value=risk_accepted]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    fill_and_submit(
        &form,
        &[(
            "textarea[name=reason]",
            "Isolated test bench, no route from the plant network",
        )],
    )
    .await?;
    b.wait()
        .for_element(Locator::XPath(
            "//dd[contains(text(), 'Isolated test bench, no route from the plant network')]",
        ))
        .await
        .map_err(|e| format!("the reason is not shown: {e}"))?;
    let state = text(b, "section.state p .badge").await?;
    if state != "Risk accepted" || path_of(b).await != recommendation {
        return Err(format!("state {state:?} on {}", path_of(b).await));
    }
    shot(b, "posture-05-risk-accepted").await;

    // The OT score moved (its devices no longer count against it).
    b.goto(&format!("{base}/initiatives/ot-security"))
        .await
        .unwrap();
    let after = text(b, ".scorecard .score.value").await?;
    if after == before {
        return Err(format!(
            "the OT score stayed {before} after accepting {title:?}"
        ));
    }
    let state = text(
        b,
        "table.initiative-recommendations tbody tr .badge.state-risk_accepted",
    )
    .await?;
    if state != "Risk accepted" {
        return Err(format!(
            "the recommendation reads {state:?} on the initiative"
        ));
    }
    shot(b, "posture-06-score-changed").await;

    // A favourite moves first.
    b.goto(&format!("{base}/initiatives")).await.unwrap();
    b.find(Locator::Css(
        "#initiative-enterprise-iot-security form.favourite button",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    b.wait()
        .for_element(Locator::Css(
            "#initiative-enterprise-iot-security button.star.on",
        ))
        .await
        .map_err(|e| format!("the favourite is not marked: {e}"))?;
    let cards = card_order(b).await?;
    if cards.first().map(String::as_str) != Some("initiative-enterprise-iot-security") {
        return Err(format!("the favourite is not first: {cards:?}"));
    }
    shot(b, "posture-07-favourite").await;

    // The recommendations list (the accepted one marked) and the dashboard's tile.
    b.goto(&format!("{base}/recommendations")).await.unwrap();
    let accepted = b
        .find_all(Locator::Css(
            "table.recommendations .badge.state-risk_accepted",
        ))
        .await
        .unwrap();
    if accepted.is_empty() {
        return Err("no risk-accepted recommendation in the list".to_owned());
    }
    shot(b, "posture-08-recommendations").await;
    b.goto(&format!("{base}/")).await.unwrap();
    let tile = text(b, "section.tile.posture").await?;
    if !tile.contains("OT Security") || !tile.contains("Enterprise IoT Security") {
        return Err(format!("dashboard tile: {tile}"));
    }
    shot(b, "posture-09-dashboard").await;
    Ok(())
}
