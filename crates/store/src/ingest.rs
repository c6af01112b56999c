//! Ingest: one sensor batch, committed whole or not at all.
//!
//! The merge rules, which make "the same device seen by two sensors of a zone" one device:
//! - single values (vendor, type, role, model, firmware, serial, OS, state, MAC, Purdue level):
//!   the incoming value wins where present, the stored one stays where the incoming is absent;
//! - lists (addresses, names, protocols, services, findings): unioned, sorted;
//! - facts: unioned by (attribute, value, source), keeping the highest confidence and widening
//!   first/last seen, bounded by [`MAX_FACTS_PER_DEVICE`];
//! - first seen is the earliest, last seen the latest;
//! - every identity value that appears or changes leaves a `device_history` row.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ironward_model::{Batch, Device, ReportedFact, Timestamp};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::db::{counter, flag, saturating_add, widen};
use crate::secret::key_of;
use crate::sensors::update_health;
use crate::{Result, SensorId, Store, StoreError};

/// Most facts the store keeps for one device; further new facts are dropped (a device that
/// keeps producing new facts is either broken or hostile).
pub const MAX_FACTS_PER_DEVICE: usize = 4_096;

/// What a committed batch changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestCounts {
    /// Devices seen for the first time in their zone.
    pub devices_created: u64,
    /// Devices already known that the batch updated.
    pub devices_updated: u64,
    /// Facts written (new or refreshed).
    pub facts: u64,
    /// History rows written.
    pub history: u64,
    /// Connections written (new or added to).
    pub connections: u64,
    /// Events written (new or added to).
    pub events: u64,
    /// Alerts written (new or aggregated into a stored one).
    pub alerts: u64,
    /// Alerts suppressed by an exclusion rule or a learned baseline entry (not stored).
    pub alerts_suppressed: u64,
    /// Policy alerts turned into baseline entries because their site was learning.
    pub alerts_learned: u64,
}

/// The result of [`Store::ingest_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IngestOutcome {
    /// The batch was committed.
    Committed(IngestCounts),
    /// The sensor had already delivered a batch with this id; nothing was written.
    Duplicate,
}

impl Store {
    /// Validates and commits a sensor's batch in one transaction (see the module docs for the
    /// merge rules). A batch id the sensor already delivered is [`IngestOutcome::Duplicate`]
    /// and writes nothing; any error rolls everything back.
    pub async fn ingest_batch(
        &self,
        sensor: SensorId,
        batch: &Batch,
        now: Timestamp,
    ) -> Result<IngestOutcome> {
        batch.validate()?;
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT site_id, zone_id FROM sensors WHERE id = $1")
            .bind(sensor.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let site: i64 = row.try_get("site_id")?;
        let zone: i64 = row.try_get("zone_id")?;
        let fresh = sqlx::query(
            "INSERT INTO ingested_batches (sensor_id, batch_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (sensor_id, batch_id) DO NOTHING RETURNING sensor_id",
        )
        .bind(sensor.0)
        .bind(batch.id.as_str())
        .bind(now.as_nanos())
        .fetch_optional(&mut *tx)
        .await?;
        if fresh.is_none() {
            return Ok(IngestOutcome::Duplicate);
        }
        let mut counts = IngestCounts::default();
        let ctx = Ctx {
            site,
            zone,
            sensor: sensor.0,
        };
        for device in &batch.devices {
            upsert_device(&mut tx, &ctx, device, &mut counts).await?;
        }
        upsert_connections(&mut tx, &ctx, batch, &mut counts).await?;
        upsert_events(&mut tx, &ctx, batch, &mut counts).await?;
        crate::alert_ingest::ingest_alerts(&mut tx, site, zone, sensor.0, batch, now, &mut counts)
            .await?;
        crate::alert_captures::ingest_captures(&mut tx, site, sensor.0, batch, now).await?;
        update_health(&mut tx, sensor, batch.health.as_ref(), now).await?;
        tx.commit().await?;
        Ok(IngestOutcome::Committed(counts))
    }
}

struct Ctx {
    site: i64,
    zone: i64,
    sensor: i64,
}

/// The columns derived from a device for filters, sorts and search.
pub(crate) struct DeviceColumns {
    pub(crate) name: String,
    pub(crate) hostname: Option<String>,
    pub(crate) ips: String,
    pub(crate) ip_sort: String,
    pub(crate) mac: Option<String>,
    pub(crate) protocols: String,
    pub(crate) search: String,
}

/// A sort key that orders addresses numerically: `4:0a000001`, `6:<32 hex digits>`; devices
/// without an address sort last (`~`).
fn ip_sort(ip: Option<&IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => format!("4:{:08x}", u32::from(*v4)),
        Some(IpAddr::V6(v6)) => format!("6:{:032x}", u128::from(*v6)),
        None => "~".to_owned(),
    }
}

