//! The sensor-offline check: a background task of `ironward serve` that raises the operational
//! alert `operational.sensor_offline` (Major) for a sensor that stopped reporting — no batch or
//! health report for longer than [`ConsoleSettings::sensor_offline_after`](crate::ConsoleSettings),
//! the same rule that shows it offline — once per outage.
//!
//! The alert goes through the store path of sensor alerts
//! ([`Store::raise_sensor_alert`](ironward_store::Store::raise_sensor_alert)): exclusion rules,
//! aggregation by id (one alert per sensor, its count the number of outages), workflow,
//! forwarding and playbooks. An outage is identified by the moment the sensor went offline
//! (its last report plus the offline delay): the store does not count an occurrence it already
//! holds, so every round, and a restarted console, may check again without counting twice.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use ironward_model::{Alert, AlertEngine, Evidence, Severity, Technique, Timestamp};
use ironward_store::{Raised, Scope, SensorId, SensorRecord, Store, StoreError};

use crate::api::sensors::is_online;

/// Pause between two checks: a sensor's outage is raised at most this long after it counts as
/// offline.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// The alert kind.
pub const KIND: &str = "operational.sensor_offline";

/// What the check remembers between rounds: per sensor, the outage last raised (or
/// suppressed), so that an exclusion rule counts a suppressed outage once.
#[derive(Debug, Default)]
pub struct SensorWatch {
    raised: HashMap<SensorId, Timestamp>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Sensors found offline.
    pub offline: usize,
    /// Outages stored as alert occurrences in this round.
    pub raised: usize,
    /// Outages an exclusion rule suppressed in this round.
    pub suppressed: usize,
}

/// Text of a timestamp for people (RFC 3339, UTC).
fn when(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_nanos()))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.as_nanos().to_string())
}

/// The alert of one outage of `sensor`, which went offline at `offline_at`.
pub fn offline_alert(
    sensor: &SensorRecord,
    last_seen: Timestamp,
    offline_at: Timestamp,
    offline_after: Duration,
) -> Alert {
    let minutes = offline_after.as_secs() / 60;
    let seconds = offline_after.as_secs() % 60;
    let delay = if seconds == 0 {
        format!("{minutes} min")
    } else {
        format!("{} s", offline_after.as_secs())
    };
    Alert {
        id: format!("{KIND}:{}", sensor.id.0),
        kind: KIND.to_owned(),
        title: format!("Sensor {} stopped reporting", sensor.name),
        description: format!(
            "Sensor {} (site {}, zone {}) last reported at {}; the console heard nothing from it for more than {delay} and counts it offline. Its network is not monitored until it reports again: nothing it captures meanwhile reaches the console.",
            sensor.name,
            sensor.site,
            sensor.zone,
            when(last_seen)
        ),
        engine: AlertEngine::Operational,
        severity: Severity::Major,
        src_ip: None,
        dst_ip: None,
        devices: Vec::new(),
        protocol: None,
        techniques: vec![Technique {
            id: "T0815".to_owned(),
            name: "Denial of View".to_owned(),
        }],
        evidence: vec![Evidence {
            time: offline_at,
            summary: format!(
                "sensor {} (id {}) silent since {}",
                sensor.name,
                sensor.id.0,
                when(last_seen)
            ),
            frame: None,
        }],
        remediation: "Check the sensor host (power, service, disk), its network path to the console (firewall, certificate pin) and its logs; the sensor keeps what it captured in its outbox and sends it when the console is reachable again.".to_owned(),
        count: 1,
        first_seen: offline_at,
        last_seen: offline_at,
        pcap: None,
    }
}

impl SensorWatch {
    /// A check that has raised nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One round at `now`: every sensor that reported once and is offline now gets its
    /// outage raised, unless it was already.
    pub async fn check(
        &mut self,
        store: &Store,
        offline_after: Duration,
        now: Timestamp,
    ) -> Result<Round, StoreError> {
        let mut round = Round::default();
        let delay = i64::try_from(offline_after.as_nanos()).unwrap_or(i64::MAX);
        let sensors = store.list_sensors(&Scope::All).await?;
        self.raised
            .retain(|id, _| sensors.iter().any(|sensor| sensor.id == *id));
        for sensor in &sensors {
            // A sensor that never reported has no outage: it never started.
            let Some(last_seen) = sensor.last_seen else {
                continue;
            };
            if is_online(Some(last_seen), now, offline_after) {
                continue;
            }
            round.offline += 1;
            let offline_at = Timestamp(last_seen.as_nanos().saturating_add(delay));
            if self.raised.get(&sensor.id) == Some(&offline_at) {
                continue;
            }
            let alert = offline_alert(sensor, last_seen, offline_at, offline_after);
            match store.raise_sensor_alert(sensor.id, &alert).await? {
                Raised::Stored => {
                    round.raised += 1;
                    tracing::warn!(
                        sensor = %sensor.name,
                        site = %sensor.site,
                        "sensor offline: no report since {}",
                        when(last_seen)
                    );
                }
                Raised::Suppressed => round.suppressed += 1,
                Raised::AlreadyStored => {}
            }
            self.raised.insert(sensor.id, offline_at);
        }
        Ok(round)
    }
}

/// Starts the check on the tokio runtime, every [`CHECK_INTERVAL`], until `shutdown`
/// completes. A failing round (database trouble) is logged and tried again next time.
pub fn spawn(
    store: Store,
    offline_after: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        let mut watch = SensorWatch::new();
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                result = watch.check(&store, offline_after, crate::state::now()) => {
                    if let Err(error) = result {
                        tracing::error!(%error, "sensor-offline check failed");
                    }
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(CHECK_INTERVAL) => {}
            }
        }
    })
}
