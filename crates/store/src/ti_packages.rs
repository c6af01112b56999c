//! Threat-intelligence packages as the console keeps them: every verified upload with its signed
//! bytes, the one in force (the highest sequence), and what matching needs from and writes to
//! the inventory — devices whose identity was not yet matched against the package in force, and
//! each device's vulnerabilities and unmatched product, replaced together in one transaction.
//!
//! The store does not verify packages (it has no key and no parser): the console verifies an
//! upload before [`Store::insert_package`], and sensors verify the bytes again.

use std::collections::HashMap;

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Sql;
use crate::ids::page_size;
use crate::{DeviceRef, Page, Result, SiteId, Store, StoreError};

/// A stored package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PackageId(pub i64);

impl std::fmt::Display for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Largest package the store accepts (the console's upload limit is below it).
pub const MAX_PACKAGE_BYTES: usize = 256 << 20;

/// A verified package to store: its header's facts and its signed bytes.
#[derive(Debug, Clone)]
pub struct NewPackage<'a> {
    /// File name (named by build date).
    pub file_name: &'a str,
    /// Sequence: a newer package has a higher one.
    pub sequence: u64,
    /// Build time, RFC 3339.
    pub built_at: &'a str,
    /// Id of the key that signed it.
    pub key_id: &'a str,
    /// Record counts of the header.
    pub counts: PackageCounts,
    /// Who uploaded it.
    pub uploaded_by: &'a str,
    /// When.
    pub uploaded_at: Timestamp,
    /// The package file, exactly as signed.
    pub bytes: &'a [u8],
}

/// What a package holds, as its header counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PackageCounts {
    /// Vulnerability records (CVEs).
    pub vulnerabilities: i64,
    /// Affected products over all records.
    pub affected_products: i64,
    /// Records known exploited (KEV).
    pub known_exploited: i64,
    /// Advisories read.
    pub advisories: i64,
    /// ATT&CK for ICS techniques.
    pub techniques: i64,
    /// IoCs.
    pub iocs: i64,
}

/// A stored package, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPackage {
    /// Its id.
    pub id: PackageId,
    /// File name.
    pub file_name: String,
    /// Sequence (build seconds).
    pub sequence: i64,
    /// Build time, RFC 3339.
    pub built_at: String,
    /// When it was uploaded.
    pub uploaded_at: Timestamp,
    /// Who uploaded it.
    pub uploaded_by: String,
    /// Id of the key that signed it.
    pub key_id: String,
    /// Record counts.
    pub counts: PackageCounts,
    /// Size of the file in bytes.
    pub size: i64,
    /// Whether it is the package in force (the highest sequence).
    pub in_force: bool,
}

const PACKAGE_COLUMNS: &str = "id, file_name, sequence, built_at, uploaded_at, uploaded_by, \
     key_id, vulnerabilities, affected_products, known_exploited, advisories, techniques, iocs, \
     size, CASE WHEN sequence = (SELECT MAX(sequence) FROM ti_packages) THEN 1 ELSE 0 END \
     AS in_force";

fn package_row(row: &AnyRow) -> Result<StoredPackage> {
    let in_force = row.try_get::<i64, _>("in_force")? != 0;
    Ok(StoredPackage {
        id: PackageId(row.try_get("id")?),
        file_name: row.try_get("file_name")?,
        sequence: row.try_get("sequence")?,
        built_at: row.try_get("built_at")?,
        uploaded_at: Timestamp(row.try_get("uploaded_at")?),
        uploaded_by: row.try_get("uploaded_by")?,
        key_id: row.try_get("key_id")?,
        counts: PackageCounts {
            vulnerabilities: row.try_get("vulnerabilities")?,
            affected_products: row.try_get("affected_products")?,
            known_exploited: row.try_get("known_exploited")?,
            advisories: row.try_get("advisories")?,
            techniques: row.try_get("techniques")?,
            iocs: row.try_get("iocs")?,
        },
        size: row.try_get("size")?,
        in_force,
    })
}

/// One device as matching reads it: its identity values, each with the source of the fact that
/// decided it (empty when no selected fact names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchCandidate {
    /// The device.
    pub device: DeviceRef,
    /// Its site.
    pub site: SiteId,
    /// Vendor and its source.
    pub vendor: Option<(String, String)>,
    /// Model and its source.
    pub model: Option<(String, String)>,
    /// Product code (order or catalog number) and its source.
    pub product_code: Option<(String, String)>,
    /// Firmware and its source.
    pub firmware: Option<(String, String)>,
    /// The identity matched (vendor, model, product code, firmware): when it changes, the
    /// device is matched again.
    pub identity: String,
}

