//! What the risk assessment report says: built from the current posture (assets,
//! recommendations, initiatives, device scores), the fixed versions of vulnerabilities and the
//! map's connections, laid out as a [`Document`]. Pure: the caller gathers the input.

use std::collections::{BTreeMap, HashMap};

use ironward_model::Timestamp;
use ironward_posture::{
    Asset, Authorization, DeviceScore, Domain, Posture, Rating, Severity, StateKind, Weight,
};

use super::charts::{self, Bar, Gauge, MapEdge, MapNode};
use super::document::{Block, Column, Document, Section, Table};
use super::figure::Color;

/// Rows each table of the document holds at most.
pub const TABLE_ROWS: usize = 50;
/// Devices the map shows at most.
pub const MAP_NODES: usize = 60;
/// Bars each inventory chart shows at most.
pub const CHART_BARS: usize = 12;

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// What the report covers, for people: a site's name or "All sites".
    pub scope: String,
    /// When it was made.
    pub generated_at: Timestamp,
    /// The console's version.
    pub console_version: String,
    /// Every device of the scope as posture sees it.
    pub assets: Vec<Asset>,
    /// The evaluation of those devices.
    pub posture: Posture,
    /// Each device's score, worst first.
    pub device_scores: Vec<DeviceScore>,
    /// Whether any sensor of the scope has reported (otherwise "More data is required").
    pub has_data: bool,
    /// Versions that fix a device's vulnerability: (asset id, CVE) → versions.
    pub fixed_in: BTreeMap<(String, String), Vec<String>>,
    /// Connections between devices (asset ids) for the map, busiest first.
    pub connections: Vec<(String, String)>,
}

/// The title every report has.
pub const TITLE: &str = "Risk assessment report";

/// Lays the report out.
pub fn build(input: &ReportInput) -> Document {
    let assets: HashMap<&str, &Asset> = input.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let title_lines = vec![
        ("Scope".to_owned(), input.scope.clone()),
        ("Generated".to_owned(), format_time(input.generated_at)),
        (
            "Console version".to_owned(),
            format!("Ironward {}", input.console_version),
        ),
        ("Devices".to_owned(), input.assets.len().to_string()),
    ];
    let sections = vec![
        overall(input),
        device_scores(input, &assets),
        recommendations(input),
        unauthorized(input),
        unpatched(input),
        internet(input),
        unused_ports(input),
        insecure_protocols(input),
        vulnerabilities(input),
        inventory(input),
        map(input),
    ];
    Document {
        title: TITLE.to_owned(),
        title_lines,
        footer: format!("{TITLE} — {}", input.scope),
        sections,
    }
}

