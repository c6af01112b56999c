//! Sensors: one-time enrolment tokens, credentials, health.

use ironward_model::{SensorHealth, Timestamp};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{counter, Sql};
use crate::secret::{hash_secret, new_secret};
use crate::sites::check_name;
use crate::{Result, Scope, SensorId, SiteId, Store, StoreError, UserId, ZoneId};

/// An enrolled sensor, with its latest health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorRecord {
    /// Its id.
    pub id: SensorId,
    /// The site it reports for.
    pub site_id: SiteId,
    /// The site's name.
    pub site: String,
    /// The zone it reports for.
    pub zone_id: ZoneId,
    /// The zone's name.
    pub zone: String,
    /// Name, unique within the zone.
    pub name: String,
    /// When it enrolled.
    pub enrolled_at: Timestamp,
    /// When it last delivered a batch or health report (`None`: never). Callers call a sensor
    /// "offline" when this is older than they like.
    pub last_seen: Option<Timestamp>,
    /// Latest health report, if any.
    pub health: Option<SensorHealth>,
}

const SENSOR_COLUMNS: &str = "se.id, se.site_id, s.name AS site, se.zone_id, z.name AS zone, \
     se.name, se.enrolled_at, se.last_seen, se.version, se.source, se.health_at, se.packets, \
     se.bytes, se.packets_per_second, se.drops \
     FROM sensors se JOIN sites s ON s.id = se.site_id JOIN zones z ON z.id = se.zone_id";

fn sensor(row: &AnyRow) -> Result<SensorRecord> {
    let health_at: Option<i64> = row.try_get("health_at")?;
    let health = match health_at {
        Some(at) => Some(SensorHealth {
            at: Timestamp(at),
            version: row
                .try_get::<Option<String>, _>("version")?
                .unwrap_or_default(),
            source: row
                .try_get::<Option<String>, _>("source")?
                .unwrap_or_default(),
            packets: u64::try_from(row.try_get::<i64, _>("packets")?).unwrap_or(0),
            bytes: u64::try_from(row.try_get::<i64, _>("bytes")?).unwrap_or(0),
            packets_per_second: row.try_get("packets_per_second")?,
            drops: u64::try_from(row.try_get::<i64, _>("drops")?).unwrap_or(0),
        }),
        None => None,
    };
    Ok(SensorRecord {
        id: SensorId(row.try_get("id")?),
        site_id: SiteId(row.try_get("site_id")?),
        site: row.try_get("site")?,
        zone_id: ZoneId(row.try_get("zone_id")?),
        zone: row.try_get("zone")?,
        name: row.try_get("name")?,
        enrolled_at: Timestamp(row.try_get("enrolled_at")?),
        last_seen: row.try_get::<Option<i64>, _>("last_seen")?.map(Timestamp),
        health,
    })
}

