//! Score history of security initiatives (issue 9): one row each time an initiative's score or
//! its inputs changed, per site and for every site, kept for trends, drift and "what changed".
//!
//! A series is (initiative, site or every site). Snapshots and changes are the posture crate's
//! JSON, stored as text and handed back as given: the store checks that they are JSON and
//! bounded, nothing more. Each series keeps at most [`MAX_HISTORY_PER_SERIES`] rows; the
//! oldest go in the transaction that appends a new one.
//!
//! Snapshots are kept to the hour: a snapshot lists every applicable device (megabytes at
//! 100,000 devices) and a busy inventory changes every minute. A series keeps the snapshot of
//! its newest row and of the last row of each hour (UTC); appending a row in the same hour as
//! the newest drops that one's snapshot (its score and change stay).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::ids::page_size;
use crate::posture_settings::{check_id, site_key};
use crate::{Page, Result, Scope, SiteId, Store, StoreError};

/// Most rows one series keeps.
pub const MAX_HISTORY_PER_SERIES: i64 = 10_000;

/// Largest snapshot, in bytes (a snapshot lists the affected devices of every metric).
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

/// Largest change, in bytes (reasons and at most 100 assets).
pub const MAX_CHANGE_BYTES: usize = 1 << 20;

/// An hour in nanoseconds: snapshots are kept to the hour.
const HOUR: i64 = 3_600_000_000_000;

/// Most points [`Store::score_points`] returns.
pub const MAX_SCORE_POINTS: i64 = MAX_HISTORY_PER_SERIES;

/// A row to append with [`Store::append_score_snapshot`].
#[derive(Debug, Clone, Copy)]
pub struct NewScoreSnapshot<'a> {
    /// The initiative's id.
    pub initiative: &'a str,
    /// The site; `None`: every site together.
    pub site: Option<SiteId>,
    /// When.
    pub at: Timestamp,
    /// The score (`None`: not applicable, "more data is required").
    pub score: Option<f64>,
    /// The posture crate's `Snapshot` as JSON.
    pub snapshot: &'a str,
    /// The posture crate's `ScoreChange` as JSON (`None`: nothing to show, e.g. the first row).
    pub change: Option<&'a str>,
    /// Whether this row ends a drop of the score the console reports.
    pub score_drop: bool,
}

/// One point of a series: when, and the score from then on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScorePoint {
    /// When.
    pub at: Timestamp,
    /// The score (`None`: not applicable).
    pub score: Option<f64>,
}

/// A stored change of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreChangeRow {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// The score after the change.
    pub score: Option<f64>,
    /// The posture crate's `ScoreChange` as JSON.
    pub change: String,
    /// Whether the row ended a drop the console reported.
    pub score_drop: bool,
}

/// A stored snapshot of a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSnapshot {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// The score.
    pub score: Option<f64>,
    /// The posture crate's `Snapshot` as JSON.
    pub snapshot: String,
}

fn check_json(what: &str, text: &str, max: usize) -> Result<()> {
    if text.len() > max {
        return Err(StoreError::Invalid(format!(
            "{what}: {} bytes, at most {max}",
            text.len()
        )));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| StoreError::Invalid(format!("{what}: not JSON: {e}")))?;
    Ok(())
}

fn score_of(r: &AnyRow) -> Result<Option<f64>> {
    Ok(r.try_get::<Option<f64>, _>("score")?)
}

/// Checks that `scope` may read the series of `site` (every site: callers who see every site).
fn readable(scope: &Scope, site: Option<SiteId>) -> Result<()> {
    match site {
        Some(s) if scope.allows(s) => Ok(()),
        None if *scope == Scope::All => Ok(()),
        _ => Err(StoreError::NotFound),
    }
}

impl Store {
    /// Appends a row to its series, keeping at most [`MAX_HISTORY_PER_SERIES`] (see
    /// [`Store::append_score_snapshot_keeping`]). For the console's own job: no scope.
    pub async fn append_score_snapshot(&self, row: &NewScoreSnapshot<'_>) -> Result<i64> {
        self.append_score_snapshot_keeping(row, MAX_HISTORY_PER_SERIES)
            .await
    }

