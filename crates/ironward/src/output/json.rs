//! The JSON document, written as the engine hands over each device and connection, so that the
//! report is never held in memory whole. The bytes are exactly those of
//! `serde_json::to_writer_pretty` on the collected report.

use std::io::Write;

#[cfg(test)]
use ironward_model::AnalysisReport;
use ironward_model::{Alert, Connection, Device, Event, Stats};
use ironward_sensor::engine::ReportSink;
use serde::Serialize;

/// Writes the report as pretty-printed JSON followed by a newline: the reference the streamed
/// output is tested against.
#[cfg(test)]
fn write_json(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Start,
    Devices { any: bool },
    Connections { any: bool },
    Events { any: bool },
    Alerts { any: bool },
    Done,
}

/// A [`ReportSink`] writing the JSON document piece by piece.
pub(crate) struct JsonStream<'w, W: Write> {
    out: &'w mut W,
    section: Section,
    /// Reused for each device, connection and event, written by hand (see
    /// [`super::event_json`] and [`super::device_json`]).
    scratch: Vec<u8>,
}

/// serde_json's pretty formatter (two-space indent), starting `level` levels deep, so that an
/// element written on its own lands exactly where `to_writer_pretty` of the whole document would
/// put it.
struct Nested {
    level: usize,
    has_value: bool,
}

impl Nested {
    fn indent<W: ?Sized + Write>(&self, writer: &mut W) -> std::io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        let mut n = self.level * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            writer.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            writer.write_all(b"\n")?;
            self.indent(writer)?;
        }
        writer.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        writer.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(writer)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

impl<'w, W: Write> JsonStream<'w, W> {
    /// A stream writing to `out`.
    pub(crate) fn new(out: &'w mut W) -> Self {
        Self {
            out,
            section: Section::Start,
            scratch: Vec::new(),
        }
    }

    /// Writes `value` pretty-printed as if it were `level` levels deep in the document.
    fn element(&mut self, value: &impl Serialize, level: usize) -> anyhow::Result<()> {
        let formatter = Nested {
            level,
            has_value: false,
        };
        let mut serializer = serde_json::Serializer::with_formatter(&mut *self.out, formatter);
        value.serialize(&mut serializer)?;
        Ok(())
    }
    /// Moves to `next`, closing the arrays before it.
    fn advance(&mut self, next: Section) -> anyhow::Result<()> {
        loop {
            let (current, target) = (self.section, next);
            let step = match (current, target) {
                (a, b) if std::mem::discriminant(&a) == std::mem::discriminant(&b) => return Ok(()),
                (Section::Start, _) => {
                    self.out.write_all(b"{\n  \"devices\": [")?;
                    Section::Devices { any: false }
                }
                (Section::Devices { any }, _) => {
                    self.out
                        .write_all(if any { b"\n  ],\n" } else { b"],\n" })?;
                    self.out.write_all(b"  \"connections\": [")?;
                    Section::Connections { any: false }
                }
                (Section::Connections { any }, _) => {
                    self.out
                        .write_all(if any { b"\n  ],\n" } else { b"],\n" })?;
                    self.out.write_all(b"  \"events\": [")?;
                    Section::Events { any: false }
                }
                (Section::Events { any }, _) => {
                    self.out
                        .write_all(if any { b"\n  ],\n" } else { b"],\n" })?;
                    self.out.write_all(b"  \"alerts\": [")?;
                    Section::Alerts { any: false }
                }
                (Section::Alerts { any }, _) => {
                    self.out
                        .write_all(if any { b"\n  ],\n" } else { b"],\n" })?;
                    Section::Done
                }
                (Section::Done, _) => return Ok(()),
            };
            self.section = step;
        }
    }
}

impl<W: Write> super::TopLevel for JsonStream<'_, W> {
    /// After the alerts, before the statistics.
    fn top_level<T: Serialize>(&mut self, key: &str, value: &T) -> anyhow::Result<()> {
        self.advance(Section::Done)?;
        self.out.write_all(b"  ")?;
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b": ")?;
        self.element(value, 1)?;
        self.out.write_all(b",\n")?;
        Ok(())
    }
}

