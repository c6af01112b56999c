//! `GET /reports/risk`: analysts and administrators download the risk assessment report of
//! their sites as PDF or HTML attachments; viewers and operators are refused; a site outside the
//! caller's scope is 404 like a missing one; every download and refusal is audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, Method, StatusCode};
use common::TestConsole;

#[tokio::test]
async fn analysts_download_the_risk_report_of_their_sites_and_viewers_are_refused() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, analyst) = console.user("ana", "analyst", &[seeded.site_a]).await;
    let (_, operator) = console.user("op", "operator", &[]).await;
    let (_, viewer) = console.user("vic", "viewer", &[]).await;
    let a = seeded.site_a.0;
    let b = seeded.site_b.0;

    // PDF of the analyst's own site: an attachment with a safe file name.
    let pdf = console
        .call(
            Method::GET,
            &format!("/reports/risk?site={a}&format=pdf"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.text());
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    let disposition = pdf.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"risk-report-site-plant-a-")
            && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
    assert!(pdf.body.starts_with(b"%PDF-"));

    // HTML of the same site names its devices and not the other site's.
    let html = console
        .call(
            Method::GET,
            &format!("/reports/risk?site={a}&format=html"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(
        html.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let text = html.text();
    assert!(text.contains("Site Plant A") && text.contains("10.0.0.1"));
    assert!(
        !text.contains("10.1.0.1"),
        "site B's PLC in site A's report"
    );

    // Without a site: every site the caller sees. The analyst's is site A only.
    let all = console
        .call(Method::GET, "/reports/risk?format=html", &analyst, None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(!all.text().contains("10.1.0.1"));
    let all = console
        .call(Method::GET, "/reports/risk?format=html", &admin, None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let text = all.text();
    assert!(text.contains("All sites") && text.contains("10.0.0.1") && text.contains("10.1.0.1"));
    // The spreadsheet-formula hostname of site B's PLC is text, escaped, never markup.
    assert!(text.contains("=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)"));

    // Another site's report is 404 for the analyst, like a site that does not exist.
    for site in [b, 999_999] {
        let refused = console
            .call(
                Method::GET,
                &format!("/reports/risk?site={site}"),
                &analyst,
                None,
            )
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "site {site}");
    }
    // Bad parameters are 400 with the reason.
    let bad = console
        .call(Method::GET, "/reports/risk?format=docx", &analyst, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("use pdf or html"));
    let bad = console
        .call(Method::GET, "/reports/risk?site=north", &analyst, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Viewers and operators may not download reports.
    for who in [&viewer, &operator] {
        let refused = console
            .call(Method::GET, &format!("/reports/risk?site={a}"), who, None)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    // Downloads and refusals are in the audit log.
    let audit = console.store.list_audit(1000, 0).await.unwrap();
    let downloads: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action == "report.risk_download")
        .collect();
    let ok = downloads.iter().filter(|e| e.outcome == "ok").count();
    let denied = downloads.iter().filter(|e| e.outcome == "denied").count();
    assert_eq!((ok, denied), (4, 2), "{downloads:#?}");
    assert!(downloads
        .iter()
        .any(|e| e.user_name.as_deref() == Some("ana")
            && e.target == format!("site:{a}")
            && e.detail.starts_with("pdf, ")));
}
