//! Reading the inventory: filtered, sorted, paged device lists and device details.

use ironward_model::{Device, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{like_escape, Sql};
use crate::{DeviceRef, Page, Result, Scope, SensorId, SiteId, Store, StoreError, ZoneId};

/// How a device list is ordered (ties are broken by the row id, so paging is stable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSort {
    /// Display name: the first hostname, else the first address, else the MAC.
    Name,
    /// First IP address, numerically (IPv4 before IPv6, none last).
    Ip,
    /// Vendor.
    Vendor,
    /// Device type.
    Type,
    /// Model.
    Model,
    /// Firmware.
    Firmware,
    /// Last seen (the default, usually descending).
    #[default]
    LastSeen,
    /// First seen.
    FirstSeen,
    /// Site name.
    Site,
}

impl DeviceSort {
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Name => "d.name",
            Self::Ip => "d.ip_sort",
            Self::Vendor => "d.vendor",
            Self::Type => "d.device_type",
            Self::Model => "d.model",
            Self::Firmware => "d.firmware",
            Self::LastSeen => "d.last_seen",
            Self::FirstSeen => "d.first_seen",
            Self::Site => "s.name",
        }
    }
}

/// A device list request. `Default` lists everything in no scope: set `scope`.
#[derive(Debug, Clone)]
pub struct DeviceQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only this zone.
    pub zone: Option<ZoneId>,
    /// Only this device type (exact).
    pub device_type: Option<String>,
    /// Only this vendor (exact).
    pub vendor: Option<String>,
    /// Only devices speaking this protocol (as client or server).
    pub protocol: Option<String>,
    /// Only devices seen at or after this time.
    pub seen_since: Option<Timestamp>,
    /// Free text, matched case-insensitively anywhere in the id, names, addresses, MAC,
    /// vendor, type, role, model, firmware, serial, OS and protocols.
    pub text: Option<String>,
    /// Order.
    pub sort: DeviceSort,
    /// Reverse order.
    pub descending: bool,
    /// Page size, bounded to 1..=[`crate::MAX_PAGE`].
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl DeviceQuery {
    /// Every device in `scope`, most recently seen first, first page of 100.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            site: None,
            zone: None,
            device_type: None,
            vendor: None,
            protocol: None,
            seen_since: None,
            text: None,
            sort: DeviceSort::LastSeen,
            descending: true,
            limit: 100,
            offset: 0,
        }
    }
}

/// A device as listed: the model's device plus where it lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceRow {
    /// The store's id for this device row.
    pub id: DeviceRef,
    /// Its site.
    pub site_id: SiteId,
    /// The site's name.
    pub site: String,
    /// Its zone.
    pub zone_id: ZoneId,
    /// The zone's name.
    pub zone: String,
    /// The sensor that last saw it (`None` once that sensor is removed).
    pub sensor_id: Option<SensorId>,
    /// That sensor's name.
    pub sensor: Option<String>,
    /// The device, merged from every sensor of its zone.
    pub device: Device,
}

/// A stored fact with its own first and last sighting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactRecord {
    /// Attribute name.
    pub attribute: String,
    /// Value.
    pub value: String,
    /// Source name.
    pub source: String,
    /// 0–100, the highest reported.
    pub confidence: u8,
    /// Whether it decided the device's value, as last reported.
    pub selected: bool,
    /// Why it holds, for derived facts.
    pub evidence: Option<String>,
    /// First reported.
    pub first_seen: Timestamp,
    /// Last reported.
    pub last_seen: Timestamp,
}

/// A change of an identity value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRecord {
    /// Attribute (`vendor`, `firmware`, `ip`, `hostname`, ...).
    pub attribute: String,
    /// The value before (`None`: it appeared).
    pub old_value: Option<String>,
    /// The value after.
    pub new_value: Option<String>,
    /// When the change was seen.
    pub at: Timestamp,
    /// The sensor that saw it.
    pub sensor_id: Option<SensorId>,
}

/// A device with its facts and its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceDetail {
    /// The device.
    pub row: DeviceRow,
    /// Its facts, by attribute, value and source.
    pub facts: Vec<FactRecord>,
    /// Its history, oldest first.
    pub history: Vec<HistoryRecord>,
}

pub(crate) const ROW_COLUMNS: &str = "d.id, d.site_id, s.name AS site, d.zone_id, z.name AS zone, \
     d.sensor_id, se.name AS sensor, d.data \
     FROM devices d JOIN sites s ON s.id = d.site_id JOIN zones z ON z.id = d.zone_id \
     LEFT JOIN sensors se ON se.id = d.sensor_id";

