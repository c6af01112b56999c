//! The sensor→console batch: what a sensor sends in one request, and the checks a console runs
//! before it writes anything.
//!
//! A batch carries devices (with their facts), connections and events as the sensor aggregated
//! them since its previous batch, plus the sensor's health. Its `id` makes ingest idempotent: the
//! console records each (sensor, batch id) it committed and answers a resend with "duplicate"
//! without writing anything twice. Everything in a batch is attacker-controlled until the sensor
//! is authenticated, and a compromised sensor stays hostile after that, so [`Batch::validate`]
//! bounds every list and string and rejects timestamps no capture can carry; the error names
//! the offending field with its index (`devices[3].facts[7].value`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Alert, AlertCapture, Connection, Device, Event, Timestamp};

/// Longest batch id, in bytes.
pub const MAX_BATCH_ID_LEN: usize = 64;
/// Most devices in one batch.
pub const MAX_BATCH_DEVICES: usize = 10_000;
/// Most connections in one batch.
pub const MAX_BATCH_CONNECTIONS: usize = 100_000;
/// Most events in one batch.
pub const MAX_BATCH_EVENTS: usize = 100_000;
/// Most alerts in one batch.
pub const MAX_BATCH_ALERTS: usize = 10_000;
/// Most alert captures in one batch: with [`crate::alert_capture::MAX_ALERT_PCAP_BYTES`] each,
/// about 5.4 MiB of base64, well under the console's body limit.
pub const MAX_BATCH_ALERT_CAPTURES: usize = 16;
/// Most entries in one of a device's lists (facts, addresses, names, services, findings,
/// protocols, conflicts).
pub const MAX_DEVICE_LIST_LEN: usize = 4_096;
/// Longest device id (`mac:…`, `ip:…`), in bytes: ids are unique keys in the console's
/// database, whose indexes refuse very long keys.
pub const MAX_DEVICE_ID_LEN: usize = 128;
/// Longest string anywhere in a batch (values, names, details), in bytes.
pub const MAX_TEXT_LEN: usize = 8_192;
/// Earliest timestamp accepted: the epoch (damaged captures carry zero times; nothing earlier).
pub const MIN_TIMESTAMP: Timestamp = Timestamp(0);
/// Latest timestamp accepted: 2200-01-01T00:00:00Z.
pub const MAX_TIMESTAMP: Timestamp = Timestamp(7_258_118_400_000_000_000);

/// One sensor→console batch (JSON over HTTPS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// The sensor's id for this batch, unique per sensor: 1 to [`MAX_BATCH_ID_LEN`] bytes of
    /// `A-Z a-z 0-9 . _ : -`. A resend carries the same id.
    pub id: String,
    /// When the sensor built the batch.
    pub created: Timestamp,
    /// Devices seen, each with the facts behind it.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Connections, aggregated since the previous batch (the console adds the counters).
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// Events, aggregated since the previous batch (the console adds the counts).
    #[serde(default)]
    pub events: Vec<Event>,
    /// Alerts raised since the previous batch (the console aggregates them by id).
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// The packets around the first occurrence of alerts (each alert's capture is sent once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_captures: Vec<AlertCapture>,
    /// The sensor's health when it built the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<SensorHealth>,
}

/// How a sensor is doing: what it captured and what it lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorHealth {
    /// When these numbers were taken.
    pub at: Timestamp,
    /// The sensor's software version.
    pub version: String,
    /// What it listens to: an interface name or a capture file.
    pub source: String,
    /// Packets captured since the sensor started.
    pub packets: u64,
    /// Bytes captured since the sensor started.
    pub bytes: u64,
    /// Recent capture rate.
    pub packets_per_second: f64,
    /// Packets lost (by the kernel, the capture ring or full queues) since the sensor started.
    pub drops: u64,
}

/// What is wrong with a batch field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchErrorKind {
    /// Occurs when a required string (the batch id) is empty.
    Empty,
    /// Occurs when a string is longer than its bound (the bound is carried).
    TooLong(usize),
    /// Occurs when a list has more entries than its bound (the bound is carried).
    TooMany(usize),
    /// Occurs when the batch id has characters outside `A-Z a-z 0-9 . _ : -`.
    BadCharacter,
    /// Occurs when a timestamp lies outside [`MIN_TIMESTAMP`]..=[`MAX_TIMESTAMP`].
    TimestampOutOfRange,
    /// Occurs when a first-seen time is after the matching last-seen time.
    TimeRangeReversed,
    /// Occurs when a number is negative, not finite or otherwise meaningless (a confidence above
    /// 100, a Purdue level above 5).
    BadNumber,
}