fn overall(input: &ReportInput) -> Section {
    let mut section = Section::new("Overall security score");
    if !input.has_data {
        section.paragraph(
            "More data is required: no sensor of this scope has reported yet, so no score can \
             be given.",
        );
    }
    section.paragraph(
        "Each initiative's score is the weighted mean of its metrics' progress (High 3, Medium \
         2, Low 1; risk-accepted and not applicable metrics are left out). A metric's progress \
         is the share of applicable devices it does not list as affected.",
    );
    let gauges: Vec<Gauge> = input
        .posture
        .initiatives
        .iter()
        .map(|i| Gauge {
            label: i.name.clone(),
            score: if input.has_data { i.score } else { None },
            target: i.target,
        })
        .collect();
    if !gauges.is_empty() {
        section.blocks.push(Block::Figure(charts::gauges(&gauges)));
    }
    let rows = input.posture.initiatives.iter().map(|i| {
        let applicable = i.metrics.iter().filter(|m| m.total > 0).count();
        vec![
            i.name.clone(),
            score_text(if input.has_data { i.score } else { None }),
            format!("{:.0}", i.target),
            match i.score {
                Some(s) if input.has_data => format!("{:+.1}", s - i.target),
                _ => "—".to_owned(),
            },
            format!("{applicable} of {}", i.metrics.len()),
        ]
    });
    section.blocks.push(Block::Table(Table::bounded(
        vec![
            Column::text("Initiative", 3.0),
            Column::number("Score", 1.0),
            Column::number("Target", 1.0),
            Column::number("To target", 1.2),
            Column::number("Metrics applicable", 1.6),
        ],
        rows,
        TABLE_ROWS,
        "No initiative is defined.",
    )));

    let (secure, improve, vulnerable) = rating_counts(&input.device_scores);
    section
        .blocks
        .push(Block::Heading("Device ratings".to_owned()));
    section.blocks.push(Block::Figure(charts::bars(
        "Devices by security rating",
        &[
            Bar {
                label: "Secure".into(),
                value: secure,
                color: Color::GREEN,
            },
            Bar {
                label: "Needs improvement".into(),
                value: improve,
                color: Color::AMBER,
            },
            Bar {
                label: "Vulnerable".into(),
                value: vulnerable,
                color: Color::RED,
            },
        ],
        3,
    )));

    section.blocks.push(Block::Heading("Metrics".to_owned()));
    let names: HashMap<&str, &str> = input
        .posture
        .initiatives
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let rows = input
        .posture
        .initiatives
        .iter()
        .flat_map(|i| i.metrics.iter())
        .map(|m| {
            vec![
                names
                    .get(m.initiative.as_str())
                    .copied()
                    .unwrap_or(&m.initiative)
                    .to_owned(),
                m.name.clone(),
                weight_text(m.weight).to_owned(),
                m.affected.to_string(),
                m.total.to_string(),
                score_text(m.progress),
                format!("{:.1}", m.score_impact),
            ]
        });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("Initiative", 1.6),
                Column::text("Metric", 3.4),
                Column::text("Weight", 1.0),
                Column::number("Affected", 0.9),
                Column::number("Total", 0.8),
                Column::number("Progress", 0.9),
                Column::number("Impact", 0.8),
            ],
            rows,
            TABLE_ROWS,
            "No metric is defined.",
        )
        .with_full_list("the console's Initiatives page"),
    ));
    section
}

fn device_scores(input: &ReportInput, assets: &HashMap<&str, &Asset>) -> Section {
    let mut section = Section::new("Device security scores");
    section.paragraph(
        "A device's score is 100 minus a penalty for each active recommendation that lists it \
         (critical 40, high 25, medium 10, low 5; never below 0). Secure: 80 or more and no \
         high or critical recommendation. Vulnerable: below 50 or any critical one. Worst \
         first.",
    );
    let row = |d: &DeviceScore| {
        let asset = assets.get(d.id.as_str());
        vec![
            device_label(d.name.as_deref(), &d.id),
            ip_text(d.ip),
            asset
                .and_then(|a| a.device_type.clone())
                .unwrap_or_default(),
            format!("{:.0}", d.score),
            rating_text(d.rating).to_owned(),
            d.recommendations.len().to_string(),
        ]
    };
    section.blocks.push(Block::Table(
        Table::first(
            vec![
                Column::text("Device", 3.0),
                Column::text("IP", 1.6),
                Column::text("Type", 1.6),
                Column::number("Score", 0.8),
                Column::text("Rating", 1.6),
                Column::number("Recommendations", 1.4),
            ],
            &input.device_scores,
            TABLE_ROWS,
            "No device in this scope.",
            row,
        )
        .with_full_list("the console's inventory and its CSV export"),
    ));
    section
}

fn recommendations(input: &ReportInput) -> Section {
    let mut section = Section::new("Top recommendations");
    section.paragraph(
        "What to fix first: the points each initiative gains when every listed device is \
         fixed, highest first.",
    );
    let rows = input
        .posture
        .recommendations
        .iter()
        .filter(|r| r.state == StateKind::Active)
        .map(|r| {
            vec![
                r.title.clone(),
                severity_text(r.severity).to_owned(),
                domain_text(r.domain).to_owned(),
                r.devices.len().to_string(),
                format!("{:.1}", r.score_impact),
            ]
        });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("Recommendation", 5.0),
                Column::text("Severity", 1.0),
                Column::text("Domain", 1.4),
                Column::number("Devices", 0.9),
                Column::number("Impact", 0.9),
            ],
            rows,
            TABLE_ROWS,
            "No active recommendation.",
        )
        .with_full_list("the console's Recommendations page"),
    ));
    section
}

