//! Threat-intelligence package distribution: which package each site's sensors are to run, and
//! what each sensor reports it runs.
//!
//! An administrator applies a stored package to sites; every sensor of those sites is told the
//! package's sequence in its ingest answers, downloads it, verifies it with its own key and
//! reports back. A sensor's state as shown combines the two: `failed` when it refused the last
//! package offered, `update_available` when it runs another sequence than its site's package,
//! `ok` when it runs it.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Sql;
use crate::ti_packages::PackageId;
use crate::{Result, Scope, SensorId, SiteId, Store, StoreError};

/// Most sites one apply names.
pub const MAX_APPLY_SITES: usize = 1_000;

/// Longest error text kept from a sensor's report (characters).
pub const MAX_TI_ERROR_LEN: usize = 1_000;

/// Longest package name or key id kept from a sensor's report (characters).
const MAX_TI_NAME_LEN: usize = 200;

/// What a sensor reports of its threat intelligence.
#[derive(Debug, Clone, Copy)]
pub struct TiStatusReport<'a> {
    /// The sequence of the package in force (`None`: none).
    pub sequence: Option<i64>,
    /// Its file name.
    pub package_name: Option<&'a str>,
    /// `none`, `ok` or `failed`.
    pub state: &'a str,
    /// Why the last package offered was refused.
    pub error: Option<&'a str>,
    /// The id of the key the sensor verifies with (`None`: no key configured).
    pub key_id: Option<&'a str>,
}

/// The package a site's sensors are to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SitePackage {
    /// The site.
    pub site_id: SiteId,
    /// The package.
    pub package_id: PackageId,
    /// Its sequence.
    pub sequence: i64,
    /// Its file name.
    pub file_name: String,
    /// When it was applied.
    pub assigned_at: Timestamp,
    /// Who applied it.
    pub assigned_by: String,
}

/// A sensor's threat intelligence, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SensorTiStatus {
    /// The sensor.
    pub sensor_id: SensorId,
    /// `ok`, `update_available`, `failed` or `none` (no package assigned or reported).
    pub state: &'static str,
    /// The package assigned to the sensor's site.
    pub assigned_package: Option<PackageId>,
    /// Its sequence.
    pub assigned_sequence: Option<i64>,
    /// Its file name.
    pub assigned_name: Option<String>,
    /// The sequence the sensor runs, as it reported.
    pub running_sequence: Option<i64>,
    /// Its file name.
    pub running_name: Option<String>,
    /// Why the sensor refused the last package offered (state `failed`).
    pub error: Option<String>,
    /// The id of the key the sensor verifies packages with.
    pub key_id: Option<String>,
    /// When the sensor last reported.
    pub reported_at: Option<Timestamp>,
}

impl SensorTiStatus {
    /// The state shown: what the sensor reported, against what its site is assigned.
    fn judge(reported: Option<&str>, assigned: Option<i64>, running: Option<i64>) -> &'static str {
        match (reported, assigned, running) {
            (Some("failed"), _, _) => "failed",
            (_, Some(assigned), running) if running != Some(assigned) => "update_available",
            (_, Some(_), _) => "ok",
            (_, None, Some(_)) => "ok",
            (_, None, None) => "none",
        }
    }
}

const STATUS_COLUMNS: &str =
    "se.id AS sensor_id, p.id AS package_id, p.sequence AS assigned_sequence, \
     p.file_name AS assigned_name, t.sequence AS running_sequence, t.package_name AS running_name, \
     t.state AS reported_state, t.error AS error, t.key_id AS key_id, t.reported_at AS reported_at \
     FROM sensors se \
     LEFT JOIN ti_site_packages a ON a.site_id = se.site_id \
     LEFT JOIN ti_packages p ON p.id = a.package_id \
     LEFT JOIN ti_sensor_status t ON t.sensor_id = se.id";

fn status(row: &AnyRow) -> Result<SensorTiStatus> {
    let assigned_sequence: Option<i64> = row.try_get("assigned_sequence")?;
    let running_sequence: Option<i64> = row.try_get("running_sequence")?;
    let reported: Option<String> = row.try_get("reported_state")?;
    Ok(SensorTiStatus {
        sensor_id: SensorId(row.try_get("sensor_id")?),
        state: SensorTiStatus::judge(reported.as_deref(), assigned_sequence, running_sequence),
        assigned_package: row.try_get::<Option<i64>, _>("package_id")?.map(PackageId),
        assigned_sequence,
        assigned_name: row.try_get("assigned_name")?,
        running_sequence,
        running_name: row.try_get("running_name")?,
        error: row.try_get("error")?,
        key_id: row.try_get("key_id")?,
        reported_at: row.try_get::<Option<i64>, _>("reported_at")?.map(Timestamp),
    })
}