impl fmt::Display for BatchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::TooLong(max) => write!(f, "is longer than {max} bytes"),
            Self::TooMany(max) => write!(f, "has more than {max} entries"),
            Self::BadCharacter => f.write_str("has characters outside A-Z a-z 0-9 . _ : -"),
            Self::TimestampOutOfRange => f.write_str("is outside 1970-01-01 to 2200-01-01"),
            Self::TimeRangeReversed => f.write_str("starts after it ends"),
            Self::BadNumber => f.write_str("is out of range"),
        }
    }
}

/// A batch failed validation: which field (with indexes, `devices[3].facts[7].value`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub kind: BatchErrorKind,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.kind)
    }
}

impl std::error::Error for BatchError {}

fn fail<T>(field: impl Into<String>, kind: BatchErrorKind) -> Result<T, BatchError> {
    Err(BatchError {
        field: field.into(),
        kind,
    })
}

fn check_time(field: impl FnOnce() -> String, t: Timestamp) -> Result<(), BatchError> {
    if (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&t) {
        Ok(())
    } else {
        fail(field(), BatchErrorKind::TimestampOutOfRange)
    }
}

fn check_range(
    prefix: &str,
    first: (&str, Timestamp),
    last: (&str, Timestamp),
) -> Result<(), BatchError> {
    check_time(|| format!("{prefix}.{}", first.0), first.1)?;
    check_time(|| format!("{prefix}.{}", last.0), last.1)?;
    if first.1 > last.1 {
        return fail(
            format!("{prefix}.{}", first.0),
            BatchErrorKind::TimeRangeReversed,
        );
    }
    Ok(())
}

fn check_text(field: impl FnOnce() -> String, text: &str) -> Result<(), BatchError> {
    if text.len() > MAX_TEXT_LEN {
        return fail(field(), BatchErrorKind::TooLong(MAX_TEXT_LEN));
    }
    Ok(())
}

fn check_len<T>(field: impl FnOnce() -> String, list: &[T], max: usize) -> Result<(), BatchError> {
    if list.len() > max {
        return fail(field(), BatchErrorKind::TooMany(max));
    }
    Ok(())
}

fn check_texts<'a>(
    prefix: &str,
    name: &str,
    items: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), BatchError> {
    if items.len() > MAX_DEVICE_LIST_LEN {
        return fail(
            format!("{prefix}.{name}"),
            BatchErrorKind::TooMany(MAX_DEVICE_LIST_LEN),
        );
    }
    for (i, text) in items.enumerate() {
        check_text(|| format!("{prefix}.{name}[{i}]"), text)?;
    }
    Ok(())
}