impl Store {
    /// Creates a one-time enrolment token for a sensor called `sensor_name` in `zone` (whose
    /// site must be in `scope`; the zone names its site), valid until `expires_at`. Returns the token's text, which is shown
    /// once: only its SHA-256 is stored.
    pub async fn create_enrollment_token(
        &self,
        scope: &Scope,
        zone: ZoneId,
        sensor_name: &str,
        expires_at: Timestamp,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<String> {
        check_name("sensor", sensor_name)?;
        let site = self.get_zone(scope, zone).await?.site_id;
        let token = new_secret()?;
        sqlx::query(
            "INSERT INTO enrollment_tokens (token_hash, site_id, zone_id, sensor_name, \
             created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash_secret(&token))
        .bind(site.0)
        .bind(zone.0)
        .bind(sensor_name)
        .bind(created_by.map(|u| u.0))
        .bind(now.as_nanos())
        .bind(expires_at.as_nanos())
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Enrols a sensor with a token: consumes the token (atomically: of two concurrent uses
    /// one wins), creates the sensor and returns it with its credential, shown once.
    /// An unknown, used or expired token is [`StoreError::Unauthorized`].
    pub async fn enroll(&self, token: &str, now: Timestamp) -> Result<(SensorRecord, String)> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "UPDATE enrollment_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING id, site_id, zone_id, sensor_name",
        )
        .bind(now.as_nanos())
        .bind(hash_secret(token))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::Unauthorized)?;
        let token_id: i64 = row.try_get("id")?;
        let credential = new_secret()?;
        let sensor_id: i64 = sqlx::query(
            "INSERT INTO sensors (site_id, zone_id, name, credential_hash, enrolled_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(row.try_get::<i64, _>("site_id")?)
        .bind(row.try_get::<i64, _>("zone_id")?)
        .bind(row.try_get::<String, _>("sensor_name")?)
        .bind(hash_secret(&credential))
        .bind(now.as_nanos())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query("UPDATE enrollment_tokens SET sensor_id = $1 WHERE id = $2")
            .bind(sensor_id)
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let sensor = self.get_sensor(&Scope::All, SensorId(sensor_id)).await?;
        Ok((sensor, credential))
    }

    /// The sensor a credential belongs to; an unknown credential is
    /// [`StoreError::Unauthorized`].
    pub async fn authenticate_sensor(&self, credential: &str) -> Result<SensorRecord> {
        let row = sqlx::query(&format!(
            "SELECT {SENSOR_COLUMNS} WHERE se.credential_hash = $1"
        ))
        .bind(hash_secret(credential))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::Unauthorized)?;
        sensor(&row)
    }

    /// Records a sensor's health report and marks it seen at `now`.
    pub async fn record_sensor_health(
        &self,
        id: SensorId,
        health: &SensorHealth,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        update_health(&mut tx, id, Some(health), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The sensors in `scope`, by site, zone and name.
    pub async fn list_sensors(&self, scope: &Scope) -> Result<Vec<SensorRecord>> {
        let mut sql = Sql::new(&format!("SELECT {SENSOR_COLUMNS} WHERE 1 = 1"));
        scope.filter(&mut sql, "se.site_id");
        sql.push(" ORDER BY s.name, z.name, se.name");
        let rows = sql.query().fetch_all(&self.pool).await?;
        rows.iter().map(sensor).collect()
    }

    /// One sensor, if its site is in `scope`.
    pub async fn get_sensor(&self, scope: &Scope, id: SensorId) -> Result<SensorRecord> {
        let mut sql = Sql::new(&format!("SELECT {SENSOR_COLUMNS} WHERE se.id = "));
        sql.bind(id.0);
        scope.filter(&mut sql, "se.site_id");
        let row = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        sensor(&row)
    }

    /// Removes a sensor (its credential stops working; the devices it saw stay).
    pub async fn delete_sensor(&self, scope: &Scope, id: SensorId) -> Result<()> {
        self.get_sensor(scope, id).await?;
        sqlx::query("DELETE FROM sensors WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Marks the sensor seen at `now` and stores its health report, inside `tx`.
pub(crate) async fn update_health(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: SensorId,
    health: Option<&SensorHealth>,
    now: Timestamp,
) -> Result<()> {
    let done = match health {
        Some(h) => {
            let pps = if h.packets_per_second.is_finite() && h.packets_per_second >= 0.0 {
                h.packets_per_second
            } else {
                0.0
            };
            sqlx::query(
                "UPDATE sensors SET last_seen = $1, version = $2, source = $3, health_at = $4, \
                 packets = $5, bytes = $6, packets_per_second = $7, drops = $8 WHERE id = $9",
            )
            .bind(now.as_nanos())
            .bind(h.version.as_str())
            .bind(h.source.as_str())
            .bind(h.at.as_nanos())
            .bind(counter(h.packets))
            .bind(counter(h.bytes))
            .bind(pps)
            .bind(counter(h.drops))
            .bind(id.0)
            .execute(&mut **tx)
            .await?
        }
        None => {
            sqlx::query("UPDATE sensors SET last_seen = $1 WHERE id = $2")
                .bind(now.as_nanos())
                .bind(id.0)
                .execute(&mut **tx)
                .await?
        }
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