/// `text` cut to `max` characters, control characters as spaces (a sensor's text is shown in
/// pages and logs).
fn bounded(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Store {
    /// Applies a stored package to sites of `scope`: every sensor of each site is to run it
    /// (it replaces the site's previous one). Every site must be in `scope`
    /// ([`StoreError::NotFound`] otherwise, nothing changed); at most [`MAX_APPLY_SITES`].
    pub async fn apply_package(
        &self,
        scope: &Scope,
        package: PackageId,
        sites: &[SiteId],
        by: &str,
        at: Timestamp,
    ) -> Result<Vec<SitePackage>> {
        if sites.is_empty() || sites.len() > MAX_APPLY_SITES {
            return Err(StoreError::Invalid(format!(
                "sites: between 1 and {MAX_APPLY_SITES} site ids"
            )));
        }
        if sites.iter().any(|s| !scope.allows(*s)) {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM ti_packages WHERE id = $1")
            .bind(package.0)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        for site in sites {
            let found = sqlx::query("SELECT id FROM sites WHERE id = $1")
                .bind(site.0)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::NotFound);
            }
            sqlx::query(
                "INSERT INTO ti_site_packages (site_id, package_id, assigned_at, assigned_by) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (site_id) DO UPDATE SET package_id = excluded.package_id, \
                 assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by",
            )
            .bind(site.0)
            .bind(package.0)
            .bind(at.as_nanos())
            .bind(by)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let mut applied = self.site_packages(scope).await?;
        applied.retain(|a| sites.contains(&a.site_id));
        Ok(applied)
    }

    /// The package of every site of `scope` that has one.
    pub async fn site_packages(&self, scope: &Scope) -> Result<Vec<SitePackage>> {
        let mut sql = Sql::new(
            "SELECT a.site_id, a.package_id, p.sequence, p.file_name, a.assigned_at, \
             a.assigned_by FROM ti_site_packages a JOIN ti_packages p ON p.id = a.package_id \
             WHERE 1 = 1",
        );
        scope.filter(&mut sql, "a.site_id");
        sql.push(" ORDER BY a.site_id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(SitePackage {
                    site_id: SiteId(row.try_get("site_id")?),
                    package_id: PackageId(row.try_get("package_id")?),
                    sequence: row.try_get("sequence")?,
                    file_name: row.try_get("file_name")?,
                    assigned_at: Timestamp(row.try_get("assigned_at")?),
                    assigned_by: row.try_get("assigned_by")?,
                })
            })
            .collect()
    }

    /// The package assigned to a sensor's site, with its sequence (for the ingest answer and
    /// the sensor's download).
    pub async fn sensor_ti_package(&self, sensor: SensorId) -> Result<Option<(PackageId, i64)>> {
        let row = sqlx::query(
            "SELECT p.id, p.sequence FROM sensors se \
             JOIN ti_site_packages a ON a.site_id = se.site_id \
             JOIN ti_packages p ON p.id = a.package_id WHERE se.id = $1",
        )
        .bind(sensor.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((PackageId(row.try_get("id")?), row.try_get("sequence")?)))
            .transpose()
    }

    /// Records what a sensor reported of its threat intelligence (replacing its last report).
    pub async fn record_ti_status(
        &self,
        sensor: SensorId,
        report: &TiStatusReport<'_>,
        at: Timestamp,
    ) -> Result<()> {
        if !matches!(report.state, "none" | "ok" | "failed") {
            return Err(StoreError::Invalid(
                "state: one of none, ok, failed".to_owned(),
            ));
        }
        if report.sequence.is_some_and(|s| s < 0) {
            return Err(StoreError::Invalid("sequence: not negative".to_owned()));
        }
        sqlx::query(
            "INSERT INTO ti_sensor_status \
             (sensor_id, sequence, package_name, state, error, key_id, reported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (sensor_id) DO UPDATE SET sequence = excluded.sequence, \
             package_name = excluded.package_name, state = excluded.state, \
             error = excluded.error, key_id = excluded.key_id, \
             reported_at = excluded.reported_at",
        )
        .bind(sensor.0)
        .bind(report.sequence)
        .bind(report.package_name.map(|t| bounded(t, MAX_TI_NAME_LEN)))
        .bind(report.state)
        .bind(report.error.map(|t| bounded(t, MAX_TI_ERROR_LEN)))
        .bind(report.key_id.map(|t| bounded(t, MAX_TI_NAME_LEN)))
        .bind(at.as_nanos())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The threat-intelligence state of every sensor of `scope`.
    pub async fn sensor_ti_statuses(&self, scope: &Scope) -> Result<Vec<SensorTiStatus>> {
        let mut sql = Sql::new(&format!("SELECT {STATUS_COLUMNS} WHERE 1 = 1"));
        scope.filter(&mut sql, "se.site_id");
        sql.push(" ORDER BY se.id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(status).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::SensorTiStatus;

    #[test]
    fn the_state_shown_weighs_the_report_against_the_assignment() {
        let judge = SensorTiStatus::judge;
        assert_eq!(judge(None, None, None), "none");
        assert_eq!(judge(Some("none"), Some(5), None), "update_available");
        assert_eq!(judge(Some("ok"), Some(5), Some(4)), "update_available");
        assert_eq!(judge(Some("ok"), Some(5), Some(5)), "ok");
        assert_eq!(judge(Some("failed"), Some(5), Some(4)), "failed");
        assert_eq!(judge(Some("failed"), Some(5), Some(5)), "failed");
        assert_eq!(judge(Some("ok"), None, Some(5)), "ok");
    }
}