impl Batch {
    /// Checks every bound a console relies on before writing: the id, list lengths, string
    /// lengths, timestamps and numbers. The first problem found is returned.
    pub fn validate(&self) -> Result<(), BatchError> {
        if self.id.is_empty() {
            return fail("id", BatchErrorKind::Empty);
        }
        if self.id.len() > MAX_BATCH_ID_LEN {
            return fail("id", BatchErrorKind::TooLong(MAX_BATCH_ID_LEN));
        }
        if !self
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return fail("id", BatchErrorKind::BadCharacter);
        }
        check_time(|| "created".to_owned(), self.created)?;
        check_len(|| "devices".to_owned(), &self.devices, MAX_BATCH_DEVICES)?;
        check_len(
            || "connections".to_owned(),
            &self.connections,
            MAX_BATCH_CONNECTIONS,
        )?;
        check_len(|| "events".to_owned(), &self.events, MAX_BATCH_EVENTS)?;
        for (i, device) in self.devices.iter().enumerate() {
            validate_device(&format!("devices[{i}]"), device)?;
        }
        for (i, c) in self.connections.iter().enumerate() {
            let prefix = format!("connections[{i}]");
            check_range(
                &prefix,
                ("first_seen", c.first_seen),
                ("last_seen", c.last_seen),
            )?;
            for (name, text) in [
                ("a", c.a.as_ref().map(|d| d.0.as_str())),
                ("b", c.b.as_ref().map(|d| d.0.as_str())),
                ("transport", Some(c.transport.as_str())),
                ("protocol", c.protocol.as_deref()),
            ] {
                check_text(|| format!("{prefix}.{name}"), text.unwrap_or_default())?;
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            let prefix = format!("events[{i}]");
            check_range(&prefix, ("time", e.time), ("last_seen", e.last_seen))?;
            for (name, text) in [
                ("src.device", e.src.device.as_ref().map(|d| d.0.as_str())),
                ("dst.device", e.dst.device.as_ref().map(|d| d.0.as_str())),
                ("protocol", Some(&*e.protocol)),
                ("operation", Some(&*e.operation)),
                ("detail", Some(e.detail.as_str())),
                ("content_hash", e.content_hash.as_deref()),
            ] {
                check_text(|| format!("{prefix}.{name}"), text.unwrap_or_default())?;
            }
        }
        check_len(|| "alerts".to_owned(), &self.alerts, MAX_BATCH_ALERTS)?;
        for (i, a) in self.alerts.iter().enumerate() {
            validate_alert(&format!("alerts[{i}]"), a)?;
        }
        check_len(
            || "alert_captures".to_owned(),
            &self.alert_captures,
            MAX_BATCH_ALERT_CAPTURES,
        )?;
        for (i, c) in self.alert_captures.iter().enumerate() {
            validate_capture(&format!("alert_captures[{i}]"), c)?;
        }
        if let Some(health) = &self.health {
            check_time(|| "health.at".to_owned(), health.at)?;
            check_text(|| "health.version".to_owned(), &health.version)?;
            check_text(|| "health.source".to_owned(), &health.source)?;
            if !health.packets_per_second.is_finite() || health.packets_per_second < 0.0 {
                return fail("health.packets_per_second", BatchErrorKind::BadNumber);
            }
        }
        Ok(())
    }
}

fn validate_capture(prefix: &str, c: &AlertCapture) -> Result<(), BatchError> {
    use crate::alert_capture::{CaptureProblem, MAX_ALERT_CAPTURE_ID_LEN, MAX_ALERT_PCAP_BYTES};
    let (field, kind) = match c.check() {
        Ok(()) => return Ok(()),
        Err(CaptureProblem::EmptyId) => ("alert_id", BatchErrorKind::Empty),
        Err(CaptureProblem::IdTooLong) => (
            "alert_id",
            BatchErrorKind::TooLong(MAX_ALERT_CAPTURE_ID_LEN),
        ),
        Err(CaptureProblem::IdCharacters) => ("alert_id", BatchErrorKind::BadCharacter),
        Err(CaptureProblem::TooLarge) => ("pcap", BatchErrorKind::TooLong(MAX_ALERT_PCAP_BYTES)),
        Err(CaptureProblem::NotPcap) => ("pcap", BatchErrorKind::BadNumber),
    };
    fail(format!("{prefix}.{field}"), kind)
}

fn validate_alert(prefix: &str, a: &Alert) -> Result<(), BatchError> {
    if a.id.is_empty() {
        return fail(format!("{prefix}.id"), BatchErrorKind::Empty);
    }
    if a.id.len() > MAX_BATCH_ID_LEN {
        return fail(
            format!("{prefix}.id"),
            BatchErrorKind::TooLong(MAX_BATCH_ID_LEN),
        );
    }
    check_range(
        prefix,
        ("first_seen", a.first_seen),
        ("last_seen", a.last_seen),
    )?;
    for (name, text) in [
        ("kind", a.kind.as_str()),
        ("title", a.title.as_str()),
        ("description", a.description.as_str()),
        ("remediation", a.remediation.as_str()),
        ("protocol", a.protocol.as_deref().unwrap_or_default()),
        ("pcap", a.pcap.as_deref().unwrap_or_default()),
    ] {
        check_text(|| format!("{prefix}.{name}"), text)?;
    }
    check_texts(prefix, "devices", a.devices.iter().map(|d| d.0.as_str()))?;
    check_len(
        || format!("{prefix}.evidence"),
        &a.evidence,
        crate::alert::MAX_EVIDENCE,
    )?;
    for (i, e) in a.evidence.iter().enumerate() {
        check_time(|| format!("{prefix}.evidence[{i}].time"), e.time)?;
        check_text(|| format!("{prefix}.evidence[{i}].summary"), &e.summary)?;
    }
    check_len(|| format!("{prefix}.techniques"), &a.techniques, 64)?;
    for (i, t) in a.techniques.iter().enumerate() {
        check_text(|| format!("{prefix}.techniques[{i}].id"), &t.id)?;
        check_text(|| format!("{prefix}.techniques[{i}].name"), &t.name)?;
    }
    Ok(())
}