pub(crate) fn device_row(row: &AnyRow) -> Result<DeviceRow> {
    let id = DeviceRef(row.try_get("id")?);
    let data: String = row.try_get("data")?;
    let device: Device = serde_json::from_str(&data)
        .map_err(|e| StoreError::Corrupt(format!("device row {id}: {e}")))?;
    Ok(DeviceRow {
        id,
        site_id: SiteId(row.try_get("site_id")?),
        site: row.try_get("site")?,
        zone_id: ZoneId(row.try_get("zone_id")?),
        zone: row.try_get("zone")?,
        sensor_id: row.try_get::<Option<i64>, _>("sensor_id")?.map(SensorId),
        sensor: row.try_get("sensor")?,
        device,
    })
}

pub(crate) fn device_filters(sql: &mut Sql, q: &DeviceQuery) {
    q.scope.filter(sql, "d.site_id");
    if let Some(site) = q.site {
        sql.push(" AND d.site_id = ").bind(site.0);
    }
    if let Some(zone) = q.zone {
        sql.push(" AND d.zone_id = ").bind(zone.0);
    }
    if let Some(t) = &q.device_type {
        sql.push(" AND d.device_type = ").bind(t.as_str());
    }
    if let Some(v) = &q.vendor {
        sql.push(" AND d.vendor = ").bind(v.as_str());
    }
    if let Some(p) = &q.protocol {
        sql.push(" AND d.protocols LIKE ")
            .bind(format!("%,{},%", like_escape(&p.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
    if let Some(t) = q.seen_since {
        sql.push(" AND d.last_seen >= ").bind(t.as_nanos());
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        sql.push(" AND d.search LIKE ")
            .bind(format!("%{}%", like_escape(&text.to_lowercase())))
            .push(" ESCAPE '\\'");
    }
}

impl Store {
    /// A page of devices matching `q`, with the total over all pages. Read in two steps, as
    /// [`Store::inventory_page`] reads it: at 100,000 devices, sorting whole rows (each with
    /// its JSON) to return 100 took 0.3 s for the first page and over 1 s at offset 50,000 on
    /// SQLite (the API list and the CSV export use this).
    pub async fn list_devices(&self, q: &DeviceQuery) -> Result<Page<DeviceRow>> {
        self.inventory_page(q).await
    }

    /// One device with its facts and history, if its site is in `scope`.
    pub async fn get_device(&self, scope: &Scope, id: DeviceRef) -> Result<DeviceDetail> {
        let mut sql = Sql::new(&format!("SELECT {ROW_COLUMNS} WHERE d.id = "));
        sql.bind(id.0);
        scope.filter(&mut sql, "d.site_id");
        let row = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let row = device_row(&row)?;
        let facts = sqlx::query(
            "SELECT attribute, value, source, confidence, selected, evidence, first_seen, \
             last_seen FROM device_facts WHERE device_id = $1 ORDER BY attribute, value, source",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(FactRecord {
                attribute: r.try_get("attribute")?,
                value: r.try_get("value")?,
                source: r.try_get("source")?,
                confidence: u8::try_from(r.try_get::<i64, _>("confidence")?).unwrap_or(0),
                selected: r.try_get::<i64, _>("selected")? != 0,
                evidence: r.try_get("evidence")?,
                first_seen: Timestamp(r.try_get("first_seen")?),
                last_seen: Timestamp(r.try_get("last_seen")?),
            })
        })
        .collect::<Result<_>>()?;
        let history = sqlx::query(
            "SELECT attribute, old_value, new_value, at, sensor_id FROM device_history \
             WHERE device_id = $1 ORDER BY at, id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryRecord {
                attribute: r.try_get("attribute")?,
                old_value: r.try_get("old_value")?,
                new_value: r.try_get("new_value")?,
                at: Timestamp(r.try_get("at")?),
                sensor_id: r.try_get::<Option<i64>, _>("sensor_id")?.map(SensorId),
            })
        })
        .collect::<Result<_>>()?;
        Ok(DeviceDetail {
            row,
            facts,
            history,
        })
    }

    /// The zone and key of a device row in `scope` (for connection and event filters).
    pub(crate) async fn device_key(&self, scope: &Scope, id: DeviceRef) -> Result<(i64, String)> {
        let mut sql = Sql::new("SELECT zone_id, device_key FROM devices d WHERE d.id = ");
        sql.bind(id.0);
        scope.filter(&mut sql, "d.site_id");
        let row = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("zone_id")?, row.try_get("device_key")?))
    }
}