/// One CVE matched on a device.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnerabilityMatch {
    /// CVE id.
    pub cve: String,
    /// CVSS v3 base score.
    pub cvss: Option<f32>,
    /// Known exploited (KEV).
    pub kev: bool,
    /// Advisory ids (ICSA-...).
    pub advisories: Vec<String>,
    /// The affected product that matched.
    pub product: String,
    /// Its affected versions, as the advisory writes them.
    pub versions: String,
    /// Versions that fix it.
    pub fixed_in: Vec<String>,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    /// Why it matched: which facts, which range, which advisory.
    pub reason: String,
}

/// A device the package cannot resolve to a product it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmatchedProduct {
    /// Vendor as reported.
    pub vendor: Option<String>,
    /// Model as reported.
    pub model: Option<String>,
    /// Order number, canonical.
    pub order_number: Option<String>,
    /// Short reason (`unknown_vendor`, `unknown_product`, ...).
    pub reason: String,
    /// Why, in words.
    pub explanation: String,
}

/// What matching found for one device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceMatchResult {
    /// The device.
    pub device: DeviceRef,
    /// Its site.
    pub site: SiteId,
    /// The identity matched ([`MatchCandidate::identity`]).
    pub identity: String,
    /// Its vulnerabilities.
    pub vulnerabilities: Vec<VulnerabilityMatch>,
    /// Its product, when the package cannot resolve it.
    pub unmatched: Option<UnmatchedProduct>,
}

/// SQL of a device's identity as matched: vendor, model, selected product code, firmware.
const IDENTITY_SQL: &str = "COALESCE(d.vendor, '') || '|' || COALESCE(d.model, '') || '|' || \
     COALESCE((SELECT MIN(f.value) FROM device_facts f WHERE f.device_id = d.id \
     AND f.attribute = 'product_code' AND f.selected = 1), '') || '|' || COALESCE(d.firmware, '')";

/// Rows per multi-row INSERT (14 parameters each, well below both backends' limits).
const INSERT_CHUNK: usize = 64;

impl Store {
    /// Stores a verified package. Refused ([`StoreError::Conflict`]) unless its sequence is
    /// higher than every stored one: checked in the transaction that inserts it, so two uploads
    /// racing cannot both win.
    pub async fn insert_package(&self, package: &NewPackage<'_>) -> Result<PackageId> {
        if package.bytes.len() > MAX_PACKAGE_BYTES {
            return Err(StoreError::Invalid(format!(
                "package of {} bytes: at most {MAX_PACKAGE_BYTES}",
                package.bytes.len()
            )));
        }
        let sequence = i64::try_from(package.sequence)
            .map_err(|_| StoreError::Invalid("package sequence out of range".to_owned()))?;
        let mut tx = self.write().await?;
        let newest: Option<i64> = sqlx::query("SELECT MAX(sequence) AS s FROM ti_packages")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        if let Some(newest) = newest.filter(|&n| n >= sequence) {
            return Err(StoreError::Conflict(format!(
                "downgrade refused: sequence {sequence} is not newer than {newest} in force"
            )));
        }
        let c = package.counts;
        let id: i64 = sqlx::query(
            "INSERT INTO ti_packages (file_name, sequence, built_at, uploaded_at, uploaded_by, \
             key_id, vulnerabilities, affected_products, known_exploited, advisories, techniques, \
             iocs, size, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14) RETURNING id",
        )
        .bind(package.file_name)
        .bind(sequence)
        .bind(package.built_at)
        .bind(package.uploaded_at.as_nanos())
        .bind(package.uploaded_by)
        .bind(package.key_id)
        .bind(c.vulnerabilities)
        .bind(c.affected_products)
        .bind(c.known_exploited)
        .bind(c.advisories)
        .bind(c.techniques)
        .bind(c.iocs)
        .bind(package.bytes.len() as i64)
        .bind(package.bytes)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(PackageId(id))
    }