impl<W: Write> ReportSink for JsonStream<'_, W> {
    type Error = anyhow::Error;

    fn device(&mut self, device: Device) -> anyhow::Result<()> {
        self.advance(Section::Devices { any: false })?;
        let any = matches!(self.section, Section::Devices { any: true });
        self.out
            .write_all(if any { b",\n    " } else { b"\n    " })?;
        self.section = Section::Devices { any: true };
        self.scratch.clear();
        super::device_json::push_device(&mut self.scratch, &device, 2);
        self.out.write_all(&self.scratch)?;
        Ok(())
    }

    fn connection(&mut self, connection: Connection) -> anyhow::Result<()> {
        self.advance(Section::Connections { any: false })?;
        let any = matches!(self.section, Section::Connections { any: true });
        self.out
            .write_all(if any { b",\n    " } else { b"\n    " })?;
        self.section = Section::Connections { any: true };
        self.scratch.clear();
        super::device_json::push_connection(&mut self.scratch, &connection, 2);
        self.out.write_all(&self.scratch)?;
        Ok(())
    }

    fn event(&mut self, event: Event) -> anyhow::Result<()> {
        self.advance(Section::Events { any: false })?;
        let any = matches!(self.section, Section::Events { any: true });
        self.out
            .write_all(if any { b",\n    " } else { b"\n    " })?;
        self.section = Section::Events { any: true };
        self.scratch.clear();
        super::event_json::push_event(&mut self.scratch, &event, 2);
        self.out.write_all(&self.scratch)?;
        Ok(())
    }

    fn alert(&mut self, alert: Alert) -> anyhow::Result<()> {
        self.advance(Section::Alerts { any: false })?;
        let any = matches!(self.section, Section::Alerts { any: true });
        self.out
            .write_all(if any { b",\n    " } else { b"\n    " })?;
        self.section = Section::Alerts { any: true };
        self.element(&alert, 2)
    }

    fn stats(&mut self, stats: Stats) -> anyhow::Result<()> {
        self.advance(Section::Done)?;
        self.out.write_all(b"  \"stats\": ")?;
        self.element(&stats, 1)?;
        self.out.write_all(b"\n}\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceId, Timestamp};

    fn streamed(report: &AnalysisReport) -> String {
        let mut out = Vec::new();
        let mut stream = JsonStream::new(&mut out);
        for d in &report.devices {
            stream.device(d.clone()).unwrap();
        }
        for c in &report.connections {
            stream.connection(c.clone()).unwrap();
        }
        for e in &report.events {
            stream.event(e.clone()).unwrap();
        }
        for a in &report.alerts {
            stream.alert(a.clone()).unwrap();
        }
        stream.stats(report.stats.clone()).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn collected(report: &AnalysisReport) -> String {
        let mut out = Vec::new();
        write_json(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn connection(n: u16) -> Connection {
        Connection {
            a: Some(DeviceId(format!("ip:10.0.0.{n}"))),
            b: None,
            a_ip: "10.0.0.1".parse().unwrap(),
            b_ip: "224.0.0.251".parse().unwrap(),
            transport: "udp".to_owned(),
            port: Some(5353),
            protocol: Some("mdns".to_owned()),
            packets: 3,
            bytes: 300,
            flows: 1,
            first_seen: Timestamp(1),
            last_seen: Timestamp(2),
        }
    }

    fn device(n: u8) -> Device {
        use ironward_model::device::ReportedFact;
        use ironward_model::{MacAddress, Protocols, Service};
        Device {
            id: DeviceId(format!("mac:00:80:f4:00:00:{n:02x}")),
            mac: Some(MacAddress([0, 0x80, 0xf4, 0, 0, n])),
            ips: vec!["10.0.0.1".parse().unwrap(), "fe80::1".parse().unwrap()],
            vendor: Some("TELEMECANIQUE \"ELECTRIQUE\"".to_owned()),
            hostnames: vec![],
            device_type: None,
            role: None,
            model: None,
            firmware: None,
            serial: None,
            os: None,
            state: Some("run".to_owned()),
            purdue_level: Some(1),
            purdue_reason: Some("controller: basic control".to_owned()),
            protocols: Protocols {
                client: vec![],
                server: vec!["modbus".to_owned()],
            },
            services: vec![Service {
                transport: "tcp".to_owned(),
                port: 502,
                protocol: Some("modbus".to_owned()),
            }],
            facts: vec![ReportedFact {
                attribute: "vendor".into(),
                value: "TELEMECANIQUE".into(),
                source: "oui".into(),
                confidence: 40,
                selected: true,
                evidence: None,
            }],
            findings: vec!["telnet_in_use".to_owned()],
            conflicts: vec![],
            first_seen: Timestamp(5),
            last_seen: Timestamp(6),
        }
    }

    #[test]
    fn streaming_writes_the_same_bytes_as_the_collected_report() {
        let mut report = AnalysisReport::default();
        assert_eq!(streamed(&report), collected(&report));
        report.devices.push(device(1));
        assert_eq!(streamed(&report), collected(&report));
        report.devices.push(device(2));
        assert_eq!(streamed(&report), collected(&report));
        report.connections.push(connection(1));
        assert_eq!(streamed(&report), collected(&report));
        report.connections.push(connection(2));
        report.stats.packets = 7;
        report
            .stats
            .frames_by_linktype
            .insert("ethernet".to_owned(), 7);
        assert_eq!(streamed(&report), collected(&report));
        for n in 0..2 {
            report.events.push(ironward_model::Event {
                time: Timestamp(n),
                last_seen: Timestamp(n + 1),
                count: 2,
                src: ironward_model::EventEndpoint::ip("10.0.0.1".parse().unwrap()),
                dst: ironward_model::EventEndpoint::default(),
                protocol: "s7comm".into(),
                category: ironward_model::EventCategory::ModeChange,
                operation: "plc_stop".into(),
                detail: format!("\"quoted\" {n}"),
                content_hash: None,
            });
            assert_eq!(streamed(&report), collected(&report));
        }
        for n in 0..2 {
            report.alerts.push(ironward_model::Alert {
                id: format!("{n:016x}"),
                kind: "anomaly.vertical_scan".to_owned(),
                title: "Port scan".to_owned(),
                description: "\"quoted\"".to_owned(),
                engine: ironward_model::AlertEngine::Anomaly,
                severity: ironward_model::Severity::Major,
                src_ip: Some("10.0.0.1".parse().unwrap()),
                dst_ip: None,
                devices: vec![DeviceId("ip:10.0.0.1".to_owned())],
                protocol: None,
                techniques: vec![ironward_model::Technique {
                    id: "T0846".to_owned(),
                    name: "Remote System Discovery".to_owned(),
                }],
                evidence: vec![ironward_model::Evidence {
                    time: Timestamp(1),
                    summary: "tcp".to_owned(),
                    frame: Some(3),
                }],
                remediation: String::new(),
                count: 2,
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
                pcap: None,
            });
            assert_eq!(streamed(&report), collected(&report));
        }
    }
}
