//! Human-friendly tables.

use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use ironward_model::{AnalysisReport, Device, EventCategory, EventEndpoint};
use ironward_posture::Posture;

use super::{join, serde_name};

/// Connections shown in the table, busiest first; the JSON and CSV outputs have all of them.
const MAX_CONNECTIONS_SHOWN: usize = 50;

/// Operations shown in the table, most consequential first; the JSON and CSV outputs have all.
const MAX_OPERATIONS_SHOWN: usize = 40;

/// Longest operation detail shown in the table.
const MAX_DETAIL_SHOWN: usize = 80;

/// Host names shown under a device id; the JSON output has all of them.
const MAX_NAMES_SHOWN: usize = 3;

/// Devices named under a recommendation; the JSON and CSV outputs have all of them.
const MAX_RECOMMENDATION_DEVICES_SHOWN: usize = 10;

/// Type, vendor, model, firmware, OS and role of a device, one per line, `-` when unknown.
fn identity(d: &Device) -> String {
    let mut lines = Vec::new();
    if let Some(t) = &d.device_type {
        lines.push(t.replace('_', " "));
    }
    match (&d.vendor, &d.model) {
        (Some(vendor), Some(model)) if model.to_lowercase().contains(&vendor.to_lowercase()) => {
            lines.push(model.clone())
        }
        (Some(vendor), Some(model)) => lines.push(format!("{vendor} {model}")),
        (Some(only), None) | (None, Some(only)) => lines.push(only.clone()),
        (None, None) => {}
    }
    if let Some(firmware) = &d.firmware {
        lines.push(format!("firmware {firmware}"));
    }
    if let Some(serial) = &d.serial {
        lines.push(format!("serial {serial}"));
    }
    if let Some(os) = &d.os {
        lines.push(format!("os {os}"));
    }
    if let Some(state) = &d.state {
        lines.push(format!("state {state}"));
    }
    if let Some(role) = &d.role {
        if d.device_type.as_deref() != Some(role.as_str()) {
            lines.push(format!("role {role}"));
        }
    }
    if lines.is_empty() {
        "-".to_owned()
    } else {
        lines.join("\n")
    }
}

/// Whether a device belongs in the industrial view: it has a Purdue level of 0–3 (controllers,
/// field devices, supervisory and site-operations hosts).
fn is_industrial(d: &Device) -> bool {
    d.purdue_level.is_some_and(|level| level <= 3)
}

fn or_dash(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

/// Controllers, field devices and the hosts that supervise them: role, Purdue level, identity
/// and state, lowest level first.
fn write_industrial(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    let mut ot: Vec<&Device> = report.devices.iter().filter(|d| is_industrial(d)).collect();
    if ot.is_empty() {
        return Ok(());
    }
    ot.sort_by_key(|d| (d.purdue_level, d.ips.first().copied()));
    let mut table = new_table(&[
        "device", "role", "purdue", "vendor", "model", "firmware", "serial", "state",
    ]);
    for d in &ot {
        let mut name = d
            .ips
            .first()
            .map_or_else(|| d.id.0.clone(), |ip| ip.to_string());
        if let Some(hostname) = d.hostnames.first() {
            name.push('\n');
            name.push_str(hostname);
        }
        let role = d
            .role
            .as_deref()
            .or(d.device_type.as_deref())
            .unwrap_or("-")
            .replace('_', " ");
        let purdue = match (d.purdue_level, &d.purdue_reason) {
            (Some(level), Some(reason)) => format!("L{level}: {reason}"),
            (Some(level), None) => format!("L{level}"),
            _ => "-".to_owned(),
        };
        table.add_row(vec![
            name,
            role,
            purdue,
            or_dash(&d.vendor),
            or_dash(&d.model),
            or_dash(&d.firmware),
            or_dash(&d.serial),
            or_dash(&d.state),
        ]);
    }
    writeln!(out, "\nIndustrial devices ({})", ot.len())?;
    writeln!(out, "{table}")?;
    Ok(())
}

/// How much an operation category matters to an operator, most first (program and mode
/// changes before reads).
fn weight(category: EventCategory) -> u8 {
    match category {
        EventCategory::ProgramDownload | EventCategory::FirmwareUpdate => 0,
        EventCategory::ModeChange => 1,
        EventCategory::ProgramUpload | EventCategory::ConfigurationChange => 2,
        EventCategory::ControlCommand => 3,
        EventCategory::Write => 4,
        EventCategory::Authentication => 5,
        EventCategory::TimeSync | EventCategory::Diagnostics => 6,
        EventCategory::Discovery => 7,
        EventCategory::Read => 8,
        _ => 9,
    }
}

fn endpoint(e: &EventEndpoint) -> String {
    match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => "-".to_owned(),
    }
}