pub(crate) fn columns(d: &Device) -> DeviceColumns {
    let mac = d.mac.map(|m| m.to_string());
    let ips: Vec<String> = d.ips.iter().map(IpAddr::to_string).collect();
    let name = d
        .hostnames
        .first()
        .cloned()
        .or_else(|| ips.first().cloned())
        .or_else(|| mac.clone())
        .unwrap_or_else(|| d.id.0.clone());
    let protocols: BTreeSet<&str> = d
        .protocols
        .client
        .iter()
        .chain(&d.protocols.server)
        .map(String::as_str)
        .collect();
    let protocols_text = if protocols.is_empty() {
        ",".to_owned()
    } else {
        format!(
            ",{},",
            protocols.iter().copied().collect::<Vec<_>>().join(",")
        )
    };
    let mut search = vec![d.id.0.clone()];
    search.extend(d.hostnames.iter().cloned());
    search.extend(ips.iter().cloned());
    search.extend(mac.iter().cloned());
    for v in [
        &d.vendor,
        &d.device_type,
        &d.role,
        &d.model,
        &d.firmware,
        &d.serial,
        &d.os,
    ]
    .into_iter()
    .flatten()
    {
        search.push(v.clone());
    }
    search.extend(protocols.iter().map(|p| (*p).to_owned()));
    DeviceColumns {
        name,
        hostname: d.hostnames.first().cloned(),
        ips: ips.join(" "),
        ip_sort: ip_sort(d.ips.first()),
        mac,
        protocols: protocols_text,
        search: search.join(" ").to_lowercase(),
    }
}

fn union<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let set: BTreeSet<T> = a.iter().chain(b).cloned().collect();
    set.into_iter().collect()
}

fn fact_key(f: &ReportedFact) -> (String, String, String) {
    (
        f.attribute.to_string(),
        f.value.to_string(),
        f.source.to_string(),
    )
}

/// The stored device updated with what a sensor just saw (the module docs give the rules).
pub(crate) fn merge(old: &Device, new: &Device) -> Device {
    let pick = |n: &Option<String>, o: &Option<String>| n.clone().or_else(|| o.clone());
    let mut facts = old.facts.clone();
    for f in &new.facts {
        let key = fact_key(f);
        if let Some(existing) = facts.iter_mut().find(|e| fact_key(e) == key) {
            existing.confidence = existing.confidence.max(f.confidence);
            existing.selected = f.selected;
            if f.evidence.is_some() {
                existing.evidence.clone_from(&f.evidence);
            }
        } else if facts.len() < MAX_FACTS_PER_DEVICE {
            facts.push(f.clone());
        }
    }
    Device {
        id: old.id.clone(),
        mac: new.mac.or(old.mac),
        ips: union(&old.ips, &new.ips),
        vendor: pick(&new.vendor, &old.vendor),
        hostnames: union(&old.hostnames, &new.hostnames),
        device_type: pick(&new.device_type, &old.device_type),
        role: pick(&new.role, &old.role),
        model: pick(&new.model, &old.model),
        firmware: pick(&new.firmware, &old.firmware),
        serial: pick(&new.serial, &old.serial),
        os: pick(&new.os, &old.os),
        state: pick(&new.state, &old.state),
        purdue_level: new.purdue_level.or(old.purdue_level),
        purdue_reason: pick(&new.purdue_reason, &old.purdue_reason),
        protocols: ironward_model::Protocols {
            client: union(&old.protocols.client, &new.protocols.client),
            server: union(&old.protocols.server, &new.protocols.server),
        },
        services: union(&old.services, &new.services),
        findings: union(&old.findings, &new.findings),
        facts,
        conflicts: if new.conflicts.is_empty() {
            old.conflicts.clone()
        } else {
            new.conflicts.clone()
        },
        first_seen: old.first_seen.min(new.first_seen),
        last_seen: old.last_seen.max(new.last_seen),
    }
}

