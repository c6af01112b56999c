//! Reading device vulnerabilities — by device, by CVE, by severity, known exploited first, then
//! by CVSS — within the caller's sites, and the analysts' exclusions, which outlive re-matching
//! because they are kept apart from the matches.

use std::collections::HashMap;

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Sql;
use crate::ids::page_size;
use crate::{DeviceRef, Page, Result, Scope, SiteId, Store, StoreError};

/// Longest exclusion reason.
pub const MAX_EXCLUSION_REASON: usize = 1_000;

/// CVSS v3 severity bands (FIRST's qualitative ratings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 9.0–10.0.
    Critical,
    /// 7.0–8.9.
    High,
    /// 4.0–6.9.
    Medium,
    /// 0.1–3.9.
    Low,
    /// No score, or 0.
    None,
}

impl Severity {
    /// Every band, most severe first.
    pub const ALL: [Severity; 5] = [
        Self::Critical,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::None,
    ];

    /// The name used in filters and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::None => "none",
        }
    }

    /// The band called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Its band of stored scores (tenths; -1 is no score).
    fn bounds(self) -> (i64, i64) {
        match self {
            Self::Critical => (90, 100),
            Self::High => (70, 89),
            Self::Medium => (40, 69),
            Self::Low => (1, 39),
            Self::None => (-1, 0),
        }
    }

    /// The band of a score.
    pub fn of(cvss: Option<f64>) -> Self {
        let tenths = cvss.map_or(-1, |s| (s * 10.0).round() as i64);
        Self::ALL
            .into_iter()
            .find(|s| {
                let (lo, hi) = s.bounds();
                (lo..=hi).contains(&tenths)
            })
            .unwrap_or(Self::None)
    }
}

/// A vulnerability list request. `excluded`: `None` lists both, flagged.
#[derive(Debug, Clone)]
pub struct VulnerabilityQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only this device.
    pub device: Option<DeviceRef>,
    /// Only this severity band.
    pub severity: Option<Severity>,
    /// Only known exploited (true) or not (false).
    pub kev: Option<bool>,
    /// Only this CVE (exact, case-insensitive).
    pub cve: Option<String>,
    /// Only devices of this vendor (exact, as shown).
    pub vendor: Option<String>,
    /// Only excluded (true) or not excluded (false) ones.
    pub excluded: Option<bool>,
    /// Page size, bounded to 1..=[`crate::MAX_PAGE`].
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl VulnerabilityQuery {
    /// Everything in `scope`, first page of 100.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            site: None,
            device: None,
            severity: None,
            kev: None,
            cve: None,
            vendor: None,
            excluded: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// A vulnerability of a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnerabilityRow {
    /// The device.
    pub device_id: DeviceRef,
    /// Its name as listed.
    pub device: String,
    /// Its addresses, comma-separated.
    pub ips: String,
    /// Its vendor.
    pub vendor: Option<String>,
    /// Its model.
    pub model: Option<String>,
    /// Its firmware.
    pub firmware: Option<String>,
    /// Its site.
    pub site_id: SiteId,
    /// The site's name.
    pub site: String,
    /// CVE id.
    pub cve: String,
    /// CVSS v3 base score.
    pub cvss: Option<f64>,
    /// Severity band of the score.
    pub severity: Severity,
    /// Known exploited (KEV).
    pub kev: bool,
    /// Advisory ids.
    pub advisories: Vec<String>,
    /// The affected product that matched.
    pub product: String,
    /// Its affected versions as the advisory writes them.
    pub versions: String,
    /// Versions that fix it.
    pub fixed_in: Vec<String>,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    /// Why it matched.
    pub reason: String,
    /// First matched.
    pub first_matched: Timestamp,
    /// Last matched.
    pub last_matched: Timestamp,
    /// Whether an analyst excluded it.
    pub excluded: bool,
    /// The exclusion's reason.
    pub exclusion_reason: Option<String>,
}

/// A CVE over the devices it affects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveSummary {
    /// CVE id.
    pub cve: String,
    /// CVSS v3 base score.
    pub cvss: Option<f64>,
    /// Severity band.
    pub severity: Severity,
    /// Known exploited.
    pub kev: bool,
    /// Devices affected (within the filters).
    pub devices: i64,
    /// Of those, excluded.
    pub excluded: i64,
    /// Advisory ids (of one of its rows).
    pub advisories: Vec<String>,
}