fn unauthorized(input: &ReportInput) -> Section {
    let mut section = Section::new("Unauthorized devices");
    let unknown = input
        .assets
        .iter()
        .filter(|a| a.authorized == Authorization::Unknown)
        .count();
    section.paragraph(
        "Devices first seen after the site's learning window ended and not approved since.",
    );
    if unknown > 0 {
        section.paragraph(format!(
            "{unknown} device(s) are of unknown authorization: no learning window has ended for \
             their site."
        ));
    }
    let rows = input
        .assets
        .iter()
        .filter(|a| a.authorized == Authorization::Unauthorized)
        .map(|a| {
            vec![
                device_label(a.name.as_deref(), &a.id),
                ip_text(a.ip),
                a.device_type.clone().unwrap_or_default(),
                a.vendor.clone().unwrap_or_default(),
                a.zone.clone().unwrap_or_default(),
            ]
        });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("Device", 3.0),
                Column::text("IP", 1.6),
                Column::text("Type", 1.5),
                Column::text("Vendor", 1.8),
                Column::text("Zone", 1.4),
            ],
            rows,
            TABLE_ROWS,
            "No unauthorized device.",
        )
        .with_full_list("the console's inventory and its CSV export"),
    ));
    section
}

/// A device's unpatched vulnerabilities, summed.
struct Unpatched<'a> {
    asset: &'a Asset,
    with_fix: usize,
    kev: usize,
    critical: usize,
    highest: Option<f32>,
    fixes: Vec<String>,
}

fn unpatched(input: &ReportInput) -> Section {
    let mut section = Section::new("Unpatched systems");
    section.paragraph(
        "Devices with a vulnerability that a published version fixes, that is known to be \
         exploited (CISA KEV) or that is critical (CVSS 9.0 or more).",
    );
    let mut list: Vec<Unpatched> = input
        .assets
        .iter()
        .filter_map(|asset| {
            let mut entry = Unpatched {
                asset,
                with_fix: 0,
                kev: 0,
                critical: 0,
                highest: None,
                fixes: Vec::new(),
            };
            for v in &asset.vulnerabilities {
                let fixes = input.fixed_in.get(&(asset.id.clone(), v.cve.clone()));
                let critical = v.cvss.is_some_and(|c| c >= 9.0);
                if fixes.is_none_or(|f| f.is_empty()) && !v.kev && !critical {
                    continue;
                }
                if let Some(fixes) = fixes.filter(|f| !f.is_empty()) {
                    entry.with_fix += 1;
                    for fix in fixes {
                        if !entry.fixes.contains(fix) {
                            entry.fixes.push(fix.clone());
                        }
                    }
                }
                entry.kev += usize::from(v.kev);
                entry.critical += usize::from(critical);
                entry.highest = match (entry.highest, v.cvss) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            (entry.with_fix + entry.kev + entry.critical > 0).then_some(entry)
        })
        .collect();
    list.sort_by(|a, b| {
        b.kev
            .cmp(&a.kev)
            .then(b.critical.cmp(&a.critical))
            .then(
                b.highest
                    .unwrap_or(0.0)
                    .total_cmp(&a.highest.unwrap_or(0.0)),
            )
            .then(a.asset.id.cmp(&b.asset.id))
    });
    let rows = list.iter().map(|u| {
        let fixes = first_few(&u.fixes, ToString::to_string);
        vec![
            device_label(u.asset.name.as_deref(), &u.asset.id),
            ip_text(u.asset.ip),
            u.asset.firmware.clone().unwrap_or_default(),
            u.with_fix.to_string(),
            u.kev.to_string(),
            u.critical.to_string(),
            u.highest.map(|c| format!("{c:.1}")).unwrap_or_default(),
            fixes,
        ]
    });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("Device", 2.6),
                Column::text("IP", 1.5),
                Column::text("Firmware", 1.3),
                Column::number("Fixable", 0.9),
                Column::number("KEV", 0.6),
                Column::number("Critical", 0.9),
                Column::number("CVSS", 0.7),
                Column::text("Fixed in", 2.0),
            ],
            rows,
            TABLE_ROWS,
            "No unpatched system.",
        )
        .with_full_list("the console's vulnerabilities CSV export"),
    ));
    section
}