/// History rows (attribute, old value, new value) between the stored device (`None`: a new
/// device) and the merged one.
pub(crate) fn history(
    old: Option<&Device>,
    merged: &Device,
) -> Vec<(&'static str, Option<String>, String)> {
    let mut rows = Vec::new();
    let single = |d: &Device| {
        [
            ("vendor", d.vendor.clone()),
            ("type", d.device_type.clone()),
            ("role", d.role.clone()),
            ("model", d.model.clone()),
            ("firmware", d.firmware.clone()),
            ("serial", d.serial.clone()),
            ("os", d.os.clone()),
            ("state", d.state.clone()),
            ("mac", d.mac.map(|m| m.to_string())),
        ]
    };
    let before = old.map(single);
    for (i, (attribute, value)) in single(merged).into_iter().enumerate() {
        let previous = before.as_ref().and_then(|b| b[i].1.clone());
        if let Some(value) = value {
            if previous.as_ref() != Some(&value) {
                rows.push((attribute, previous, value));
            }
        }
    }
    let old_ips: BTreeSet<IpAddr> = old
        .map(|d| d.ips.iter().copied().collect())
        .unwrap_or_default();
    for ip in &merged.ips {
        if !old_ips.contains(ip) {
            rows.push(("ip", None, ip.to_string()));
        }
    }
    let old_names: BTreeSet<&String> = old
        .map(|d| d.hostnames.iter().collect())
        .unwrap_or_default();
    for name in &merged.hostnames {
        if !old_names.contains(name) {
            rows.push(("hostname", None, name.clone()));
        }
    }
    rows
}