/// The operations seen, most consequential first.
fn write_operations(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    if report.events.is_empty() {
        return Ok(());
    }
    let mut events: Vec<_> = report.events.iter().collect();
    events.sort_by_key(|e| (weight(e.category), e.time));
    let mut table = new_table(&[
        "first seen",
        "source",
        "destination",
        "protocol",
        "category",
        "operation",
        "detail",
        "count",
    ]);
    for e in events.iter().take(MAX_OPERATIONS_SHOWN) {
        let mut detail = e.detail.clone();
        if detail.len() > MAX_DETAIL_SHOWN {
            let mut end = MAX_DETAIL_SHOWN;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            detail.truncate(end);
            detail.push('…');
        }
        if let Some(hash) = &e.content_hash {
            detail.push_str(&format!("\nsha256 {}", &hash[..hash.len().min(16)]));
        }
        table.add_row(vec![
            e.time.to_rfc3339(),
            endpoint(&e.src),
            endpoint(&e.dst),
            e.protocol.to_string(),
            e.category.as_str().replace('_', " "),
            e.operation.to_string(),
            detail,
            e.count.to_string(),
        ]);
    }
    let occurrences: u64 = report.events.iter().map(|e| e.count).sum();
    let shown = events.len().min(MAX_OPERATIONS_SHOWN);
    write!(
        out,
        "\nOperations ({} distinct, {occurrences} in all",
        events.len()
    )?;
    if shown < events.len() {
        write!(
            out,
            "; the {shown} most consequential shown, --format json or csv for all"
        )?;
    }
    writeln!(out, ")")?;
    writeln!(out, "{table}")?;
    Ok(())
}

/// Which value won where sources disagreed, and why.
fn write_conflicts(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    let count: usize = report.devices.iter().map(|d| d.conflicts.len()).sum();
    if count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "\nConflicting sources ({count}; the strongest fact wins)"
    )?;
    for d in &report.devices {
        for c in &d.conflicts {
            let others: Vec<String> = c
                .others
                .iter()
                .map(|o| format!("\"{}\" ({})", o.value, o.source))
                .collect();
            writeln!(
                out,
                "  {} {}: \"{}\" ({}) over {}: {}",
                d.id,
                c.attribute,
                c.chosen,
                c.chosen_source,
                others.join(", "),
                c.reason
            )?;
        }
    }
    Ok(())
}

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    table
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The alerts, most urgent first (as the report lists them); nothing without detection.
fn write_alerts(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    if report.alerts.is_empty() {
        return Ok(());
    }
    // The pcap column only when captures were written (--pcap-dir).
    let pcaps = report.alerts.iter().any(|a| a.pcap.is_some());
    let mut header = vec![
        "severity",
        "engine",
        "alert",
        "source",
        "destination",
        "techniques",
        "count",
    ];
    if pcaps {
        header.push("pcap");
    }
    let mut table = new_table(&header);
    for a in &report.alerts {
        let techniques: Vec<&str> = a.techniques.iter().map(|t| t.id.as_str()).collect();
        let mut row = vec![
            a.severity.as_str().to_owned(),
            a.engine.as_str().to_owned(),
            a.title.clone(),
            a.src_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            a.dst_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            techniques.join(" "),
            a.count.to_string(),
        ];
        if pcaps {
            row.push(a.pcap.clone().unwrap_or_default());
        }
        table.add_row(row);
    }
    writeln!(out, "Alerts ({})", report.alerts.len())?;
    writeln!(out, "{table}")?;
    Ok(())
}

/// The recommendations that apply to some device, most score impact first (as evaluated).
fn write_recommendations(posture: &Posture, out: &mut impl Write) -> anyhow::Result<()> {
    let applying: Vec<_> = posture
        .recommendations
        .iter()
        .filter(|r| !r.devices.is_empty())
        .collect();
    if applying.is_empty() {
        return Ok(());
    }
    let mut table = new_table(&["recommendation", "severity", "devices", "score impact"]);
    for r in &applying {
        let mut devices: Vec<String> = r
            .devices
            .iter()
            .take(MAX_RECOMMENDATION_DEVICES_SHOWN)
            .map(|d| d.ip.map_or_else(|| d.id.clone(), |ip| ip.to_string()))
            .collect();
        if r.devices.len() > MAX_RECOMMENDATION_DEVICES_SHOWN {
            devices.push(format!(
                "(+{} more)",
                r.devices.len() - MAX_RECOMMENDATION_DEVICES_SHOWN
            ));
        }
        table.add_row(vec![
            format!(
                "{}\n{} ({})",
                r.title,
                serde_name(&r.domain),
                serde_name(&r.state)
            ),
            serde_name(&r.severity),
            devices.join("\n"),
            format!("+{:.1}", r.score_impact),
        ]);
    }
    writeln!(out, "\nRecommendations ({})", applying.len())?;
    writeln!(out, "{table}")?;
    Ok(())
}

