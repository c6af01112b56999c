//! `devices.csv`, `connections.csv`, `events.csv`, `alerts.csv`, `recommendations.csv` and
//! `initiatives.csv`.

use std::fs;
use std::path::Path;

use anyhow::Context;
use ironward_model::AnalysisReport;
use ironward_posture::Posture;

use super::{join, serde_name};

/// Writes `devices.csv`, `connections.csv`, `events.csv` (`alerts.csv` when there are alerts),
/// `recommendations.csv` and `initiatives.csv` into `dir` (created if missing). List-valued
/// columns are joined with `;`.
pub(crate) fn write_csv_dir(
    report: &AnalysisReport,
    posture: &Posture,
    dir: &Path,
) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let devices_path = dir.join("devices.csv");
    let mut devices = csv::Writer::from_path(&devices_path)
        .with_context(|| format!("creating {}", devices_path.display()))?;
    devices.write_record([
        "id",
        "mac",
        "ips",
        "vendor",
        "hostnames",
        "type",
        "role",
        "model",
        "firmware",
        "serial",
        "os",
        "state",
        "purdue_level",
        "client_protocols",
        "server_protocols",
        "services",
        "findings",
        "first_seen",
        "last_seen",
    ])?;
    for d in &report.devices {
        let services: Vec<String> = d
            .services
            .iter()
            .map(|s| match &s.protocol {
                Some(p) => format!("{}/{} {p}", s.transport, s.port),
                None => format!("{}/{}", s.transport, s.port),
            })
            .collect();
        devices.write_record([
            d.id.0.as_str(),
            &d.mac.map(|m| m.to_string()).unwrap_or_default(),
            &join(&d.ips, ";"),
            d.vendor.as_deref().unwrap_or(""),
            &d.hostnames.join(";"),
            d.device_type.as_deref().unwrap_or(""),
            d.role.as_deref().unwrap_or(""),
            d.model.as_deref().unwrap_or(""),
            d.firmware.as_deref().unwrap_or(""),
            d.serial.as_deref().unwrap_or(""),
            d.os.as_deref().unwrap_or(""),
            d.state.as_deref().unwrap_or(""),
            &d.purdue_level.map(|l| l.to_string()).unwrap_or_default(),
            &d.protocols.client.join(";"),
            &d.protocols.server.join(";"),
            &services.join(";"),
            &d.findings.join(";"),
            &d.first_seen.to_rfc3339(),
            &d.last_seen.to_rfc3339(),
        ])?;
    }
    devices.flush()?;

    let connections_path = dir.join("connections.csv");
    let mut connections = csv::Writer::from_path(&connections_path)
        .with_context(|| format!("creating {}", connections_path.display()))?;
    connections.write_record([
        "a",
        "b",
        "a_ip",
        "b_ip",
        "transport",
        "port",
        "protocol",
        "packets",
        "bytes",
        "flows",
        "first_seen",
        "last_seen",
    ])?;
    for c in &report.connections {
        connections.write_record([
            c.a.as_ref().map(|id| id.0.as_str()).unwrap_or(""),
            c.b.as_ref().map(|id| id.0.as_str()).unwrap_or(""),
            &c.a_ip.to_string(),
            &c.b_ip.to_string(),
            &c.transport,
            &c.port.map(|p| p.to_string()).unwrap_or_default(),
            c.protocol.as_deref().unwrap_or(""),
            &c.packets.to_string(),
            &c.bytes.to_string(),
            &c.flows.to_string(),
            &c.first_seen.to_rfc3339(),
            &c.last_seen.to_rfc3339(),
        ])?;
    }
    connections.flush()?;

    let events_path = dir.join("events.csv");
    let mut events = csv::Writer::from_path(&events_path)
        .with_context(|| format!("creating {}", events_path.display()))?;
    events.write_record([
        "time",
        "last_seen",
        "count",
        "src_device",
        "src",
        "dst_device",
        "dst",
        "protocol",
        "category",
        "operation",
        "detail",
        "content_hash",
    ])?;
    let address = |e: &ironward_model::EventEndpoint| match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => String::new(),
    };
    for e in &report.events {
        events.write_record([
            &e.time.to_rfc3339(),
            &e.last_seen.to_rfc3339(),
            &e.count.to_string(),
            e.src.device.as_ref().map(|id| id.0.as_str()).unwrap_or(""),
            &address(&e.src),
            e.dst.device.as_ref().map(|id| id.0.as_str()).unwrap_or(""),
            &address(&e.dst),
            &e.protocol,
            e.category.as_str(),
            &e.operation,
            &e.detail,
            e.content_hash.as_deref().unwrap_or(""),
        ])?;
    }
    events.flush()?;

    // Alerts only when detection ran, so that the files of a plain analysis stay as they were.
    if !report.alerts.is_empty() {
        let alerts_path = dir.join("alerts.csv");
        let mut alerts = csv::Writer::from_path(&alerts_path)
            .with_context(|| format!("creating {}", alerts_path.display()))?;
        alerts.write_record([
            "id",
            "kind",
            "engine",
            "severity",
            "title",
            "src_ip",
            "dst_ip",
            "devices",
            "techniques",
            "count",
            "first_seen",
            "last_seen",
            "pcap",
        ])?;
        for a in &report.alerts {
            let devices: Vec<&str> = a.devices.iter().map(|d| d.0.as_str()).collect();
            let techniques: Vec<&str> = a.techniques.iter().map(|t| t.id.as_str()).collect();
            alerts.write_record([
                a.id.as_str(),
                &a.kind,
                a.engine.as_str(),
                a.severity.as_str(),
                &a.title,
                &a.src_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                &a.dst_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                &devices.join(" "),
                &techniques.join(" "),
                &a.count.to_string(),
                &a.first_seen.to_rfc3339(),
                &a.last_seen.to_rfc3339(),
                a.pcap.as_deref().unwrap_or(""),
            ])?;
        }
        alerts.flush()?;
    }
    write_posture(posture, dir)
}

