//! Baseline entries: traffic a user declared expected ("Learn" on an alert). Alerts with the
//! same kind, source, destination and protocol are suppressed at ingest, and sensors can
//! import the entries (`GET /api/v1/baseline`).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::Sql;
use crate::ids::page_size;
use crate::{Page, Result, Scope, SiteId, Store, StoreError};

/// One learned baseline entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineEntry {
    /// Row id.
    pub id: i64,
    /// Site.
    pub site_id: SiteId,
    /// Alert kind it covers (`policy.new_connection`).
    pub kind: String,
    /// Source address (empty: none).
    pub src: String,
    /// Destination address (empty: none).
    pub dst: String,
    /// Protocol (empty: none).
    pub protocol: String,
    /// What was learned, in words (the alert's title).
    pub detail: String,
    /// Alerts suppressed by it since.
    pub suppressed: i64,
    /// Who learned it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// What identifies a baseline entry within its site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BaselineKey {
    pub(crate) kind: String,
    pub(crate) src: String,
    pub(crate) dst: String,
    pub(crate) protocol: String,
}

const COLUMNS: &str =
    "id, site_id, kind, src, dst, protocol, detail, suppressed, created_by, created_at";

fn entry(r: &AnyRow) -> Result<BaselineEntry> {
    Ok(BaselineEntry {
        id: r.try_get("id")?,
        site_id: SiteId(r.try_get("site_id")?),
        kind: r.try_get("kind")?,
        src: r.try_get("src")?,
        dst: r.try_get("dst")?,
        protocol: r.try_get("protocol")?,
        detail: r.try_get("detail")?,
        suppressed: r.try_get("suppressed")?,
        created_by: r.try_get("created_by")?,
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

/// Inserts the entry unless it exists; returns the stored one.
pub(crate) async fn insert_entry(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    key: &BaselineKey,
    detail: &str,
    created_by: &str,
    now: Timestamp,
) -> Result<BaselineEntry> {
    let inserted = sqlx::query(
        "INSERT INTO baseline_entries (site_id, kind, src, dst, protocol, detail, created_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (site_id, kind, src, dst, protocol) DO NOTHING",
    )
    .bind(site)
    .bind(key.kind.as_str())
    .bind(key.src.as_str())
    .bind(key.dst.as_str())
    .bind(key.protocol.as_str())
    .bind(detail)
    .bind(created_by)
    .bind(now.as_nanos())
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() > 0 {
        bump_version(tx, site).await?;
    }
    let row = find(tx, site, key).await?.ok_or(StoreError::NotFound)?;
    entry(&row)
}

/// Notes a change to a site's baseline entries: sensors compare the version their ingest
/// answers carry with the one they imported, and fetch the entries again when it grew.
pub(crate) async fn bump_version(tx: &mut Transaction<'static, Any>, site: i64) -> Result<()> {
    sqlx::query("UPDATE sites SET baseline_version = baseline_version + 1 WHERE id = $1")
        .bind(site)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The entry of `site` with `key`, if any.
pub(crate) async fn find(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    key: &BaselineKey,
) -> Result<Option<AnyRow>> {
    Ok(sqlx::query(&format!(
        "SELECT {COLUMNS} FROM baseline_entries WHERE site_id = $1 AND kind = $2 AND src = $3 \
         AND dst = $4 AND protocol = $5"
    ))
    .bind(site)
    .bind(key.kind.as_str())
    .bind(key.src.as_str())
    .bind(key.dst.as_str())
    .bind(key.protocol.as_str())
    .fetch_optional(&mut **tx)
    .await?)
}

impl Store {
    /// A page of baseline entries of `scope` (optionally one site), oldest first.
    pub async fn list_baseline(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<BaselineEntry>> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        scope.filter(&mut filter, "site_id");
        if let Some(site) = site {
            filter.push(" AND site_id = ").bind(site.0);
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM baseline_entries");
        count.append(&filter);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM baseline_entries"));
        sql.append(&filter);
        sql.push(" ORDER BY id LIMIT ")
            .bind(page_size(limit))
            .push(" OFFSET ")
            .bind(offset.max(0));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows.iter().map(entry).collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// Deletes a baseline entry of `scope` (alerts it covered are raised again).
    pub async fn delete_baseline_entry(&self, scope: &Scope, id: i64) -> Result<BaselineEntry> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM baseline_entries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let e = entry(&row)?;
        if !scope.allows(e.site_id) {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM baseline_entries WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        bump_version(&mut tx, e.site_id.0).await?;
        tx.commit().await?;
        Ok(e)
    }
}

/// Most entries one import takes.
pub const MAX_BASELINE_IMPORT: usize = 10_000;

/// One baseline entry to import (as an export writes it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct BaselineImport {
    /// Alert kind it covers (`policy.new_connection`).
    pub kind: String,
    /// Source address (empty: none).
    #[serde(default)]
    pub src: String,
    /// Destination address (empty: none).
    #[serde(default)]
    pub dst: String,
    /// Protocol (empty: none).
    #[serde(default)]
    pub protocol: String,
    /// What was learned, in words.
    #[serde(default)]
    pub detail: String,
}

fn check_text(what: &str, index: usize, text: &str, max: usize, required: bool) -> Result<()> {
    if (required && text.is_empty()) || text.len() > max || text.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "entries[{index}].{what}: {}at most {max} bytes of printable text",
            if required { "1 to " } else { "" }
        )));
    }
    Ok(())
}

/// The entry's key, checked: addresses are empty or IP addresses (written canonically, as
/// alerts carry them), texts bounded and printable.
fn checked(index: usize, e: &BaselineImport) -> Result<BaselineKey> {
    check_text("kind", index, &e.kind, 200, true)?;
    check_text("protocol", index, &e.protocol, 64, false)?;
    check_text("detail", index, &e.detail, 500, false)?;
    let address = |what: &str, text: &str| -> Result<String> {
        if text.is_empty() {
            return Ok(String::new());
        }
        text.parse::<std::net::IpAddr>()
            .map(|ip| ip.to_string())
            .map_err(|_| StoreError::Invalid(format!("entries[{index}].{what}: not an IP address")))
    };
    Ok(BaselineKey {
        kind: e.kind.clone(),
        src: address("src", &e.src)?,
        dst: address("dst", &e.dst)?,
        protocol: e.protocol.clone(),
    })
}

impl Store {
    /// Imports baseline entries into a site of `scope` in one transaction (all checked first;
    /// at most [`MAX_BASELINE_IMPORT`]); entries the site already has are left as they are.
    /// Returns how many were new.
    pub async fn import_baseline(
        &self,
        scope: &Scope,
        site: SiteId,
        entries: &[BaselineImport],
        created_by: &str,
        now: Timestamp,
    ) -> Result<u64> {
        if !scope.allows(site) {
            return Err(StoreError::NotFound);
        }
        if entries.len() > MAX_BASELINE_IMPORT {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_BASELINE_IMPORT} entries per import"
            )));
        }
        let keys = entries
            .iter()
            .enumerate()
            .map(|(i, e)| checked(i, e))
            .collect::<Result<Vec<_>>>()?;
        let mut tx = self.write().await?;
        sqlx::query("SELECT id FROM sites WHERE id = $1")
            .bind(site.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let count = |n: &AnyRow| n.try_get::<i64, _>("n");
        let before = count(
            &sqlx::query("SELECT COUNT(*) AS n FROM baseline_entries WHERE site_id = $1")
                .bind(site.0)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        for (key, e) in keys.iter().zip(entries) {
            let detail = if e.detail.is_empty() {
                &e.kind
            } else {
                &e.detail
            };
            insert_entry(&mut tx, site.0, key, detail, created_by, now).await?;
        }
        let after = count(
            &sqlx::query("SELECT COUNT(*) AS n FROM baseline_entries WHERE site_id = $1")
                .bind(site.0)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        tx.commit().await?;
        Ok(u64::try_from(after - before).unwrap_or(0))
    }
}