fn internet(input: &ReportInput) -> Section {
    let mut section = Section::new("Unauthorized internet connections");
    section.paragraph("OT devices that exchanged traffic with public internet addresses.");
    let rows = input
        .assets
        .iter()
        .filter(|a| !a.internet_peers.is_empty())
        .map(|a| {
            let peers = first_few(&a.internet_peers, ToString::to_string);
            vec![
                device_label(a.name.as_deref(), &a.id),
                ip_text(a.ip),
                a.device_type.clone().unwrap_or_default(),
                a.internet_peers.len().to_string(),
                peers,
            ]
        });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("Device", 2.6),
                Column::text("IP", 1.5),
                Column::text("Type", 1.4),
                Column::number("Peers", 0.8),
                Column::text("Internet addresses", 3.5),
            ],
            rows,
            TABLE_ROWS,
            "No OT device talked to the internet.",
        )
        .with_full_list("the console's connections view"),
    ));
    section
}

fn unused_ports(input: &ReportInput) -> Section {
    let mut section = Section::new("Unused open ports");
    section.paragraph(
        "Services that answered but never carried application data (only handshakes or scans \
         were seen): candidates to close.",
    );
    let services = input
        .assets
        .iter()
        .flat_map(|a| a.unused_services.iter().map(move |s| (a, s)));
    section.blocks.push(Block::Table(
        Table::first(
            vec![
                Column::text("Device", 3.0),
                Column::text("IP", 1.6),
                Column::text("Transport", 1.0),
                Column::number("Port", 0.8),
                Column::text("Protocol", 1.6),
            ],
            services,
            TABLE_ROWS,
            "No unused open port.",
            |(a, s)| {
                vec![
                    device_label(a.name.as_deref(), &a.id),
                    ip_text(a.ip),
                    s.transport.clone(),
                    s.port.to_string(),
                    s.protocol.clone().unwrap_or_default(),
                ]
            },
        )
        .with_full_list("the console's device pages"),
    ));
    section
}

fn insecure_protocols(input: &ReportInput) -> Section {
    let mut section = Section::new("Insecure protocols");
    section.paragraph(
        "Insecure protocol use the dissectors saw, by finding, with the devices showing it.",
    );
    let mut by_finding: BTreeMap<ironward_model::Finding, Vec<&Asset>> = BTreeMap::new();
    for asset in &input.assets {
        // Each device once per finding, however often its list repeats one (a look-up in the
        // finding's growing list would be quadratic in the inventory).
        let mut findings = asset.findings.clone();
        findings.sort_unstable();
        findings.dedup();
        for finding in findings {
            by_finding.entry(finding).or_default().push(asset);
        }
    }
    let mut list: Vec<(ironward_model::Finding, Vec<&Asset>)> = by_finding.into_iter().collect();
    list.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let bars: Vec<Bar> = list
        .iter()
        .map(|(finding, devices)| Bar {
            // The description's head ("Telnet in use", "SNMP v1/v2c") names it for people.
            label: finding
                .describe()
                .split(':')
                .next()
                .unwrap_or(finding.as_str())
                .to_owned(),
            value: devices.len() as u64,
            color: Color::RED,
        })
        .collect();
    if !bars.is_empty() {
        section.blocks.push(Block::Figure(charts::bars(
            "Devices per insecure protocol finding",
            &bars,
            CHART_BARS,
        )));
    }
    let rows = list.iter().map(|(finding, devices)| {
        let examples = first_few(devices, |a| {
            a.ip.map(|ip| ip.to_string())
                .unwrap_or_else(|| a.id.clone())
        });
        vec![
            protocol_of(*finding).to_owned(),
            finding.describe().to_owned(),
            devices.len().to_string(),
            examples,
        ]
    });
    section.blocks.push(Block::Table(Table::bounded(
        vec![
            Column::text("Protocol", 1.0),
            Column::text("Finding", 4.5),
            Column::number("Devices", 0.9),
            Column::text("Devices seen", 2.6),
        ],
        rows,
        TABLE_ROWS,
        "No insecure protocol use seen.",
    )));
    section
}

