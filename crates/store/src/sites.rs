//! Sites and the zones inside them.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Sql;
use crate::{Result, Scope, SensorId, SiteId, Store, StoreError, ZoneId};

/// Longest site or zone name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// A site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Its id.
    pub id: SiteId,
    /// Unique name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A zone of a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// Its id.
    pub id: ZoneId,
    /// The site it belongs to.
    pub site_id: SiteId,
    /// Name, unique within the site.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

pub(crate) fn check_name(what: &str, name: &str) -> Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() != name.len() {
        return Err(StoreError::Invalid(format!(
            "{what} name must be non-empty without surrounding spaces"
        )));
    }
    if name.len() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} name must be at most {MAX_NAME_LEN} bytes of printable text"
        )));
    }
    Ok(())
}

fn site(row: &AnyRow) -> Result<Site> {
    Ok(Site {
        id: SiteId(row.try_get("id")?),
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn zone(row: &AnyRow) -> Result<Zone> {
    Ok(Zone {
        id: ZoneId(row.try_get("id")?),
        site_id: SiteId(row.try_get("site_id")?),
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

impl Store {
    /// Creates a site; a duplicate name is [`StoreError::Conflict`].
    pub async fn create_site(&self, name: &str, now: Timestamp) -> Result<Site> {
        check_name("site", name)?;
        let row = sqlx::query(
            "INSERT INTO sites (name, created_at) VALUES ($1, $2) \
             RETURNING id, name, created_at",
        )
        .bind(name)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        site(&row)
    }

    /// The sites in `scope`, by name.
    pub async fn list_sites(&self, scope: &Scope) -> Result<Vec<Site>> {
        let mut sql = Sql::new("SELECT id, name, created_at FROM sites WHERE 1 = 1");
        scope.filter(&mut sql, "id");
        sql.push(" ORDER BY name");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(site).collect()
    }

    /// One site, if it is in `scope`.
    pub async fn get_site(&self, scope: &Scope, id: SiteId) -> Result<Site> {
        if !scope.allows(id) {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query("SELECT id, name, created_at FROM sites WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        site(&row)
    }

    /// Renames a site in `scope`.
    pub async fn rename_site(&self, scope: &Scope, id: SiteId, name: &str) -> Result<Site> {
        check_name("site", name)?;
        if !scope.allows(id) {
            return Err(StoreError::NotFound);
        }
        let row =
            sqlx::query("UPDATE sites SET name = $1 WHERE id = $2 RETURNING id, name, created_at")
                .bind(name)
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
        site(&row)
    }

    /// Deletes a site with its zones, devices, connections, events and alerts. Refused
    /// ([`StoreError::Conflict`]) while sensors are enrolled in it or a user's scope names it.
    pub async fn delete_site(&self, scope: &Scope, id: SiteId) -> Result<()> {
        if !scope.allows(id) {
            return Err(StoreError::NotFound);
        }
        let mut tx = self.write().await?;
        let sensors: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sensors WHERE site_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if sensors > 0 {
            return Err(StoreError::Conflict(format!(
                "the site has {sensors} sensor(s); remove them first"
            )));
        }
        let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM user_sites WHERE site_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if users > 0 {
            return Err(StoreError::Conflict(format!(
                "{users} user(s) are restricted to this site; change their scope first"
            )));
        }
        let done = sqlx::query("DELETE FROM sites WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a zone in a site of `scope`; a duplicate name in the site is a conflict.
    pub async fn create_zone(
        &self,
        scope: &Scope,
        site_id: SiteId,
        name: &str,
        now: Timestamp,
    ) -> Result<Zone> {
        check_name("zone", name)?;
        self.get_site(scope, site_id).await?;
        let row = sqlx::query(
            "INSERT INTO zones (site_id, name, created_at) VALUES ($1, $2, $3) \
             RETURNING id, site_id, name, created_at",
        )
        .bind(site_id.0)
        .bind(name)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        zone(&row)
    }

    /// The zones in `scope` (of one site when `site` is given), by site and name.
    pub async fn list_zones(&self, scope: &Scope, site: Option<SiteId>) -> Result<Vec<Zone>> {
        let mut sql = Sql::new("SELECT id, site_id, name, created_at FROM zones WHERE 1 = 1");
        scope.filter(&mut sql, "site_id");
        if let Some(site) = site {
            sql.push(" AND site_id = ").bind(site.0);
        }
        sql.push(" ORDER BY site_id, name");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(zone).collect()
    }

    /// One zone, if its site is in `scope`.
    pub async fn get_zone(&self, scope: &Scope, id: ZoneId) -> Result<Zone> {
        let row = sqlx::query("SELECT id, site_id, name, created_at FROM zones WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let z = zone(&row)?;
        if !scope.allows(z.site_id) {
            return Err(StoreError::NotFound);
        }
        Ok(z)
    }

    /// Renames a zone in `scope`.
    pub async fn rename_zone(&self, scope: &Scope, id: ZoneId, name: &str) -> Result<Zone> {
        check_name("zone", name)?;
        self.get_zone(scope, id).await?;
        let row = sqlx::query(
            "UPDATE zones SET name = $1 WHERE id = $2 RETURNING id, site_id, name, created_at",
        )
        .bind(name)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        zone(&row)
    }

    /// Deletes a zone with its devices, connections and events; refused while sensors are
    /// enrolled in it.
    pub async fn delete_zone(&self, scope: &Scope, id: ZoneId) -> Result<()> {
        self.get_zone(scope, id).await?;
        let mut tx = self.write().await?;
        let sensors: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sensors WHERE zone_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if sensors > 0 {
            return Err(StoreError::Conflict(format!(
                "the zone has {sensors} sensor(s); remove them first"
            )));
        }
        sqlx::query("DELETE FROM zones WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A site's learning mode and the version of its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SiteLearning {
    /// The site.
    pub site_id: SiteId,
    /// Learning until then; `None`: the site never learned (policy alerts are not turned into
    /// baseline entries).
    pub until: Option<Timestamp>,
    /// Policy alerts turned into baseline entries while the site learned.
    pub learned: i64,
    /// Grows with every change to the site's baseline entries (sensors fetch them again).
    pub baseline_version: i64,
}

impl SiteLearning {
    /// Whether the site learns at `now`.
    pub fn is_learning(&self, now: Timestamp) -> bool {
        self.until.is_some_and(|until| now < until)
    }
}

fn learning(row: &AnyRow) -> Result<SiteLearning> {
    Ok(SiteLearning {
        site_id: SiteId(row.try_get("id")?),
        until: row
            .try_get::<Option<i64>, _>("learning_until")?
            .map(Timestamp),
        learned: row.try_get("learned")?,
        baseline_version: row.try_get("baseline_version")?,
    })
}

const LEARNING_COLUMNS: &str = "id, learning_until, learned, baseline_version";

impl Store {
    /// Creates a site that learns until `learning_until` (`None`: no learning); a duplicate
    /// name is [`StoreError::Conflict`].
    pub async fn create_site_learning(
        &self,
        name: &str,
        now: Timestamp,
        learning_until: Option<Timestamp>,
    ) -> Result<Site> {
        check_name("site", name)?;
        let row = sqlx::query(
            "INSERT INTO sites (name, created_at, learning_until) VALUES ($1, $2, $3) \
             RETURNING id, name, created_at",
        )
        .bind(name)
        .bind(now.as_nanos())
        .bind(learning_until.map(Timestamp::as_nanos))
        .fetch_one(&self.pool)
        .await?;
        site(&row)
    }

    /// The learning state of a site of `scope`.
    pub async fn site_learning(&self, scope: &Scope, id: SiteId) -> Result<SiteLearning> {
        if !scope.allows(id) {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query(&format!(
            "SELECT {LEARNING_COLUMNS} FROM sites WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        learning(&row)
    }

    /// The learning state of every site of `scope`.
    pub async fn list_site_learning(&self, scope: &Scope) -> Result<Vec<SiteLearning>> {
        let mut sql = Sql::new(&format!("SELECT {LEARNING_COLUMNS} FROM sites WHERE 1 = 1"));
        scope.filter(&mut sql, "id");
        sql.push(" ORDER BY id");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(learning).collect()
    }

    /// The learning state of the site a sensor reports for (what its ingest answers carry).
    pub async fn sensor_site_learning(&self, sensor: SensorId) -> Result<SiteLearning> {
        let row = sqlx::query(&format!(
            "SELECT {LEARNING_COLUMNS} FROM sites WHERE id = \
             (SELECT site_id FROM sensors WHERE id = $1)"
        ))
        .bind(sensor.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        learning(&row)
    }

    /// Sets until when a site of `scope` learns: a time in the future starts (or extends)
    /// learning, `now` or earlier ends it. Ending keeps the time, so that sensors know the site
    /// learned and its policy engine compares with the baseline from then on.
    pub async fn set_site_learning(
        &self,
        scope: &Scope,
        id: SiteId,
        until: Timestamp,
    ) -> Result<SiteLearning> {
        if !scope.allows(id) {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query(&format!(
            "UPDATE sites SET learning_until = $1 WHERE id = $2 RETURNING {LEARNING_COLUMNS}"
        ))
        .bind(until.as_nanos())
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        learning(&row)
    }
}