/// A severity band's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityCount {
    /// The band.
    pub severity: Severity,
    /// Vulnerabilities (device and CVE pairs), not excluded.
    pub vulnerabilities: i64,
    /// Of those, known exploited.
    pub kev: i64,
    /// Devices with at least one.
    pub devices: i64,
    /// Distinct CVEs.
    pub cves: i64,
}

/// An analyst's exclusion of a CVE on one device or on all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnerabilityExclusion {
    /// Its id.
    pub id: i64,
    /// The device (`None`: every device).
    pub device_id: Option<DeviceRef>,
    /// CVE id.
    pub cve: String,
    /// Why.
    pub reason: String,
    /// By whom.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// Products the package in force cannot resolve, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedGroup {
    /// Vendor as reported.
    pub vendor: Option<String>,
    /// Model as reported.
    pub model: Option<String>,
    /// Order number.
    pub order_number: Option<String>,
    /// Short reason.
    pub reason: String,
    /// Why, in words (of one of its devices).
    pub explanation: String,
    /// Devices.
    pub devices: i64,
}

/// The exclusion reason of row `v`, if any (a device's own first, then one for all devices).
const EXCLUSION_SQL: &str = "(SELECT e.reason FROM vulnerability_exclusions e WHERE e.cve = v.cve \
     AND (e.device_id = v.device_id OR e.device_id IS NULL) \
     ORDER BY CASE WHEN e.device_id IS NULL THEN 1 ELSE 0 END, e.id LIMIT 1)";

pub(crate) const EXCLUDED_SQL: &str =
    "EXISTS (SELECT 1 FROM vulnerability_exclusions e WHERE e.cve = v.cve \
     AND (e.device_id = v.device_id OR e.device_id IS NULL))";

fn filters(sql: &mut Sql, q: &VulnerabilityQuery) {
    q.scope.filter(sql, "v.site_id");
    if let Some(site) = q.site {
        sql.push(" AND v.site_id = ").bind(site.0);
    }
    if let Some(device) = q.device {
        sql.push(" AND v.device_id = ").bind(device.0);
    }
    if let Some(severity) = q.severity {
        let (lo, hi) = severity.bounds();
        sql.push(" AND v.cvss10 BETWEEN ").bind(lo);
        sql.push(" AND ").bind(hi);
    }
    if let Some(kev) = q.kev {
        sql.push(" AND v.kev = ").bind(i64::from(kev));
    }
    if let Some(cve) = q.cve.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        sql.push(" AND v.cve = ").bind(cve.to_ascii_uppercase());
    }
    if let Some(vendor) = &q.vendor {
        sql.push(" AND d.vendor = ").bind(vendor.as_str());
    }
    match q.excluded {
        Some(true) => {
            sql.push(" AND ").push(EXCLUDED_SQL);
        }
        Some(false) => {
            sql.push(" AND NOT ").push(EXCLUDED_SQL);
        }
        None => {}
    }
}

/// `FROM device_vulnerabilities v [JOIN devices d] WHERE <filters>`: the devices join only when
/// the vendor filter needs it (counting half a million rows, the join doubles the time).
fn from_filtered(q: &VulnerabilityQuery) -> Sql {
    let mut sql = Sql::new(" FROM device_vulnerabilities v");
    if q.vendor.is_some() {
        sql.push(" JOIN devices d ON d.id = v.device_id");
    }
    sql.push(" WHERE 1 = 1");
    filters(&mut sql, q);
    sql
}

fn list(text: String) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn score(cvss10: i64) -> Option<f64> {
    (cvss10 >= 0).then(|| cvss10 as f64 / 10.0)
}

fn vulnerability_row(row: &AnyRow) -> Result<VulnerabilityRow> {
    let cvss = score(row.try_get("cvss10")?);
    let exclusion_reason: Option<String> = row.try_get("exclusion_reason")?;
    Ok(VulnerabilityRow {
        device_id: DeviceRef(row.try_get("device_id")?),
        device: row.try_get("name")?,
        ips: row.try_get("ips")?,
        vendor: row.try_get("vendor")?,
        model: row.try_get("model")?,
        firmware: row.try_get("firmware")?,
        site_id: SiteId(row.try_get("site_id")?),
        site: row.try_get("site")?,
        cve: row.try_get("cve")?,
        cvss,
        severity: Severity::of(cvss),
        kev: row.try_get::<i64, _>("kev")? != 0,
        advisories: list(row.try_get("advisories")?),
        product: row.try_get("product")?,
        versions: row.try_get("versions")?,
        fixed_in: list(row.try_get("fixed_in")?),
        confidence: row.try_get("confidence")?,
        reason: row.try_get("reason")?,
        first_matched: Timestamp(row.try_get("first_matched")?),
        last_matched: Timestamp(row.try_get("last_matched")?),
        excluded: exclusion_reason.is_some(),
        exclusion_reason,
    })
}