fn vulnerabilities(input: &ReportInput) -> Section {
    let mut section = Section::new("Vulnerabilities");
    struct Cve {
        cvss: Option<f32>,
        kev: bool,
        devices: usize,
    }
    let mut cves: BTreeMap<&str, Cve> = BTreeMap::new();
    let mut affected = 0usize;
    for asset in &input.assets {
        affected += usize::from(!asset.vulnerabilities.is_empty());
        for v in &asset.vulnerabilities {
            let entry = cves.entry(v.cve.as_str()).or_insert(Cve {
                cvss: v.cvss,
                kev: false,
                devices: 0,
            });
            entry.kev |= v.kev;
            entry.devices += 1;
            if entry.cvss.is_none() {
                entry.cvss = v.cvss;
            }
        }
    }
    let kev = cves.values().filter(|c| c.kev).count();
    let critical = cves
        .values()
        .filter(|c| c.cvss.is_some_and(|s| s >= 9.0))
        .count();
    section.blocks.push(Block::Facts(vec![
        ("CVEs".into(), cves.len().to_string()),
        ("Known exploited (KEV)".into(), kev.to_string()),
        ("Critical (CVSS 9.0+)".into(), critical.to_string()),
        ("Devices affected".into(), affected.to_string()),
    ]));
    let mut list: Vec<(&str, Cve)> = cves.into_iter().collect();
    list.sort_by(|a, b| {
        b.1.kev
            .cmp(&a.1.kev)
            .then(
                b.1.cvss
                    .unwrap_or(-1.0)
                    .total_cmp(&a.1.cvss.unwrap_or(-1.0)),
            )
            .then(b.1.devices.cmp(&a.1.devices))
            .then(a.0.cmp(b.0))
    });
    let rows = list.iter().map(|(cve, c)| {
        vec![
            (*cve).to_owned(),
            c.cvss.map(|s| format!("{s:.1}")).unwrap_or_default(),
            if c.kev { "yes" } else { "" }.to_owned(),
            c.devices.to_string(),
        ]
    });
    section.blocks.push(Block::Table(
        Table::bounded(
            vec![
                Column::text("CVE", 2.0),
                Column::number("CVSS", 1.0),
                Column::text("KEV", 1.0),
                Column::number("Devices", 1.0),
            ],
            rows,
            TABLE_ROWS,
            "No known vulnerability.",
        )
        .with_full_list("the console's vulnerabilities CSV export"),
    ));
    section
}

/// How the inventory summary groups devices.
type GroupKey = fn(&Asset) -> String;