    /// Appends a row to its series and deletes the oldest rows (by time, then id) beyond
    /// `keep` (bounded to 1..=[`MAX_HISTORY_PER_SERIES`]) in the same transaction. Returns the
    /// new row's id. The score must be finite, the JSON within [`MAX_SNAPSHOT_BYTES`] and
    /// [`MAX_CHANGE_BYTES`]; an unknown site is NotFound.
    pub async fn append_score_snapshot_keeping(
        &self,
        row: &NewScoreSnapshot<'_>,
        keep: i64,
    ) -> Result<i64> {
        check_id("initiative", row.initiative)?;
        if row.score.is_some_and(|s| !s.is_finite()) {
            return Err(StoreError::Invalid("score: a finite number".to_owned()));
        }
        check_json("snapshot", row.snapshot, MAX_SNAPSHOT_BYTES)?;
        if let Some(change) = row.change {
            check_json("change", change, MAX_CHANGE_BYTES)?;
        }
        let keep = keep.clamp(1, MAX_HISTORY_PER_SERIES);
        let key = site_key(row.site);
        let mut tx = self.write().await?;
        // The newest snapshot so far loses it when this row is newer and of the same hour.
        let newest = sqlx::query(
            "SELECT id, at FROM posture_history WHERE initiative = $1 AND site_key = $2 \
             AND kept = 1 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(row.initiative)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(newest) = newest {
            let at: i64 = newest.try_get("at")?;
            if at <= row.at.as_nanos() && at.div_euclid(HOUR) == row.at.as_nanos().div_euclid(HOUR)
            {
                sqlx::query("UPDATE posture_history SET snapshot = '', kept = 0 WHERE id = $1")
                    .bind(newest.try_get::<i64, _>("id")?)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // The score goes as a number and a flag: sqlx's Any driver sends a NULL double to
        // PostgreSQL typed as a float4, and the statement, prepared once, then refuses every
        // double after it.
        let id: i64 = sqlx::query(
            "INSERT INTO posture_history (initiative, site_id, site_key, at, score, snapshot, \
             change, score_drop) VALUES ($1, $2, $3, $4, CASE WHEN $9 = 1 THEN $5 ELSE NULL END, \
             $6, $7, $8) RETURNING id",
        )
        .bind(row.initiative)
        .bind(row.site.map(|s| s.0))
        .bind(key)
        .bind(row.at.as_nanos())
        .bind(row.score.unwrap_or(0.0))
        .bind(row.snapshot)
        .bind(row.change)
        .bind(i64::from(row.score_drop))
        .bind(i64::from(row.score.is_some()))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::NotFound,
            other => other,
        })?
        .try_get("id")?;
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM posture_history WHERE initiative = $1 AND site_key = $2",
        )
        .bind(row.initiative)
        .bind(key)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if n > keep {
            sqlx::query(
                "DELETE FROM posture_history WHERE id IN (SELECT id FROM posture_history \
                 WHERE initiative = $1 AND site_key = $2 ORDER BY at, id LIMIT $3)",
            )
            .bind(row.initiative)
            .bind(key)
            .bind(n - keep)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The points of a series from `from` to `to` (inclusive), oldest first, led by the last
    /// point before `from` when there is one (the score in force at `from`): what a trend over
    /// the period needs. At most [`MAX_SCORE_POINTS`] (the newest). A site outside `scope` is
    /// NotFound; the series of every site needs [`Scope::All`].
    pub async fn score_points(
        &self,
        scope: &Scope,
        initiative: &str,
        site: Option<SiteId>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<ScorePoint>> {
        check_id("initiative", initiative)?;
        readable(scope, site)?;
        let key = site_key(site);
        let point = |r: &AnyRow| -> Result<ScorePoint> {
            Ok(ScorePoint {
                at: Timestamp(r.try_get("at")?),
                score: score_of(r)?,
            })
        };
        let before = sqlx::query(
            "SELECT at, score FROM posture_history WHERE initiative = $1 AND site_key = $2 \
             AND at < $3 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(initiative)
        .bind(key)
        .bind(from.as_nanos())
        .fetch_optional(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT at, score FROM posture_history WHERE initiative = $1 AND site_key = $2 \
             AND at >= $3 AND at <= $4 ORDER BY at DESC, id DESC LIMIT $5",
        )
        .bind(initiative)
        .bind(key)
        .bind(from.as_nanos())
        .bind(to.as_nanos())
        .bind(MAX_SCORE_POINTS)
        .fetch_all(&self.pool)
        .await?;
        let mut points = Vec::with_capacity(rows.len() + 1);
        if let Some(r) = &before {
            points.push(point(r)?);
        }
        for r in rows.iter().rev() {
            points.push(point(r)?);
        }
        Ok(points)
    }

    /// The stored changes of a series, newest first, paged (page size bounded to
    /// [`crate::MAX_PAGE`]), with their total. Scope as [`Store::score_points`].
    pub async fn score_changes(
        &self,
        scope: &Scope,
        initiative: &str,
        site: Option<SiteId>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<ScoreChangeRow>> {
        check_id("initiative", initiative)?;
        readable(scope, site)?;
        let key = site_key(site);
        let total: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM posture_history WHERE initiative = $1 AND site_key = $2 \
             AND change IS NOT NULL",
        )
        .bind(initiative)
        .bind(key)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(
            "SELECT id, at, score, change, score_drop FROM posture_history \
             WHERE initiative = $1 AND site_key = $2 AND change IS NOT NULL \
             ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(initiative)
        .bind(key)
        .bind(page_size(limit))
        .bind(offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(ScoreChangeRow {
                    id: r.try_get("id")?,
                    at: Timestamp(r.try_get("at")?),
                    score: score_of(r)?,
                    change: r.try_get("change")?,
                    score_drop: r.try_get::<i64, _>("score_drop")? != 0,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// The newest snapshot of a series (what the next one is compared with). Scope as
    /// [`Store::score_points`].
    pub async fn latest_score_snapshot(
        &self,
        scope: &Scope,
        initiative: &str,
        site: Option<SiteId>,
    ) -> Result<Option<StoredSnapshot>> {
        self.score_snapshot_at(scope, initiative, site, Timestamp(i64::MAX))
            .await
    }

    /// The snapshot in force at `at`, to the hour: the newest kept at or before it (see the
    /// module docs; e.g. 14 days ago, for a metric's drift). Scope as [`Store::score_points`].
    pub async fn score_snapshot_at(
        &self,
        scope: &Scope,
        initiative: &str,
        site: Option<SiteId>,
        at: Timestamp,
    ) -> Result<Option<StoredSnapshot>> {
        check_id("initiative", initiative)?;
        readable(scope, site)?;
        let row = sqlx::query(
            "SELECT id, at, score, snapshot FROM posture_history WHERE initiative = $1 \
             AND site_key = $2 AND at <= $3 AND kept = 1 ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(initiative)
        .bind(site_key(site))
        .bind(at.as_nanos())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredSnapshot {
                id: r.try_get("id")?,
                at: Timestamp(r.try_get("at")?),
                score: score_of(&r)?,
                snapshot: r.try_get("snapshot")?,
            })
        })
        .transpose()
    }
}