async fn upsert_device(
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    incoming: &Device,
    counts: &mut IngestCounts,
) -> Result<()> {
    let existing =
        sqlx::query("SELECT id, data FROM devices WHERE zone_id = $1 AND device_key = $2")
            .bind(ctx.zone)
            .bind(incoming.id.0.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    let (id, old) = match existing {
        Some(row) => {
            let data: String = row.try_get("data")?;
            let old: Device = serde_json::from_str(&data)
                .map_err(|e| StoreError::Corrupt(format!("device {}: {e}", incoming.id)))?;
            (Some(row.try_get::<i64, _>("id")?), Some(old))
        }
        None => (None, None),
    };
    let merged = match &old {
        Some(old) => merge(old, incoming),
        None => {
            let mut d = incoming.clone();
            d.facts.truncate(MAX_FACTS_PER_DEVICE);
            d
        }
    };
    let cols = columns(&merged);
    let data = serde_json::to_string(&merged)
        .map_err(|e| StoreError::Invalid(format!("device {}: {e}", incoming.id)))?;
    let id = match id {
        Some(id) => {
            sqlx::query(
                "UPDATE devices SET sensor_id = $1, name = $2, vendor = $3, device_type = $4, \
                 role = $5, model = $6, firmware = $7, os = $8, hostname = $9, ips = $10, \
                 ip_sort = $11, mac = $12, protocols = $13, first_seen = $14, last_seen = $15, \
                 search = $16, data = $17 WHERE id = $18",
            )
            .bind(ctx.sensor)
            .bind(cols.name)
            .bind(merged.vendor.as_deref())
            .bind(merged.device_type.as_deref())
            .bind(merged.role.as_deref())
            .bind(merged.model.as_deref())
            .bind(merged.firmware.as_deref())
            .bind(merged.os.as_deref())
            .bind(cols.hostname)
            .bind(cols.ips)
            .bind(cols.ip_sort)
            .bind(cols.mac)
            .bind(cols.protocols)
            .bind(merged.first_seen.as_nanos())
            .bind(merged.last_seen.as_nanos())
            .bind(cols.search)
            .bind(data)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            counts.devices_updated += 1;
            id
        }
        None => {
            let id: i64 = sqlx::query(
                "INSERT INTO devices (site_id, zone_id, sensor_id, device_key, name, vendor, \
                 device_type, role, model, firmware, os, hostname, ips, ip_sort, mac, protocols, \
                 first_seen, last_seen, search, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id",
            )
            .bind(ctx.site)
            .bind(ctx.zone)
            .bind(ctx.sensor)
            .bind(merged.id.0.as_str())
            .bind(cols.name)
            .bind(merged.vendor.as_deref())
            .bind(merged.device_type.as_deref())
            .bind(merged.role.as_deref())
            .bind(merged.model.as_deref())
            .bind(merged.firmware.as_deref())
            .bind(merged.os.as_deref())
            .bind(cols.hostname)
            .bind(cols.ips)
            .bind(cols.ip_sort)
            .bind(cols.mac)
            .bind(cols.protocols)
            .bind(merged.first_seen.as_nanos())
            .bind(merged.last_seen.as_nanos())
            .bind(cols.search)
            .bind(data)
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?;
            counts.devices_created += 1;
            id
        }
    };
    for (attribute, old_value, new_value) in history(old.as_ref(), &merged) {
        sqlx::query(
            "INSERT INTO device_history (device_id, attribute, old_value, new_value, at, \
             sensor_id) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(attribute)
        .bind(old_value)
        .bind(new_value)
        .bind(incoming.last_seen.as_nanos())
        .bind(ctx.sensor)
        .execute(&mut **tx)
        .await?;
        counts.history += 1;
    }
    let kept: BTreeSet<(String, String, String)> = merged.facts.iter().map(fact_key).collect();
    let upsert = format!(
        "INSERT INTO device_facts (device_id, fact_key, attribute, value, source, confidence, \
         selected, evidence, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10) ON CONFLICT (device_id, fact_key) DO UPDATE SET confidence = {}, \
         selected = excluded.selected, \
         evidence = COALESCE(excluded.evidence, device_facts.evidence), first_seen = {}, \
         last_seen = {}",
        widen("device_facts", "confidence", false),
        widen("device_facts", "first_seen", true),
        widen("device_facts", "last_seen", false),
    );
    for f in &incoming.facts {
        if !kept.contains(&fact_key(f)) {
            continue;
        }
        sqlx::query(&upsert)
            .bind(id)
            .bind(key_of(&[&f.attribute, &f.value, &f.source]))
            .bind(&*f.attribute)
            .bind(&*f.value)
            .bind(&*f.source)
            .bind(i64::from(f.confidence))
            .bind(flag(f.selected))
            .bind(f.evidence.as_deref())
            .bind(incoming.first_seen.as_nanos())
            .bind(incoming.last_seen.as_nanos())
            .execute(&mut **tx)
            .await?;
        counts.facts += 1;
    }
    Ok(())
}

async fn upsert_connections(
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    batch: &Batch,
    counts: &mut IngestCounts,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO connections (site_id, zone_id, a_device, b_device, a_ip, b_ip, transport, \
         port, protocol, packets, bytes, flows, first_seen, last_seen) VALUES ($1, $2, $3, $4, \
         $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (zone_id, a_ip, b_ip, transport, port, protocol) DO UPDATE SET \
         a_device = COALESCE(excluded.a_device, connections.a_device), \
         b_device = COALESCE(excluded.b_device, connections.b_device), \
         packets = {}, bytes = {}, flows = {}, first_seen = {}, last_seen = {}",
        saturating_add("connections", "packets"),
        saturating_add("connections", "bytes"),
        saturating_add("connections", "flows"),
        widen("connections", "first_seen", true),
        widen("connections", "last_seen", false),
    );
    for c in &batch.connections {
        sqlx::query(&sql)
            .bind(ctx.site)
            .bind(ctx.zone)
            .bind(c.a.as_ref().map(|d| d.0.as_str()))
            .bind(c.b.as_ref().map(|d| d.0.as_str()))
            .bind(c.a_ip.to_string())
            .bind(c.b_ip.to_string())
            .bind(c.transport.as_str())
            .bind(c.port.map_or(-1, i64::from))
            .bind(c.protocol.as_deref().unwrap_or(""))
            .bind(counter(c.packets))
            .bind(counter(c.bytes))
            .bind(counter(c.flows))
            .bind(c.first_seen.as_nanos())
            .bind(c.last_seen.as_nanos())
            .execute(&mut **tx)
            .await?;
        counts.connections += 1;
    }
    Ok(())
}

fn endpoint_addr(e: &ironward_model::EventEndpoint) -> String {
    match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => String::new(),
    }
}

async fn upsert_events(
    tx: &mut Transaction<'static, Any>,
    ctx: &Ctx,
    batch: &Batch,
    counts: &mut IngestCounts,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO events (site_id, zone_id, event_key, src_device, dst_device, src_addr, \
         dst_addr, protocol, category, operation, detail, content_hash, count, first_seen, \
         last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (zone_id, event_key) DO UPDATE SET \
         src_device = COALESCE(excluded.src_device, events.src_device), \
         dst_device = COALESCE(excluded.dst_device, events.dst_device), \
         content_hash = COALESCE(excluded.content_hash, events.content_hash), \
         count = {}, first_seen = {}, last_seen = {}",
        saturating_add("events", "count"),
        widen("events", "first_seen", true),
        widen("events", "last_seen", false),
    );
    for e in &batch.events {
        let src = endpoint_addr(&e.src);
        let dst = endpoint_addr(&e.dst);
        sqlx::query(&sql)
            .bind(ctx.site)
            .bind(ctx.zone)
            .bind(key_of(&[&src, &dst, &e.protocol, &e.operation, &e.detail]))
            .bind(e.src.device.as_ref().map(|d| d.0.as_str()))
            .bind(e.dst.device.as_ref().map(|d| d.0.as_str()))
            .bind(src)
            .bind(dst)
            .bind(&*e.protocol)
            .bind(e.category.as_str())
            .bind(&*e.operation)
            .bind(e.detail.as_str())
            .bind(e.content_hash.as_deref())
            .bind(counter(e.count))
            .bind(e.time.as_nanos())
            .bind(e.last_seen.as_nanos())
            .execute(&mut **tx)
            .await?;
        counts.events += 1;
    }
    Ok(())
}