fn inventory(input: &ReportInput) -> Section {
    let mut section = Section::new("Device inventory summary");
    section.blocks.push(Block::Facts(vec![(
        "Devices".into(),
        input.assets.len().to_string(),
    )]));
    let groups: [(&str, GroupKey); 4] = [
        ("By type", |a| {
            a.device_type.clone().unwrap_or_else(|| "unknown".into())
        }),
        ("By vendor", |a| {
            a.vendor.clone().unwrap_or_else(|| "unknown".into())
        }),
        ("By Purdue level", |a| match a.purdue_level {
            Some(level) => format!("Level {level}"),
            None => "unknown".into(),
        }),
        ("By domain", |a| domain_text(a.domain).to_owned()),
    ];
    for (title, key) in groups {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for asset in &input.assets {
            *counts.entry(key(asset)).or_default() += 1;
        }
        let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
        if title == "By Purdue level" {
            counts.sort();
        } else {
            counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let bars: Vec<Bar> = counts
            .into_iter()
            .map(|(label, value)| Bar {
                label,
                value,
                color: Color::BLUE,
            })
            .collect();
        section.blocks.push(Block::Heading(title.to_owned()));
        section.blocks.push(Block::Figure(charts::bars(
            &format!("Devices {}", title.to_lowercase()),
            &bars,
            CHART_BARS,
        )));
    }
    section
}

fn map(input: &ReportInput) -> Section {
    let mut section = Section::new("Network map");
    let ratings: HashMap<&str, Rating> = input
        .device_scores
        .iter()
        .map(|d| (d.id.as_str(), d.rating))
        .collect();
    // The devices with connections come first (busiest first), then the rest worst first, so
    // a truncated map still shows who talks to whom and the devices that need attention.
    let mut order: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let known: HashMap<&str, &Asset> = input.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    for (a, b) in &input.connections {
        for id in [a.as_str(), b.as_str()] {
            if known.contains_key(id) && seen.insert(id) {
                order.push(id);
            }
        }
    }
    for d in &input.device_scores {
        if known.contains_key(d.id.as_str()) && seen.insert(d.id.as_str()) {
            order.push(d.id.as_str());
        }
    }
    for a in &input.assets {
        if seen.insert(a.id.as_str()) {
            order.push(a.id.as_str());
        }
    }
    let nodes: Vec<MapNode> = order
        .iter()
        .filter_map(|id| known.get(id))
        .map(|a| MapNode {
            id: a.id.clone(),
            label: a
                .name
                .clone()
                .or_else(|| a.ip.map(|ip| ip.to_string()))
                .unwrap_or_else(|| a.id.clone()),
            level: a.purdue_level,
            color: match ratings.get(a.id.as_str()) {
                Some(Rating::Secure) => Color::GREEN,
                Some(Rating::NeedsImprovement) => Color::AMBER,
                Some(Rating::Vulnerable) => Color::RED,
                None => Color::GREY,
            },
        })
        .collect();
    let shown: std::collections::HashSet<&str> = nodes
        .iter()
        .take(MAP_NODES)
        .map(|n| n.id.as_str())
        .collect();
    let edges: Vec<MapEdge> = input
        .connections
        .iter()
        .filter(|(a, b)| a != b)
        .map(|(a, b)| MapEdge {
            a: a.clone(),
            b: b.clone(),
        })
        .collect();
    let edges_shown = edges
        .iter()
        .filter(|e| shown.contains(e.a.as_str()) && shown.contains(e.b.as_str()))
        .count();
    section.paragraph(
        "Devices by Purdue level (highest first), coloured by rating: green secure, amber needs \
         improvement, red vulnerable; lines are observed connections.",
    );
    if nodes.len() > MAP_NODES || edges_shown < edges.len() {
        section.paragraph(format!(
            "The map is truncated: {} of {} devices and {edges_shown} of {} connections are \
             drawn. The console's map shows all of them.",
            nodes.len().min(MAP_NODES),
            nodes.len(),
            edges.len()
        ));
    }
    if nodes.is_empty() {
        section.paragraph("No device in this scope.");
    } else {
        section
            .blocks
            .push(Block::Figure(charts::map(&nodes, &edges, MAP_NODES)));
    }
    section
}

fn rating_counts(scores: &[DeviceScore]) -> (u64, u64, u64) {
    let mut counts = (0, 0, 0);
    for d in scores {
        match d.rating {
            Rating::Secure => counts.0 += 1,
            Rating::NeedsImprovement => counts.1 += 1,
            Rating::Vulnerable => counts.2 += 1,
        }
    }
    counts
}

fn device_label(name: Option<&str>, id: &str) -> String {
    name.map(ToOwned::to_owned).unwrap_or_else(|| id.to_owned())
}

fn ip_text(ip: Option<std::net::IpAddr>) -> String {
    ip.map(|ip| ip.to_string()).unwrap_or_default()
}

fn score_text(score: Option<f64>) -> String {
    score
        .map(|s| format!("{s:.1}"))
        .unwrap_or_else(|| "—".to_owned())
}

/// The protocol a finding is about (its id's first word).
fn protocol_of(finding: ironward_model::Finding) -> &'static str {
    let id = finding.as_str();
    id.split('_').next().unwrap_or(id)
}