/// `recommendations.csv` (one row per recommendation, its devices joined) and
/// `initiatives.csv` (one row per metric, with its initiative's score and target).
fn write_posture(posture: &Posture, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("recommendations.csv");
    let mut out =
        csv::Writer::from_path(&path).with_context(|| format!("creating {}", path.display()))?;
    out.write_record([
        "id",
        "title",
        "severity",
        "domain",
        "state",
        "workload",
        "source",
        "score_impact",
        "devices",
        "ips",
    ])?;
    for r in &posture.recommendations {
        let devices: Vec<&str> = r.devices.iter().map(|d| d.id.as_str()).collect();
        let ips: Vec<String> = r
            .devices
            .iter()
            .map(|d| d.ip.map(|ip| ip.to_string()).unwrap_or_default())
            .collect();
        out.write_record([
            r.id.as_str(),
            &r.title,
            &serde_name(&r.severity),
            &serde_name(&r.domain),
            &serde_name(&r.state),
            &serde_name(&r.workload),
            &r.source,
            &format!("{:.1}", r.score_impact),
            &devices.join(";"),
            &ips.join(";"),
        ])?;
    }
    out.flush()?;

    let path = dir.join("initiatives.csv");
    let mut out =
        csv::Writer::from_path(&path).with_context(|| format!("creating {}", path.display()))?;
    out.write_record([
        "initiative_id",
        "initiative",
        "score",
        "target",
        "metric_id",
        "metric",
        "weight",
        "affected",
        "total",
        "progress",
        "score_impact",
        "affected_devices",
    ])?;
    for i in &posture.initiatives {
        let score = i.score.map(|s| format!("{s:.1}")).unwrap_or_default();
        for m in &i.metrics {
            out.write_record([
                i.id.as_str(),
                &i.name,
                &score,
                &format!("{:.1}", i.target),
                &m.id,
                &m.name,
                &serde_name(&m.weight),
                &m.affected.to_string(),
                &m.total.to_string(),
                &m.progress.map(|p| format!("{p:.1}")).unwrap_or_default(),
                &format!("{:.1}", m.score_impact),
                &m.affected_devices.join(";"),
            ])?;
        }
    }
    out.flush()?;
    Ok(())
}