fn exclusion_row(row: &AnyRow) -> Result<VulnerabilityExclusion> {
    Ok(VulnerabilityExclusion {
        id: row.try_get("id")?,
        device_id: row.try_get::<Option<i64>, _>("device_id")?.map(DeviceRef),
        cve: row.try_get("cve")?,
        reason: row.try_get("reason")?,
        created_by: row.try_get("created_by")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

/// Whether `cve` looks like a CVE id (`CVE-YYYY-N+`), upper-cased.
fn canonical_cve(cve: &str) -> Option<String> {
    let cve = cve.trim().to_ascii_uppercase();
    let rest = cve.strip_prefix("CVE-")?;
    let (year, number) = rest.split_once('-')?;
    (year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=12).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit()))
    .then_some(cve)
}

impl Store {
    /// A page of device vulnerabilities matching `q`: known exploited first, then by CVSS,
    /// highest first, then by device and CVE (stable paging).
    pub async fn list_vulnerabilities(
        &self,
        q: &VulnerabilityQuery,
    ) -> Result<Page<VulnerabilityRow>> {
        let mut sql = Sql::new(&format!(
            "SELECT v.device_id, d.name, d.ips, d.vendor, d.model, d.firmware, v.site_id, \
             s.name AS site, v.cve, v.cvss10, v.kev, v.advisories, v.product, v.versions, \
             v.fixed_in, v.confidence, v.reason, v.first_matched, v.last_matched, \
             {EXCLUSION_SQL} AS exclusion_reason \
             FROM device_vulnerabilities v JOIN devices d ON d.id = v.device_id \
             JOIN sites s ON s.id = v.site_id WHERE 1 = 1"
        ));
        filters(&mut sql, q);
        sql.push(" ORDER BY v.kev DESC, v.cvss10 DESC, v.device_id, v.cve LIMIT ")
            .bind(page_size(q.limit));
        sql.push(" OFFSET ").bind(q.offset.max(0));
        let items = sql
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(vulnerability_row)
            .collect::<Result<_>>()?;
        let mut count = Sql::new("SELECT COUNT(*) AS n");
        count.append(&from_filtered(q));
        let total = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        Ok(Page { items, total })
    }

    /// A page of CVEs over the devices they affect (within `q`'s filters): known exploited
    /// first, then by CVSS, then by the number of devices.
    pub async fn vulnerabilities_by_cve(&self, q: &VulnerabilityQuery) -> Result<Page<CveSummary>> {
        let mut sql = Sql::new(
            "SELECT v.cve, MAX(v.cvss10) AS cvss10, MAX(v.kev) AS kev, COUNT(*) AS devices, \
             MIN(v.advisories) AS advisories",
        );
        sql.append(&from_filtered(q));
        sql.push(
            " GROUP BY v.cve ORDER BY MAX(v.kev) DESC, MAX(v.cvss10) DESC, COUNT(*) DESC, v.cve \
             LIMIT ",
        )
        .bind(page_size(q.limit));
        sql.push(" OFFSET ").bind(q.offset.max(0));
        let mut items: Vec<CveSummary> = sql
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let cvss = score(row.try_get("cvss10")?);
                Ok(CveSummary {
                    cve: row.try_get("cve")?,
                    cvss,
                    severity: Severity::of(cvss),
                    kev: row.try_get::<i64, _>("kev")? != 0,
                    devices: row.try_get("devices")?,
                    excluded: 0,
                    advisories: list(row.try_get("advisories")?),
                })
            })
            .collect::<Result<_>>()?;
        // Exclusions are few: counted for this page's CVEs only, rather than probed for every
        // row of the grouping.
        if !items.is_empty() {
            let mut excluded = Sql::new("SELECT v.cve, COUNT(*) AS n");
            excluded.append(&from_filtered(q));
            excluded
                .push(" AND ")
                .push(EXCLUDED_SQL)
                .push(" AND v.cve IN (");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    excluded.push(", ");
                }
                excluded.bind(item.cve.as_str());
            }
            excluded.push(") GROUP BY v.cve");
            let counts: HashMap<String, i64> = excluded
                .query()
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| Ok((row.try_get("cve")?, row.try_get("n")?)))
                .collect::<Result<_>>()?;
            for item in &mut items {
                item.excluded = counts.get(&item.cve).copied().unwrap_or(0);
            }
        }
        let mut count = Sql::new("SELECT COUNT(DISTINCT v.cve) AS n");
        count.append(&from_filtered(q));
        let total = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        Ok(Page { items, total })
    }

    /// Counts per severity band, most severe first, of the vulnerabilities matching `q` that
    /// are not excluded.
    pub async fn vulnerabilities_by_severity(
        &self,
        q: &VulnerabilityQuery,
    ) -> Result<Vec<SeverityCount>> {
        let mut out = Vec::new();
        let mut q = q.clone();
        q.excluded = Some(false);
        for severity in Severity::ALL {
            q.severity = Some(severity);
            let mut sql = Sql::new(
                "SELECT COUNT(*) AS n, COUNT(CASE WHEN v.kev = 1 THEN 1 END) AS kev, \
                 COUNT(DISTINCT v.device_id) AS devices, COUNT(DISTINCT v.cve) AS cves",
            );
            sql.append(&from_filtered(&q));
            let row = sql.query().fetch_one(&self.pool).await?;
            out.push(SeverityCount {
                severity,
                vulnerabilities: row.try_get("n")?,
                kev: row.try_get("kev")?,
                devices: row.try_get("devices")?,
                cves: row.try_get("cves")?,
            });
        }
        Ok(out)
    }

    /// For each of `devices` in `scope` that has any: the number of its vulnerabilities not
    /// excluded and the highest CVSS among them (the inventory's columns).
    pub async fn vulnerability_counts(
        &self,
        scope: &Scope,
        devices: &[DeviceRef],
    ) -> Result<HashMap<DeviceRef, (i64, Option<f64>)>> {
        if devices.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<i64> = devices.iter().map(|d| d.0).collect();
        let mut sql = Sql::new(&format!(
            "SELECT v.device_id, COUNT(*) AS n, MAX(v.cvss10) AS cvss10 \
             FROM device_vulnerabilities v WHERE NOT {EXCLUDED_SQL} AND "
        ));
        sql.in_list("v.device_id", &ids);
        scope.filter(&mut sql, "v.site_id");
        sql.push(" GROUP BY v.device_id");
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    DeviceRef(row.try_get("device_id")?),
                    (row.try_get("n")?, score(row.try_get("cvss10")?)),
                ))
            })
            .collect()
    }

    /// Excludes `cve` on `device` (in `scope`), or on every device (`None`: only for a caller
    /// who sees every site, since it reaches all of them). A reason is required.
    pub async fn add_vulnerability_exclusion(
        &self,
        scope: &Scope,
        device: Option<DeviceRef>,
        cve: &str,
        reason: &str,
        created_by: &str,
        at: Timestamp,
    ) -> Result<VulnerabilityExclusion> {
        let cve = canonical_cve(cve)
            .ok_or_else(|| StoreError::Invalid(format!("cve: {cve:?} is not a CVE id")))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(
                "reason: say why it is excluded".to_owned(),
            ));
        }
        if reason.chars().count() > MAX_EXCLUSION_REASON {
            return Err(StoreError::Invalid(format!(
                "reason: at most {MAX_EXCLUSION_REASON} characters"
            )));
        }
        match device {
            Some(device) => {
                let mut sql = Sql::new("SELECT id FROM devices d WHERE d.id = ");
                sql.bind(device.0);
                scope.filter(&mut sql, "d.site_id");
                sql.query()
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or(StoreError::NotFound)?;
            }
            None if *scope != Scope::All => {
                return Err(StoreError::Invalid(
                    "device: an exclusion for every device needs access to every site".to_owned(),
                ));
            }
            None => {}
        }
        let mut tx = self.write().await?;
        let mut sql = Sql::new("SELECT id FROM vulnerability_exclusions WHERE cve = ");
        sql.bind(cve.as_str());
        match device {
            Some(d) => sql.push(" AND device_id = ").bind(d.0),
            None => sql.push(" AND device_id IS NULL"),
        };
        if sql.query().fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "{cve} is already excluded there"
            )));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO vulnerability_exclusions (device_id, cve, reason, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(device.map(|d| d.0))
        .bind(cve.as_str())
        .bind(reason)
        .bind(created_by)
        .bind(at.as_nanos())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(VulnerabilityExclusion {
            id,
            device_id: device,
            cve,
            reason: reason.to_owned(),
            created_by: created_by.to_owned(),
            created_at: at,
        })
    }

    /// Exclusions visible in `scope` (those of its devices, and those for every device), newest
    /// first.
    pub async fn list_vulnerability_exclusions(
        &self,
        scope: &Scope,
        limit: i64,
        offset: i64,
    ) -> Result<Page<VulnerabilityExclusion>> {
        let mut filter = Sql::new(
            " FROM vulnerability_exclusions e LEFT JOIN devices d ON d.id = e.device_id \
             WHERE (e.device_id IS NULL",
        );
        if let Scope::Sites(_) = scope {
            filter.push(" OR (1 = 1");
            scope.filter(&mut filter, "d.site_id");
            filter.push("))");
        } else {
            filter.push(" OR 1 = 1)");
        }
        let mut sql =
            Sql::new("SELECT e.id, e.device_id, e.cve, e.reason, e.created_by, e.created_at");
        sql.append(&filter);
        sql.push(" ORDER BY e.id DESC LIMIT ")
            .bind(page_size(limit));
        sql.push(" OFFSET ").bind(offset.max(0));
        let items = sql
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(exclusion_row)
            .collect::<Result<_>>()?;
        let mut count = Sql::new("SELECT COUNT(*) AS n");
        count.append(&filter);
        let total = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        Ok(Page { items, total })
    }

    /// Deletes an exclusion: one of a device in `scope`, or one for every device when the
    /// scope is every site. Returns what was deleted.
    pub async fn delete_vulnerability_exclusion(
        &self,
        scope: &Scope,
        id: i64,
    ) -> Result<VulnerabilityExclusion> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT e.id, e.device_id, e.cve, e.reason, e.created_by, e.created_at, d.site_id \
             FROM vulnerability_exclusions e LEFT JOIN devices d ON d.id = e.device_id \
             WHERE e.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let exclusion = exclusion_row(&row)?;
        let visible = match row.try_get::<Option<i64>, _>("site_id")? {
            Some(site) => scope.allows(SiteId(site)),
            None => *scope == Scope::All,
        };
        if !visible {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM vulnerability_exclusions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(exclusion)
    }

    /// Products the package in force cannot resolve, grouped by vendor, model, order number
    /// and reason, most devices first.
    pub async fn list_unmatched(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<UnmatchedGroup>> {
        let mut filter = Sql::new(" FROM ti_unmatched u WHERE 1 = 1");
        scope.filter(&mut filter, "u.site_id");
        if let Some(site) = site {
            filter.push(" AND u.site_id = ").bind(site.0);
        }
        let mut sql = Sql::new(
            "SELECT u.vendor, u.model, u.order_number, u.reason, MIN(u.explanation) AS \
             explanation, COUNT(*) AS devices",
        );
        sql.append(&filter);
        sql.push(
            " GROUP BY u.vendor, u.model, u.order_number, u.reason \
             ORDER BY COUNT(*) DESC, u.vendor, u.model, u.order_number, u.reason LIMIT ",
        )
        .bind(page_size(limit));
        sql.push(" OFFSET ").bind(offset.max(0));
        let items = sql
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok(UnmatchedGroup {
                    vendor: row.try_get("vendor")?,
                    model: row.try_get("model")?,
                    order_number: row.try_get("order_number")?,
                    reason: row.try_get("reason")?,
                    explanation: row.try_get("explanation")?,
                    devices: row.try_get("devices")?,
                })
            })
            .collect::<Result<_>>()?;
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 AS one");
        count.append(&filter);
        count.push(" GROUP BY u.vendor, u.model, u.order_number, u.reason) g");
        let total = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        Ok(Page { items, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_bands_follow_cvss_ratings() {
        assert_eq!(Severity::of(Some(9.8)), Severity::Critical);
        assert_eq!(Severity::of(Some(9.0)), Severity::Critical);
        assert_eq!(Severity::of(Some(8.9)), Severity::High);
        assert_eq!(Severity::of(Some(4.0)), Severity::Medium);
        assert_eq!(Severity::of(Some(3.9)), Severity::Low);
        assert_eq!(Severity::of(Some(0.0)), Severity::None);
        assert_eq!(Severity::of(None), Severity::None);
        assert_eq!(crate::ti_packages::cvss10(Some(7.5)), 75);
        assert_eq!(crate::ti_packages::cvss10(None), -1);
        assert_eq!(crate::ti_packages::cvss10(Some(f32::NAN)), -1);
    }

    #[test]
    fn cve_ids_are_checked_and_upper_cased() {
        assert_eq!(
            canonical_cve(" cve-2022-38465 ").as_deref(),
            Some("CVE-2022-38465")
        );
        assert_eq!(canonical_cve("CVE-22-1"), None);
        assert_eq!(canonical_cve("CVE-2022-38465; DROP"), None);
    }
}
