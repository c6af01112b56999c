//! `--pcap-dir`: each alert's capture written as `<alert id>.pcap`, and the file named in the
//! alert's `pcap` field of every output format.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ironward_model::{Alert, AlertCapture, Connection, Device, Event, Stats};
use ironward_sensor::engine::ReportSink;

/// Longest file name stem written (alert ids from a sensor are 16 hex digits; this only bounds
/// what an odd id could make of a file name).
const MAX_STEM_LEN: usize = 100;

/// A [`ReportSink`] that writes the captures to a directory and hands everything else, with
/// the alerts' `pcap` set, to `inner`. Captures come before the alerts (see
/// [`ReportSink::alert_capture`]).
pub(crate) struct PcapDir<S> {
    inner: S,
    dir: PathBuf,
    /// The file written for each alert id.
    written: HashMap<String, String>,
}

impl<S> PcapDir<S> {
    /// A sink writing into `dir` (created if missing).
    pub(crate) fn new(inner: S, dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            inner,
            dir: dir.to_owned(),
            written: HashMap::new(),
        })
    }

    /// The sink the report went to.
    pub(crate) fn into_inner(self) -> S {
        self.inner
    }

    /// The same files, handing the report to `inner` (captures written while the analysis
    /// ran, before there was a report to write, keep their names in the alerts).
    pub(crate) fn with_inner<T>(self, inner: T) -> PcapDir<T> {
        PcapDir {
            inner,
            dir: self.dir,
            written: self.written,
        }
    }

    /// Writes `capture` as `<alert id>.pcap` (once per alert id).
    pub(crate) fn write(&mut self, capture: AlertCapture) -> anyhow::Result<()> {
        if self.written.contains_key(&capture.alert_id) {
            return Ok(());
        }
        let used: std::collections::HashSet<&str> =
            self.written.values().map(String::as_str).collect();
        let stem = file_stem(&capture.alert_id, |s| used.contains(s));
        let path = self.dir.join(format!("{stem}.pcap"));
        std::fs::write(&path, &capture.pcap)
            .with_context(|| format!("writing {}", path.display()))?;
        self.written.insert(capture.alert_id, stem);
        Ok(())
    }

    /// Writes the captures `engine` finished so far.
    pub(crate) fn drain(
        &mut self,
        engine: &mut ironward_sensor::engine::Engine,
    ) -> anyhow::Result<()> {
        for capture in engine.take_alert_captures() {
            self.write(capture)?;
        }
        Ok(())
    }

    /// Files written.
    pub(crate) fn files(&self) -> usize {
        self.written.len()
    }
}

/// A file name stem for an alert id: only `A-Z a-z 0-9 . _ -` kept (others become `_`), no
/// leading dot, bounded length; a stem already used gets a `-N` suffix.
fn file_stem(id: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut stem: String = id
        .chars()
        .take(MAX_STEM_LEN)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert(0, '_');
    }
    if !taken(&stem) {
        return stem;
    }
    (2..)
        .map(|n| format!("{stem}-{n}"))
        .find(|s| !taken(s))
        .unwrap_or(stem)
}

impl<S: ReportSink> ReportSink for PcapDir<S>
where
    S::Error: Into<anyhow::Error>,
{
    type Error = anyhow::Error;

    fn device(&mut self, device: Device) -> anyhow::Result<()> {
        self.inner.device(device).map_err(Into::into)
    }

    fn connection(&mut self, connection: Connection) -> anyhow::Result<()> {
        self.inner.connection(connection).map_err(Into::into)
    }

    fn event(&mut self, event: Event) -> anyhow::Result<()> {
        self.inner.event(event).map_err(Into::into)
    }

    fn alert_capture(&mut self, capture: AlertCapture) -> anyhow::Result<()> {
        self.write(capture)
    }

    fn alert(&mut self, mut alert: Alert) -> anyhow::Result<()> {
        if let Some(stem) = self.written.get(&alert.id) {
            alert.pcap = Some(self.dir.join(format!("{stem}.pcap")).display().to_string());
        }
        self.inner.alert(alert).map_err(Into::into)
    }

    fn stats(&mut self, stats: Stats) -> anyhow::Result<()> {
        self.inner.stats(stats).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_distinct() {
        let none = |_: &str| false;
        assert_eq!(file_stem("00ff00ff00ff00ff", none), "00ff00ff00ff00ff");
        assert_eq!(file_stem("../../etc/passwd", none), "_.._.._etc_passwd");
        assert_eq!(file_stem(".hidden", none), "_.hidden");
        assert_eq!(file_stem("", none), "_");
        assert_eq!(file_stem("a:b/c", none), "a_b_c");
        assert_eq!(file_stem(&"x".repeat(500), none).len(), MAX_STEM_LEN);
        assert_eq!(file_stem("a:b", |s| s == "a_b" || s == "a_b-2"), "a_b-3");
    }

    #[test]
    fn captures_become_files_named_in_their_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pcaps");
        let mut sink =
            PcapDir::new(ironward_sensor::engine::CollectReport::default(), &out).unwrap();
        sink.alert_capture(AlertCapture {
            alert_id: "a/1".into(),
            pcap: vec![1, 2, 3],
        })
        .unwrap();
        let alert = |id: &str| Alert {
            id: id.into(),
            kind: "k".into(),
            title: String::new(),
            description: String::new(),
            engine: ironward_model::AlertEngine::Malware,
            severity: ironward_model::Severity::Critical,
            src_ip: None,
            dst_ip: None,
            devices: vec![],
            protocol: None,
            techniques: vec![],
            evidence: vec![],
            remediation: String::new(),
            count: 1,
            first_seen: ironward_model::Timestamp(0),
            last_seen: ironward_model::Timestamp(0),
            pcap: None,
        };
        sink.alert(alert("a/1")).unwrap();
        sink.alert(alert("b")).unwrap();
        assert_eq!(sink.files(), 1);
        let report = sink.into_inner().report;
        let file = out.join("a_1.pcap");
        assert_eq!(report.alerts[0].pcap.as_deref(), file.to_str());
        assert_eq!(report.alerts[1].pcap, None);
        assert_eq!(std::fs::read(file).unwrap(), [1, 2, 3]);
    }
}
