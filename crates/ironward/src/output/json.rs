//! The JSON document.

use std::io::Write;

use ironward_model::AnalysisReport;

/// Writes the report as pretty-printed JSON followed by a newline.
pub(crate) fn write_json(report: &AnalysisReport, out: &mut impl Write) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}
