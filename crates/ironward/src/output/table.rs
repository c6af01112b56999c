//! Human-friendly tables.

use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use ironward_model::AnalysisReport;

use super::{join, or_dash};

/// Connections shown in the table, busiest first; the JSON and CSV outputs have all of them.
const MAX_CONNECTIONS_SHOWN: usize = 50;

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

/// Writes devices, the busiest connections and the statistics as tables.
pub(crate) fn write_table(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    let mut devices = new_table(&["device", "ips", "vendor", "role", "protocols", "services"]);
    for d in &report.devices {
        let mut protocols: Vec<String> =
            d.protocols.client.iter().map(|p| format!("{p}→")).collect();
        protocols.extend(d.protocols.server.iter().map(|p| format!("→{p}")));
        let services: Vec<String> = d
            .services
            .iter()
            .map(|s| format!("{}/{}", s.transport, s.port))
            .collect();
        devices.add_row(vec![
            d.id.0.clone(),
            join(&d.ips, "\n"),
            or_dash(d.vendor.as_deref()).to_owned(),
            or_dash(d.role.as_deref()).to_owned(),
            protocols.join(" "),
            services.join(" "),
        ]);
    }
    writeln!(out, "Devices ({})", report.devices.len())?;
    writeln!(out, "{devices}")?;

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