/// A rating for people.
pub fn rating_text(rating: Rating) -> &'static str {
    match rating {
        Rating::Secure => "Secure",
        Rating::NeedsImprovement => "Needs improvement",
        Rating::Vulnerable => "Vulnerable",
    }
}

fn severity_text(severity: Severity) -> &'static str {
    match severity {
        Severity::Low => "Low",
        Severity::Medium => "Medium",
        Severity::High => "High",
        Severity::Critical => "Critical",
    }
}

fn weight_text(weight: Weight) -> &'static str {
    match weight {
        Weight::High => "High",
        Weight::Medium => "Medium",
        Weight::Low => "Low",
        Weight::RiskAccepted => "Risk accepted",
    }
}

fn domain_text(domain: Domain) -> &'static str {
    match domain {
        Domain::Ot => "OT",
        Domain::EnterpriseIot => "Enterprise IoT",
        Domain::It => "IT",
    }
}

/// `2026-12-07 19:30:00 UTC`.
pub fn format_time(time: Timestamp) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time.0))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| time.0.to_string())
}

/// The first three items, comma-separated, and how many more there are: `a, b, c (+4)`.
fn first_few<T>(items: &[T], text: impl Fn(&T) -> String) -> String {
    const SHOWN: usize = 3;
    let mut out = items
        .iter()
        .take(SHOWN)
        .map(text)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        out.push_str(&format!(" (+{})", items.len() - SHOWN));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use ironward_model::Finding;
    use ironward_posture::{
        device_scores, evaluate, AssetService, AssetVulnerability, Catalog, Settings,
    };

    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    /// A PLC with everything wrong, an HMI with VNC open, and `others` clean devices.
    fn input(others: usize) -> ReportInput {
        let mut plc = Asset::new("mac:00:80:f4:00:00:01", Domain::Ot);
        plc.ip = ip(1);
        plc.name = Some("plc-<north>".into());
        plc.device_type = Some("plc".into());
        plc.vendor = Some("Schneider Electric".into());
        plc.firmware = Some("3.60".into());
        plc.purdue_level = Some(1);
        plc.findings = vec![Finding::TelnetWithoutAuthentication, Finding::SnmpV1V2c];
        plc.vulnerabilities = vec![
            AssetVulnerability {
                cve: "CVE-2024-8936".into(),
                cvss: Some(8.2),
                kev: false,
            },
            AssetVulnerability {
                cve: "CVE-2021-22779".into(),
                cvss: Some(9.8),
                kev: true,
            },
        ];
        plc.authorized = Authorization::Unauthorized;
        plc.internet_peers = vec!["8.8.8.8".parse().expect("address")];
        plc.unused_services = vec![AssetService {
            transport: "tcp".into(),
            port: 21,
            protocol: Some("ftp".into()),
        }];
        let mut hmi = Asset::new("mac:00:0c:29:00:00:02", Domain::Ot);
        hmi.ip = ip(2);
        hmi.device_type = Some("hmi".into());
        hmi.purdue_level = Some(2);
        hmi.findings = vec![Finding::VncWithoutAuthentication];
        hmi.authorized = Authorization::Authorized;
        let mut assets = vec![plc, hmi];
        for i in 0..others {
            let mut a = Asset::new(format!("ip:10.1.{}.{}", i / 250, i % 250), Domain::Ot);
            a.device_type = Some("io_module".into());
            a.purdue_level = Some(1);
            a.authorized = Authorization::Authorized;
            assets.push(a);
        }
        let posture = evaluate(&assets, Catalog::builtin(), &Settings::default());
        let scores = device_scores(&assets, &posture);
        let mut fixed_in = BTreeMap::new();
        fixed_in.insert(
            (
                "mac:00:80:f4:00:00:01".to_owned(),
                "CVE-2024-8936".to_owned(),
            ),
            vec!["3.65".to_owned()],
        );
        ReportInput {
            scope: "North plant".into(),
            generated_at: Timestamp(1_796_000_000_000_000_000),
            console_version: "0.1.0".into(),
            assets,
            posture,
            device_scores: scores,
            has_data: true,
            fixed_in,
            connections: vec![(
                "mac:00:0c:29:00:00:02".to_owned(),
                "mac:00:80:f4:00:00:01".to_owned(),
            )],
        }
    }

    fn section<'a>(document: &'a Document, title: &str) -> &'a Section {
        document
            .sections
            .iter()
            .find(|s| s.title == title)
            .unwrap_or_else(|| panic!("no section {title}"))
    }

    fn tables(section: &Section) -> Vec<&Table> {
        section
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Table(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_section_is_there_in_order() {
        let document = build(&input(3));
        let titles: Vec<&str> = document.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Overall security score",
                "Device security scores",
                "Top recommendations",
                "Unauthorized devices",
                "Unpatched systems",
                "Unauthorized internet connections",
                "Unused open ports",
                "Insecure protocols",
                "Vulnerabilities",
                "Device inventory summary",
                "Network map",
            ]
        );
        assert_eq!(document.title_lines[0].1, "North plant");
        assert_eq!(document.title_lines[1].1, "2026-11-30 00:53:20 UTC");
    }

    #[test]
    fn the_plc_shows_up_where_its_evidence_says() {
        let document = build(&input(3));
        let first_row = |title: &str| tables(section(&document, title))[0].rows[0].clone();
        assert_eq!(first_row("Device security scores")[0], "plc-<north>");
        assert_eq!(first_row("Device security scores")[4], "Vulnerable");
        assert_eq!(first_row("Unauthorized devices")[1], "10.0.0.1");
        let unpatched = first_row("Unpatched systems");
        assert_eq!(
            unpatched[3..8],
            ["1", "1", "1", "9.8", "3.65"].map(String::from)
        );
        assert_eq!(first_row("Unauthorized internet connections")[4], "8.8.8.8");
        assert_eq!(
            first_row("Unused open ports")[2..],
            ["tcp", "21", "ftp"].map(String::from)
        );
        let vulns = tables(section(&document, "Vulnerabilities"))[0];
        assert_eq!(
            vulns.rows[0][..3],
            ["CVE-2021-22779", "9.8", "yes"].map(String::from)
        );
        let protocols = tables(section(&document, "Insecure protocols"))[0];
        let found: Vec<&str> = protocols.rows.iter().map(|r| r[0].as_str()).collect();
        for protocol in ["telnet", "snmp", "vnc"] {
            assert!(found.contains(&protocol), "{protocol} in {found:?}");
        }
        let recommendations = tables(section(&document, "Top recommendations"))[0];
        assert!(
            recommendations.rows.iter().any(|r| r[0].contains("Telnet")),
            "{:?}",
            recommendations.rows
        );
    }

    #[test]
    fn large_inventories_are_bounded_and_say_so() {
        let document = build(&input(200));
        let scores = tables(section(&document, "Device security scores"))[0];
        assert_eq!(scores.rows.len(), TABLE_ROWS);
        assert_eq!(scores.total, 202);
        assert!(scores
            .truncation_note()
            .is_some_and(|n| n.starts_with("First 50 of 202 rows shown.")));
        let map = section(&document, "Network map");
        assert!(map.blocks.iter().any(|b| matches!(b, Block::Paragraph(p)
            if p.contains("truncated: 60 of 202 devices and 1 of 1 connections"))));
    }

    #[test]
    fn no_sensor_data_means_no_score() {
        let mut input = input(1);
        input.has_data = false;
        let document = build(&input);
        let overall = section(&document, "Overall security score");
        assert!(
            matches!(&overall.blocks[0], Block::Paragraph(p) if p.starts_with("More data is required"))
        );
        assert!(tables(overall)[0].rows.iter().all(|r| r[1] == "—"));
        // Both renderers take the whole document.
        assert!(super::super::html::render(&document).contains("More data is required"));
        assert!(super::super::pdf::render(&document).starts_with(b"%PDF-"));
    }
}