/// Each initiative's score against its target, and its metrics.
fn write_initiatives(posture: &Posture, out: &mut impl Write) -> anyhow::Result<()> {
    if posture.initiatives.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nInitiatives")?;
    for initiative in &posture.initiatives {
        let score = initiative.score.map_or_else(
            || "more data is required".to_owned(),
            |score| format!("{score:.1}"),
        );
        writeln!(
            out,
            "  {}: score {score} (target {:.1})",
            initiative.name, initiative.target
        )?;
        let mut table = new_table(&[
            "metric",
            "weight",
            "affected",
            "total",
            "progress",
            "score impact",
        ]);
        for m in &initiative.metrics {
            table.add_row(vec![
                m.name.clone(),
                serde_name(&m.weight),
                m.affected.to_string(),
                m.total.to_string(),
                m.progress
                    .map_or_else(|| "n/a".to_owned(), |p| format!("{p:.1}")),
                format!("+{:.1}", m.score_impact),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    Ok(())
}

/// Writes devices, the busiest connections, the posture (recommendations and initiatives) and
/// the statistics as tables.
pub(crate) fn write_table(
    report: &AnalysisReport,
    posture: &Posture,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut devices = new_table(&[
        "device",
        "ips",
        "identity",
        "protocols",
        "services",
        "findings",
    ]);
    for d in &report.devices {
        let mut protocols: Vec<String> =
            d.protocols.client.iter().map(|p| format!("{p}→")).collect();
        protocols.extend(d.protocols.server.iter().map(|p| format!("→{p}")));
        let services: Vec<String> = d
            .services
            .iter()
            .map(|s| format!("{}/{}", s.transport, s.port))
            .collect();
        let mut name = d.id.0.clone();
        for hostname in d.hostnames.iter().take(MAX_NAMES_SHOWN) {
            name.push('\n');
            name.push_str(hostname);
        }
        devices.add_row(vec![
            name,
            join(&d.ips, "\n"),
            identity(d),
            protocols.join(" "),
            services.join(" "),
            d.findings.join("\n"),
        ]);
    }
    writeln!(out, "Devices ({})", report.devices.len())?;
    writeln!(out, "{devices}")?;
    write_industrial(report, out)?;
    write_conflicts(report, out)?;
    write_operations(report, out)?;
    write_alerts(report, out)?;

    let mut busiest: Vec<_> = report.connections.iter().collect();
    busiest.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.a_ip.cmp(&y.a_ip)));
    let mut connections = new_table(&[
        "client",
        "server",
        "service",
        "packets",
        "bytes",
        "first seen",
        "last seen",
    ]);
    for c in busiest.iter().take(MAX_CONNECTIONS_SHOWN) {
        let service = match (c.port, &c.protocol) {
            (Some(port), Some(p)) => format!("{}/{port} {p}", c.transport),
            (Some(port), None) => format!("{}/{port}", c.transport),
            (None, Some(p)) => format!("{} {p}", c.transport),
            (None, None) => c.transport.clone(),
        };
        connections.add_row(vec![
            c.a_ip.to_string(),
            c.b_ip.to_string(),
            service,
            c.packets.to_string(),
            human_bytes(c.bytes),
            c.first_seen.to_rfc3339(),
            c.last_seen.to_rfc3339(),
        ]);
    }
    let shown = busiest.len().min(MAX_CONNECTIONS_SHOWN);
    if shown < busiest.len() {
        writeln!(
            out,
            "\nConnections ({} in all; the {shown} busiest shown, --format json or csv for all)",
            busiest.len()
        )?;
    } else {
        writeln!(out, "\nConnections ({})", busiest.len())?;
    }
    writeln!(out, "{connections}")?;
    write_recommendations(posture, out)?;
    write_initiatives(posture, out)?;

    let s = &report.stats;
    writeln!(out, "\nStatistics")?;
    writeln!(
        out,
        "  {} frames, {} on the wire, {} cut by the snap length, {} inputs",
        s.packets,
        human_bytes(s.bytes),
        s.truncated,
        s.inputs
    )?;
    let linktypes: Vec<String> = s
        .frames_by_linktype
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(out, "  link types: {}", linktypes.join(", "))?;
    writeln!(
        out,
        "  {} flows ({} evicted), {} TCP streams with gaps, {} datagrams reassembled from fragments",
        s.flows, s.flows_evicted, s.streams_with_gaps, s.fragments_reassembled
    )?;
    if !s.decode_errors.is_empty() {
        let errors: Vec<String> = s
            .decode_errors
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(out, "  decode errors: {}", errors.join(", "))?;
    }
    if s.capture_warnings > 0 {
        writeln!(
            out,
            "  capture warnings: {} (see standard error)",
            s.capture_warnings
        )?;
    }
    Ok(())
}
