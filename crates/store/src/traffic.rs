//! Reading connections (the device map) and events (what conversations did).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::Row;

use crate::db::Sql;
use crate::ids::page_size;
use crate::{DeviceRef, Page, Result, Scope, SiteId, Store, ZoneId};

/// A connection list request.
#[derive(Debug, Clone)]
pub struct ConnectionQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only connections of this device (as client or server).
    pub device: Option<DeviceRef>,
    /// Only this application protocol.
    pub protocol: Option<String>,
    /// Page size, bounded to 1..=[`crate::MAX_PAGE`].
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl ConnectionQuery {
    /// Every connection in `scope`, first page of 100.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            site: None,
            device: None,
            protocol: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// A stored connection: totals over every batch that reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionRecord {
    /// Row id.
    pub id: i64,
    /// Site.
    pub site_id: SiteId,
    /// Zone.
    pub zone_id: ZoneId,
    /// Client device key, when known.
    pub a: Option<String>,
    /// Server device key, when known.
    pub b: Option<String>,
    /// Client address.
    pub a_ip: String,
    /// Server (or group) address.
    pub b_ip: String,
    /// Transport.
    pub transport: String,
    /// Server port.
    pub port: Option<u16>,
    /// Application protocol.
    pub protocol: Option<String>,
    /// Packets, summed.
    pub packets: i64,
    /// Bytes, summed.
    pub bytes: i64,
    /// Flows, summed.
    pub flows: i64,
    /// Earliest packet.
    pub first_seen: Timestamp,
    /// Latest packet.
    pub last_seen: Timestamp,
}

/// An event list request.
#[derive(Debug, Clone)]
pub struct EventQuery {
    /// What the caller may see.
    pub scope: Scope,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only events of this device (as source or destination).
    pub device: Option<DeviceRef>,
    /// Only this protocol.
    pub protocol: Option<String>,
    /// Only this category (`write`, `program_download`, ...).
    pub category: Option<String>,
    /// Only events last seen at or after this time.
    pub since: Option<Timestamp>,
    /// Page size, bounded to 1..=[`crate::MAX_PAGE`].
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

impl EventQuery {
    /// Every event in `scope`, most recent first, first page of 100.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            site: None,
            device: None,
            protocol: None,
            category: None,
            since: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// A stored event: one operation between two endpoints, counted over every batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// Row id.
    pub id: i64,
    /// Site.
    pub site_id: SiteId,
    /// Zone.
    pub zone_id: ZoneId,
    /// Source device key, when known.
    pub src_device: Option<String>,
    /// Destination device key, when known.
    pub dst_device: Option<String>,
    /// Source address (IP, or MAC for layer-2 protocols; empty when unknown).
    pub src_addr: String,
    /// Destination address.
    pub dst_addr: String,
    /// Protocol.
    pub protocol: String,
    /// Category (`read`, `write`, ...).
    pub category: String,
    /// Operation.
    pub operation: String,
    /// Detail.
    pub detail: String,
    /// SHA-256 of transferred content, when any.
    pub content_hash: Option<String>,
    /// Times it happened, summed.
    pub count: i64,
    /// First time.
    pub first_seen: Timestamp,
    /// Last time.
    pub last_seen: Timestamp,
}

impl Store {
    /// A page of connections, most recent first.
    pub async fn list_connections(&self, q: &ConnectionQuery) -> Result<Page<ConnectionRecord>> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        q.scope.filter(&mut filter, "site_id");
        if let Some(site) = q.site {
            filter.push(" AND site_id = ").bind(site.0);
        }
        if let Some(device) = q.device {
            let (zone, key) = self.device_key(&q.scope, device).await?;
            filter.push(" AND zone_id = ").bind(zone);
            filter.push(" AND (a_device = ").bind(key.clone());
            filter.push(" OR b_device = ").bind(key).push(")");
        }
        if let Some(p) = &q.protocol {
            filter.push(" AND protocol = ").bind(p.as_str());
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM connections");
        count.append(&filter);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(
            "SELECT id, site_id, zone_id, a_device, b_device, a_ip, b_ip, transport, port, \
             protocol, packets, bytes, flows, first_seen, last_seen FROM connections",
        );
        sql.append(&filter);
        sql.push(" ORDER BY last_seen DESC, id DESC LIMIT ")
            .bind(page_size(q.limit))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                let protocol: String = r.try_get("protocol")?;
                Ok(ConnectionRecord {
                    id: r.try_get("id")?,
                    site_id: SiteId(r.try_get("site_id")?),
                    zone_id: ZoneId(r.try_get("zone_id")?),
                    a: r.try_get("a_device")?,
                    b: r.try_get("b_device")?,
                    a_ip: r.try_get("a_ip")?,
                    b_ip: r.try_get("b_ip")?,
                    transport: r.try_get("transport")?,
                    port: u16::try_from(r.try_get::<i64, _>("port")?).ok(),
                    protocol: (!protocol.is_empty()).then_some(protocol),
                    packets: r.try_get("packets")?,
                    bytes: r.try_get("bytes")?,
                    flows: r.try_get("flows")?,
                    first_seen: Timestamp(r.try_get("first_seen")?),
                    last_seen: Timestamp(r.try_get("last_seen")?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// A page of events, most recent first.
    pub async fn list_events(&self, q: &EventQuery) -> Result<Page<EventRecord>> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        q.scope.filter(&mut filter, "site_id");
        if let Some(site) = q.site {
            filter.push(" AND site_id = ").bind(site.0);
        }
        if let Some(device) = q.device {
            let (zone, key) = self.device_key(&q.scope, device).await?;
            filter.push(" AND zone_id = ").bind(zone);
            filter.push(" AND (src_device = ").bind(key.clone());
            filter.push(" OR dst_device = ").bind(key).push(")");
        }
        if let Some(p) = &q.protocol {
            filter.push(" AND protocol = ").bind(p.as_str());
        }
        if let Some(c) = &q.category {
            filter.push(" AND category = ").bind(c.as_str());
        }
        if let Some(t) = q.since {
            filter.push(" AND last_seen >= ").bind(t.as_nanos());
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM events");
        count.append(&filter);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(
            "SELECT id, site_id, zone_id, src_device, dst_device, src_addr, dst_addr, protocol, \
             category, operation, detail, content_hash, count, first_seen, last_seen FROM events",
        );
        sql.append(&filter);
        sql.push(" ORDER BY last_seen DESC, id DESC LIMIT ")
            .bind(page_size(q.limit))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(EventRecord {
                    id: r.try_get("id")?,
                    site_id: SiteId(r.try_get("site_id")?),
                    zone_id: ZoneId(r.try_get("zone_id")?),
                    src_device: r.try_get("src_device")?,
                    dst_device: r.try_get("dst_device")?,
                    src_addr: r.try_get("src_addr")?,
                    dst_addr: r.try_get("dst_addr")?,
                    protocol: r.try_get("protocol")?,
                    category: r.try_get("category")?,
                    operation: r.try_get("operation")?,
                    detail: r.try_get("detail")?,
                    content_hash: r.try_get("content_hash")?,
                    count: r.try_get("count")?,
                    first_seen: Timestamp(r.try_get("first_seen")?),
                    last_seen: Timestamp(r.try_get("last_seen")?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }
}