fn validate_device(prefix: &str, d: &Device) -> Result<(), BatchError> {
    if d.id.0.is_empty() {
        return fail(format!("{prefix}.id"), BatchErrorKind::Empty);
    }
    if d.id.0.len() > MAX_DEVICE_ID_LEN {
        return fail(
            format!("{prefix}.id"),
            BatchErrorKind::TooLong(MAX_DEVICE_ID_LEN),
        );
    }
    check_range(
        prefix,
        ("first_seen", d.first_seen),
        ("last_seen", d.last_seen),
    )?;
    for (name, text) in [
        ("vendor", &d.vendor),
        ("type", &d.device_type),
        ("role", &d.role),
        ("model", &d.model),
        ("firmware", &d.firmware),
        ("serial", &d.serial),
        ("os", &d.os),
        ("state", &d.state),
        ("purdue_reason", &d.purdue_reason),
    ] {
        check_text(
            || format!("{prefix}.{name}"),
            text.as_deref().unwrap_or_default(),
        )?;
    }
    if d.purdue_level.is_some_and(|level| level > 5) {
        return fail(format!("{prefix}.purdue_level"), BatchErrorKind::BadNumber);
    }
    check_len(|| format!("{prefix}.ips"), &d.ips, MAX_DEVICE_LIST_LEN)?;
    check_texts(prefix, "hostnames", d.hostnames.iter().map(String::as_str))?;
    check_texts(prefix, "findings", d.findings.iter().map(String::as_str))?;
    check_texts(
        prefix,
        "protocols.client",
        d.protocols.client.iter().map(String::as_str),
    )?;
    check_texts(
        prefix,
        "protocols.server",
        d.protocols.server.iter().map(String::as_str),
    )?;
    check_len(
        || format!("{prefix}.services"),
        &d.services,
        MAX_DEVICE_LIST_LEN,
    )?;
    for (i, s) in d.services.iter().enumerate() {
        check_text(|| format!("{prefix}.services[{i}].transport"), &s.transport)?;
        check_text(
            || format!("{prefix}.services[{i}].protocol"),
            s.protocol.as_deref().unwrap_or_default(),
        )?;
    }
    check_len(|| format!("{prefix}.facts"), &d.facts, MAX_DEVICE_LIST_LEN)?;
    for (i, f) in d.facts.iter().enumerate() {
        let fact = format!("{prefix}.facts[{i}]");
        for (name, text) in [
            ("attribute", &*f.attribute),
            ("value", &*f.value),
            ("source", &*f.source),
            ("evidence", f.evidence.as_deref().unwrap_or_default()),
        ] {
            check_text(|| format!("{fact}.{name}"), text)?;
        }
        if f.attribute.is_empty() {
            return fail(format!("{fact}.attribute"), BatchErrorKind::Empty);
        }
        if f.confidence > 100 {
            return fail(format!("{fact}.confidence"), BatchErrorKind::BadNumber);
        }
    }
    check_len(
        || format!("{prefix}.conflicts"),
        &d.conflicts,
        MAX_DEVICE_LIST_LEN,
    )?;
    for (i, c) in d.conflicts.iter().enumerate() {
        let conflict = format!("{prefix}.conflicts[{i}]");
        for (name, text) in [
            ("attribute", &c.attribute),
            ("chosen", &c.chosen),
            ("chosen_source", &c.chosen_source),
            ("reason", &c.reason),
        ] {
            check_text(|| format!("{conflict}.{name}"), text)?;
        }
        check_len(
            || format!("{conflict}.others"),
            &c.others,
            MAX_DEVICE_LIST_LEN,
        )?;
        for (j, other) in c.others.iter().enumerate() {
            check_text(|| format!("{conflict}.others[{j}].value"), &other.value)?;
            check_text(|| format!("{conflict}.others[{j}].source"), &other.source)?;
            check_text(
                || format!("{conflict}.others[{j}].attribute"),
                &other.attribute,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::{DeviceId, Protocols, ReportedFact};

    fn device(id: &str) -> Device {
        Device {
            id: DeviceId(id.to_owned()),
            mac: None,
            ips: vec!["10.0.0.1".parse().unwrap()],
            vendor: Some("Schneider".to_owned()),
            hostnames: vec![],
            device_type: None,
            role: None,
            model: None,
            firmware: None,
            serial: None,
            os: None,
            state: None,
            purdue_level: None,
            purdue_reason: None,
            protocols: Protocols::default(),
            services: vec![],
            findings: vec![],
            facts: vec![ReportedFact {
                attribute: Cow::Borrowed("vendor"),
                value: Cow::Borrowed("Schneider"),
                source: Cow::Borrowed("oui"),
                confidence: 50,
                selected: true,
                evidence: None,
            }],
            conflicts: vec![],
            first_seen: Timestamp(1_700_000_000_000_000_000),
            last_seen: Timestamp(1_700_000_001_000_000_000),
        }
    }

    fn batch() -> Batch {
        Batch {
            id: "b-0001".to_owned(),
            created: Timestamp(1_700_000_002_000_000_000),
            devices: vec![device("ip:10.0.0.1")],
            connections: vec![],
            events: vec![],
            alerts: vec![],
            alert_captures: vec![],
            health: Some(SensorHealth {
                at: Timestamp(1_700_000_002_000_000_000),
                version: "0.1.0".to_owned(),
                source: "eth1".to_owned(),
                packets: 10,
                bytes: 1000,
                packets_per_second: 2.5,
                drops: 0,
            }),
        }
    }

    fn error(b: &Batch) -> (String, BatchErrorKind) {
        let e = b.validate().unwrap_err();
        (e.field, e.kind)
    }

    #[test]
    fn a_good_batch_passes_and_round_trips() {
        let b = batch();
        b.validate().unwrap();
        let json = serde_json::to_string(&b).unwrap();
        let back: Batch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn missing_lists_default_to_empty() {
        let b: Batch =
            serde_json::from_str(r#"{"id":"x","created":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert!(b.devices.is_empty() && b.health.is_none());
        b.validate().unwrap();
    }

    #[test]
    fn ids_are_bounded_and_plain() {
        let mut b = batch();
        b.id.clear();
        assert_eq!(error(&b), ("id".to_owned(), BatchErrorKind::Empty));
        b.id = "a".repeat(MAX_BATCH_ID_LEN);
        b.validate().unwrap();
        b.id.push('a');
        assert_eq!(
            error(&b),
            ("id".to_owned(), BatchErrorKind::TooLong(MAX_BATCH_ID_LEN))
        );
        b.id = "a/b".to_owned();
        assert_eq!(error(&b), ("id".to_owned(), BatchErrorKind::BadCharacter));
    }

    #[test]
    fn too_many_items_name_the_list() {
        let mut b = batch();
        b.devices = vec![device("ip:10.0.0.1"); MAX_BATCH_DEVICES + 1];
        assert_eq!(
            error(&b),
            (
                "devices".to_owned(),
                BatchErrorKind::TooMany(MAX_BATCH_DEVICES)
            )
        );
    }

    #[test]
    fn errors_name_the_field_and_its_index() {
        let mut b = batch();
        b.devices.push(device("ip:10.0.0.2"));
        b.devices[1].facts[0].value = Cow::Owned("x".repeat(MAX_TEXT_LEN + 1));
        let e = b.validate().unwrap_err();
        assert_eq!(e.field, "devices[1].facts[0].value");
        assert_eq!(
            e.to_string(),
            "devices[1].facts[0].value is longer than 8192 bytes"
        );
        b.devices[1].facts[0].value = Cow::Borrowed("ok");
        b.devices[1].facts[0].confidence = 101;
        assert_eq!(
            error(&b),
            (
                "devices[1].facts[0].confidence".to_owned(),
                BatchErrorKind::BadNumber
            )
        );
    }

    #[test]
    fn alert_captures_are_bounded_and_checked() {
        let mut b = batch();
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1];
        pcap.resize(crate::alert_capture::PCAP_HEADER_LEN, 0);
        let capture = AlertCapture {
            alert_id: "0011223344556677".to_owned(),
            pcap,
        };
        b.alert_captures = vec![capture.clone(); MAX_BATCH_ALERT_CAPTURES];
        b.validate().unwrap();
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), b);
        b.alert_captures.push(capture.clone());
        assert_eq!(
            error(&b),
            (
                "alert_captures".to_owned(),
                BatchErrorKind::TooMany(MAX_BATCH_ALERT_CAPTURES)
            )
        );
        b.alert_captures = vec![capture.clone(), capture];
        b.alert_captures[1].alert_id = "../x".to_owned();
        assert_eq!(
            error(&b),
            (
                "alert_captures[1].alert_id".to_owned(),
                BatchErrorKind::BadCharacter
            )
        );
        b.alert_captures[1].alert_id = "x".to_owned();
        b.alert_captures[1].pcap.truncate(10);
        assert_eq!(
            error(&b),
            (
                "alert_captures[1].pcap".to_owned(),
                BatchErrorKind::BadNumber
            )
        );
    }

    #[test]
    fn alerts_are_bounded_like_everything_else() {
        let mut b = batch();
        let alert = crate::Alert {
            id: "policy.new_device:ip:10.0.0.9".to_owned(),
            kind: "policy.new_device".to_owned(),
            title: "New device".to_owned(),
            description: String::new(),
            engine: crate::AlertEngine::Policy,
            severity: crate::Severity::Minor,
            src_ip: None,
            dst_ip: None,
            devices: vec![],
            protocol: None,
            techniques: vec![],
            evidence: vec![],
            remediation: String::new(),
            count: 1,
            first_seen: Timestamp(1_700_000_000_000_000_000),
            last_seen: Timestamp(1_700_000_001_000_000_000),
            pcap: None,
        };
        b.alerts.push(alert.clone());
        b.validate().unwrap();
        b.alerts.push(alert);
        b.alerts[1].title = "x".repeat(MAX_TEXT_LEN + 1);
        assert_eq!(
            error(&b),
            (
                "alerts[1].title".to_owned(),
                BatchErrorKind::TooLong(MAX_TEXT_LEN)
            )
        );
        b.alerts[1].title = "ok".to_owned();
        b.alerts[1].first_seen = Timestamp(1_800_000_000_000_000_000);
        assert_eq!(error(&b).0, "alerts[1].first_seen");
    }

    #[test]
    fn timestamps_out_of_range_or_reversed_are_refused() {
        let mut b = batch();
        b.created = Timestamp(-1);
        assert_eq!(
            error(&b),
            ("created".to_owned(), BatchErrorKind::TimestampOutOfRange)
        );
        b.created = Timestamp(0);
        b.devices[0].last_seen = Timestamp(i64::MAX);
        assert_eq!(
            error(&b),
            (
                "devices[0].last_seen".to_owned(),
                BatchErrorKind::TimestampOutOfRange
            )
        );
        b.devices[0].last_seen = Timestamp(1);
        assert_eq!(
            error(&b),
            (
                "devices[0].first_seen".to_owned(),
                BatchErrorKind::TimeRangeReversed
            )
        );
    }

    #[test]
    fn device_ids_are_short_keys() {
        let mut b = batch();
        b.devices[0].id = DeviceId(format!("ip:{}", "1".repeat(MAX_DEVICE_ID_LEN)));
        assert_eq!(
            error(&b),
            (
                "devices[0].id".to_owned(),
                BatchErrorKind::TooLong(MAX_DEVICE_ID_LEN)
            )
        );
    }

    #[test]
    fn health_numbers_must_be_meaningful() {
        let mut b = batch();
        if let Some(h) = b.health.as_mut() {
            h.packets_per_second = f64::NAN;
        }
        assert_eq!(
            error(&b),
            (
                "health.packets_per_second".to_owned(),
                BatchErrorKind::BadNumber
            )
        );
    }
}