    /// Stored packages, newest first.
    pub async fn list_packages(&self, limit: i64, offset: i64) -> Result<Page<StoredPackage>> {
        let rows = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM ti_packages ORDER BY sequence DESC LIMIT $1 OFFSET $2"
        ))
        .bind(page_size(limit))
        .bind(offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ti_packages")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(Page {
            items: rows.iter().map(package_row).collect::<Result<_>>()?,
            total,
        })
    }

    /// The package in force: the stored one with the highest sequence.
    pub async fn package_in_force(&self) -> Result<Option<StoredPackage>> {
        let row = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM ti_packages ORDER BY sequence DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(package_row).transpose()
    }

    /// One stored package.
    pub async fn get_package(&self, id: PackageId) -> Result<StoredPackage> {
        let row = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM ti_packages WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        package_row(&row)
    }

    /// The signed bytes of a stored package.
    pub async fn package_bytes(&self, id: PackageId) -> Result<Vec<u8>> {
        let row = sqlx::query("SELECT bytes FROM ti_packages WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("bytes")?)
    }

    /// Up to `limit` devices after `after` (by id) not yet matched against `package` with
    /// their current identity, in id order. Matching walks the inventory with it: pages of
    /// devices, each stored by [`Store::store_matches`] before the next is read.
    pub async fn devices_to_match(
        &self,
        package: PackageId,
        after: DeviceRef,
        limit: i64,
    ) -> Result<Vec<MatchCandidate>> {
        let rows = sqlx::query(&format!(
            "SELECT d.id, d.site_id, d.vendor, d.model, d.firmware, ({IDENTITY_SQL}) AS identity, \
             (SELECT MIN(f.value) FROM device_facts f WHERE f.device_id = d.id \
             AND f.attribute = 'product_code' AND f.selected = 1) AS product_code \
             FROM devices d LEFT JOIN device_match_state m ON m.device_id = d.id \
             WHERE d.id > $1 AND (m.device_id IS NULL OR m.package_id <> $2 \
             OR m.identity <> ({IDENTITY_SQL})) ORDER BY d.id LIMIT $3"
        ))
        .bind(after.0)
        .bind(package.0)
        .bind(page_size(limit))
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        // The sources of the selected facts, for the matches' reasons.
        let mut sources: HashMap<(i64, String), String> = HashMap::new();
        if !ids.is_empty() {
            let mut sql = Sql::new(
                "SELECT device_id, attribute, value, source FROM device_facts WHERE selected = 1 \
                 AND attribute IN ('vendor', 'model', 'product_code', 'firmware') AND ",
            );
            sql.in_list("device_id", &ids);
            for row in sql.query().fetch_all(&self.pool).await? {
                let key = (
                    row.try_get::<i64, _>("device_id")?,
                    format!(
                        "{}={}",
                        row.try_get::<String, _>("attribute")?,
                        row.try_get::<String, _>("value")?
                    ),
                );
                sources.insert(key, row.try_get("source")?);
            }
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let sourced = |attribute: &str| -> Result<Option<(String, String)>> {
                    let value: Option<String> = row.try_get(attribute)?;
                    Ok(value.filter(|v| !v.trim().is_empty()).map(|value| {
                        let source = sources
                            .get(&(id, format!("{attribute}={value}")))
                            .cloned()
                            .unwrap_or_default();
                        (value, source)
                    }))
                };
                Ok(MatchCandidate {
                    device: DeviceRef(id),
                    site: SiteId(row.try_get("site_id")?),
                    vendor: sourced("vendor")?,
                    model: sourced("model")?,
                    product_code: sourced("product_code")?,
                    firmware: sourced("firmware")?,
                    identity: row.try_get("identity")?,
                })
            })
            .collect()
    }

    /// Replaces the vulnerabilities and unmatched product of each device of `results` with
    /// what matching against `package` found, in one transaction. A CVE matched again keeps its
    /// first-matched time; exclusions are kept apart and are not touched. Devices deleted since
    /// they were read are skipped.
    pub async fn store_matches(
        &self,
        package: PackageId,
        results: &[DeviceMatchResult],
        at: Timestamp,
    ) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        let ids: Vec<i64> = results.iter().map(|r| r.device.0).collect();
        let mut sql = Sql::new("SELECT id FROM devices WHERE ");
        sql.in_list("id", &ids);
        let present: std::collections::HashSet<i64> = sql
            .query()
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        let results: Vec<&DeviceMatchResult> = results
            .iter()
            .filter(|r| present.contains(&r.device.0))
            .collect();
        let ids: Vec<i64> = results.iter().map(|r| r.device.0).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&DeviceMatchResult, &VulnerabilityMatch)> = results
            .iter()
            .flat_map(|r| r.vulnerabilities.iter().map(move |v| (*r, v)))
            .collect();
        for chunk in rows.chunks(INSERT_CHUNK) {
            let mut sql = Sql::new(
                "INSERT INTO device_vulnerabilities (device_id, site_id, cve, cvss10, kev, \
                 advisories, product, versions, fixed_in, confidence, reason, first_matched, \
                 last_matched, package_id) VALUES ",
            );
            for (i, (device, v)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(device.device.0).push(", ");
                sql.bind(device.site.0).push(", ");
                sql.bind(v.cve.as_str()).push(", ");
                sql.bind(cvss10(v.cvss)).push(", ");
                sql.bind(i64::from(v.kev)).push(", ");
                sql.bind(v.advisories.join(",")).push(", ");
                sql.bind(v.product.as_str()).push(", ");
                sql.bind(v.versions.as_str()).push(", ");
                sql.bind(v.fixed_in.join(",")).push(", ");
                sql.bind(v.confidence.as_str()).push(", ");
                sql.bind(v.reason.as_str()).push(", ");
                sql.bind(at.as_nanos()).push(", ");
                sql.bind(at.as_nanos()).push(", ");
                sql.bind(package.0).push(")");
            }
            sql.push(
                " ON CONFLICT (device_id, cve) DO UPDATE SET site_id = excluded.site_id, \
                 cvss10 = excluded.cvss10, kev = excluded.kev, advisories = excluded.advisories, \
                 product = excluded.product, versions = excluded.versions, \
                 fixed_in = excluded.fixed_in, confidence = excluded.confidence, \
                 reason = excluded.reason, last_matched = excluded.last_matched, \
                 package_id = excluded.package_id",
            );
            sql.query().execute(&mut *tx).await?;
        }
        let mut sql = Sql::new("DELETE FROM device_vulnerabilities WHERE last_matched <> ");
        sql.bind(at.as_nanos()).push(" AND ");
        sql.in_list("device_id", &ids);
        sql.query().execute(&mut *tx).await?;

        let mut sql = Sql::new("DELETE FROM ti_unmatched WHERE ");
        sql.in_list("device_id", &ids);
        sql.query().execute(&mut *tx).await?;
        let unmatched: Vec<(&DeviceMatchResult, &UnmatchedProduct)> = results
            .iter()
            .filter_map(|r| r.unmatched.as_ref().map(|u| (*r, u)))
            .collect();
        for chunk in unmatched.chunks(INSERT_CHUNK) {
            let mut sql = Sql::new(
                "INSERT INTO ti_unmatched (device_id, site_id, vendor, model, order_number, \
                 reason, explanation) VALUES ",
            );
            for (i, (device, u)) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(device.device.0).push(", ");
                sql.bind(device.site.0).push(", ");
                sql.bind(u.vendor.clone()).push(", ");
                sql.bind(u.model.clone()).push(", ");
                sql.bind(u.order_number.clone()).push(", ");
                sql.bind(u.reason.as_str()).push(", ");
                sql.bind(u.explanation.as_str()).push(")");
            }
            sql.query().execute(&mut *tx).await?;
        }

        for chunk in results.chunks(INSERT_CHUNK) {
            let mut sql = Sql::new(
                "INSERT INTO device_match_state (device_id, package_id, identity, matched_at) \
                 VALUES ",
            );
            for (i, r) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(r.device.0).push(", ");
                sql.bind(package.0).push(", ");
                sql.bind(r.identity.as_str()).push(", ");
                sql.bind(at.as_nanos()).push(")");
            }
            sql.push(
                " ON CONFLICT (device_id) DO UPDATE SET package_id = excluded.package_id, \
                 identity = excluded.identity, matched_at = excluded.matched_at",
            );
            sql.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A CVSS score as stored: tenths, -1 for none (sorts last).
pub(crate) fn cvss10(score: Option<f32>) -> i64 {
    score
        .filter(|s| s.is_finite() && (0.0..=10.0).contains(s))
        .map_or(-1, |s| (s * 10.0).round() as i64)
}
