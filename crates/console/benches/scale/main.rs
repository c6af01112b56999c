/*!
The console at scale (issue 6): a synthetic inventory of 100,000 devices and 1,000,000
connections ingested through `Store::ingest_batch` in sensor-sized batches, then the
inventory page and the device API timed through the real router, on SQLite and PostgreSQL.

Run by `scripts/bench-console` (release mode), which puts the Markdown this writes into
docs/PERFORMANCE.md. Settings come from the environment (cargo passes its own arguments):

| variable | default | meaning |
|---|---|---|
| `SCALE_DEVICES` | 100000 | devices over 2 sites, 4 zones, 4 sensors |
| `SCALE_CONNECTIONS` | 1000000 | connections |
| `SCALE_RUNS` | 50 | timed runs per request (fewer once a request has used 20 s) |
| `SCALE_BACKENDS` | `sqlite,postgres` | which stores |
| `SCALE_OUT` | none | file the Markdown report is written to (it is printed too) |
| `SCALE_TMP` | the system's | where the SQLite database lives during the run |
| `IRONWARD_TEST_PG` | `postgres://postgres@127.0.0.1:5432/test` | server for PostgreSQL; the bench creates and drops its own database there |
| `SCALE_KEEP` | unset | keep the SQLite database (its path is printed) |
| `SCALE_EXPLAIN` | unset | a kept database: print the plan and timings of each SQL line on stdin, with the SQLite the store links, and exit |

PostgreSQL unreachable: that backend is skipped with the reason, in the report too.
*/

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod inventory;
mod latency;
mod report;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ironward_console::password::hash_password;
use ironward_console::{router, AppState, ConsoleSettings};
use ironward_model::Timestamp;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{DeviceQuery, IngestCounts, IngestOutcome, Scope, SensorId, Store};
use sqlx::Connection;

use crate::inventory::Plan;
use crate::latency::{get, sign_in, time, Timing, Who};

const PASSWORD: &str = "correct horse battery staple";
/// Time after which a request stops being repeated (it has had at least 20 runs).
const BUDGET: Duration = Duration::from_secs(20);

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name} must be a number, not {v:?}")),
        Err(_) => Ok(default),
    }
}

/// What one backend measured.
pub(crate) struct Outcome {
    pub(crate) backend: &'static str,
    pub(crate) version: String,
    pub(crate) ingest: Ingest,
    pub(crate) rows: Rows,
    pub(crate) size_bytes: Option<u64>,
    /// (request, what it is, timing, devices it matched).
    pub(crate) timings: Vec<(String, Timing, Option<i64>)>,
    /// Whether `GET /devices` is the real page (`false`: the store queries it makes).
    pub(crate) page_route: bool,
}

/// Ingest totals.
#[derive(Default)]
pub(crate) struct Ingest {
    pub(crate) batches: usize,
    pub(crate) wall: Duration,
    pub(crate) slowest_batch: Duration,
    pub(crate) counts: IngestCounts,
}

/// Rows in the store after ingest.
pub(crate) struct Rows {
    pub(crate) devices: i64,
    pub(crate) connections: i64,
    pub(crate) events: i64,
}

/// A backend being measured: its store and what to do afterwards.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, name: String },
}

fn pg_url(admin: &str, database: &str) -> String {
    let base = admin.split('?').next().unwrap_or(admin);
    match base.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{database}", &base[..i]),
        _ => format!("{base}/{database}"),
    }
}

async fn open(backend: &str) -> Result<(Store, Db, String)> {
    match backend {
        "sqlite" => {
            let dir = match std::env::var("SCALE_TMP") {
                Ok(base) => tempfile::tempdir_in(base)?,
                Err(_) => tempfile::tempdir()?,
            };
            let store = Store::open_sqlite(dir.path()).await?;
            let version = format!("SQLite {}", sqlx_sqlite_version(&store).await);
            Ok((store, Db::Sqlite(dir), version))
        }
        "postgres" => {
            let admin = std::env::var("IRONWARD_TEST_PG")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .with_context(|| format!("PostgreSQL at {admin} is unreachable"))?;
            let name = format!("ironward_scale_{}", std::process::id());
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut conn)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            let version: String = sqlx::query_scalar("SHOW server_version")
                .fetch_one(&mut conn)
                .await?;
            conn.close().await?;
            let store = Store::connect(&pg_url(&admin, &name)).await?;
            Ok((
                store,
                Db::Postgres { admin, name },
                format!("PostgreSQL {version}"),
            ))
        }
        other => anyhow::bail!("unknown backend {other:?} (sqlite or postgres)"),
    }
}

async fn sqlx_sqlite_version(_store: &Store) -> String {
    // The bundled library's version, as sqlx links it.
    let mut conn = match sqlx::SqliteConnection::connect("sqlite::memory:").await {
        Ok(c) => c,
        Err(_) => return "?".to_owned(),
    };
    sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|_| "?".to_owned())
}

async fn size_and_close(store: &Store, db: Db) -> Result<Option<u64>> {
    store.close().await;
    match db {
        Db::Sqlite(dir) => {
            let mut total = 0;
            for entry in std::fs::read_dir(dir.path())? {
                total += entry?.metadata()?.len();
            }
            // SCALE_KEEP=1 leaves the database behind for looking at query plans.
            if std::env::var_os("SCALE_KEEP").is_some() {
                eprintln!("scale: SQLite database kept in {}", dir.keep().display());
            }
            Ok(Some(total))
        }
        Db::Postgres { admin, name } => {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            let size: i64 = sqlx::query_scalar("SELECT pg_database_size($1)")
                .bind(&name)
                .fetch_one(&mut conn)
                .await?;
            // The pool's server processes may still be ending: FORCE does not wait for them.
            // A database left behind is worth a warning, not the run's results.
            if let Err(e) = sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
            {
                eprintln!("scale: could not drop database {name}: {e}");
            }
            Ok(u64::try_from(size).ok())
        }
    }
}

async fn count(store: &Store, what: &str) -> Result<i64> {
    Ok(match what {
        "devices" => {
            store
                .list_devices(&DeviceQuery::new(Scope::All))
                .await?
                .total
        }
        "connections" => {
            let mut q = ironward_store::ConnectionQuery::new(Scope::All);
            q.limit = 1;
            store.list_connections(&q).await?.total
        }
        _ => {
            let mut q = ironward_store::EventQuery::new(Scope::All);
            q.limit = 1;
            store.list_events(&q).await?.total
        }
    })
}

async fn run_backend(backend: &'static str, plan: &Plan, runs: usize) -> Result<Outcome> {
    let (store, db, version) = open(backend).await?;
    eprintln!("scale: {backend}: {version}");
    let result = measure(backend, &store, plan, runs, version).await;
    let size = size_and_close(&store, db).await;
    let mut outcome = result?;
    outcome.size_bytes = size?;
    Ok(outcome)
}

async fn measure(
    backend: &'static str,
    store: &Store,
    plan: &Plan,
    runs: usize,
    version: String,
) -> Result<Outcome> {
    let t = Timestamp(1);
    let far = Timestamp(i64::MAX / 2);
    let mut sites = Vec::new();
    let mut sensors: Vec<SensorId> = Vec::new();
    for (s, site_name) in ["North plant", "South plant"].iter().enumerate() {
        let site = store.create_site(site_name, t).await?;
        sites.push(site.id);
        for z in 0..plan.zones / 2 {
            let zone = store
                .create_zone(&Scope::All, site.id, &format!("Cell {}", z + 1), t)
                .await?;
            let token = store
                .create_enrollment_token(
                    &Scope::All,
                    zone.id,
                    &format!("sensor-{s}{z}"),
                    far,
                    None,
                    t,
                )
                .await?;
            sensors.push(store.enroll(&token, t).await?.0.id);
        }
    }

    // Ingest, sensor by sensor in turn, as four sensors streaming at once would arrive.
    let mut ingest = Ingest::default();
    let batches = plan.batches_per_zone();
    for b in 0..batches {
        for (zone, sensor) in sensors.iter().enumerate() {
            let batch = inventory::batch(plan, zone, b);
            if batch.devices.is_empty() && batch.connections.is_empty() {
                continue;
            }
            let started = Instant::now();
            let outcome = store.ingest_batch(*sensor, &batch, batch.created).await?;
            let took = started.elapsed();
            let IngestOutcome::Committed(c) = outcome else {
                anyhow::bail!("batch {} was a duplicate", batch.id);
            };
            ingest.wall += took;
            ingest.slowest_batch = ingest.slowest_batch.max(took);
            ingest.batches += 1;
            let total = &mut ingest.counts;
            total.devices_created += c.devices_created;
            total.devices_updated += c.devices_updated;
            total.facts += c.facts;
            total.history += c.history;
            total.connections += c.connections;
            total.events += c.events;
        }
        eprintln!(
            "scale: {backend}: {}/{} rounds, {} devices, {} connections, {:.1} s in ingest",
            b + 1,
            batches,
            ingest.counts.devices_created,
            ingest.counts.connections,
            ingest.wall.as_secs_f64()
        );
    }
    let rows = Rows {
        devices: count(store, "devices").await?,
        connections: count(store, "connections").await?,
        events: count(store, "events").await?,
    };

    // Users: an administrator of everything and a viewer of the first site only.
    let hash = hash_password(PASSWORD)?;
    let mut tokens = Vec::new();
    for (name, role, scope) in [
        ("bench-admin", "admin", vec![]),
        ("bench-site", "viewer", vec![sites[0]]),
    ] {
        let user = store.create_user(name, role, &scope, &hash, t).await?;
        let token = new_secret()?;
        store
            .create_api_token(user.id, "bench", &hash_secret(&token), t)
            .await?;
        tokens.push(Who::Token(token));
    }
    let state = AppState::new(
        store.clone(),
        ConsoleSettings::default(),
        "sha256:bench".to_owned(),
    );
    let app = router(state);
    let admin_session = sign_in(&app, "bench-admin", PASSWORD).await?;
    let site_session = sign_in(&app, "bench-site", PASSWORD).await?;
    let (admin_token, site_token) = (tokens[0].clone(), tokens[1].clone());

    let probe = get(&app, "/devices", &admin_session).await?;
    let page_route = probe.status.is_success();
    if !page_route {
        eprintln!(
            "scale: GET /devices answered {}: timing the store queries the page makes instead",
            probe.status
        );
    }

    let deep = (rows.devices / 2).max(0);
    let vendor_word = "siemens";
    // A /24 prefix ("10.40.21."), and an existing host name, from the middle of a zone.
    let middle = plan.zone_devices(1) / 2;
    let ip = inventory::address(1, middle).to_string();
    let ip_fragment = ip
        .rsplit_once('.')
        .map_or(ip.clone(), |(prefix, _)| format!("{prefix}."));
    let host = (middle..plan.zone_devices(2))
        .find_map(|i| inventory::hostname(2, i))
        .unwrap_or_default();
    let site1 = sites[0];
    let mut requests: Vec<(String, String, Who)> = Vec::new();
    let page = |label: &str, path: String, who: &Who| (label.to_owned(), path, who.clone());
    let one_site = Scope::Sites(vec![site1]);
    requests.push(page(
        "inventory page, first page (last seen ▼)",
        "/devices".into(),
        &admin_session,
    ));
    requests.push(page(
        &format!("inventory page, deep page (offset {deep})"),
        format!("/devices?offset={deep}"),
        &admin_session,
    ));
    requests.push(page(
        "inventory page, sorted by vendor",
        "/devices?sort=vendor".into(),
        &admin_session,
    ));
    requests.push(page(
        &format!("inventory page, search {vendor_word:?}"),
        format!("/devices?q={vendor_word}"),
        &admin_session,
    ));
    requests.push(page(
        "inventory page, one-site user",
        "/devices".into(),
        &site_session,
    ));
    requests.push(page(
        "API list, first page",
        "/api/v1/devices".into(),
        &admin_token,
    ));
    requests.push(page(
        &format!("API list, deep page (offset {deep})"),
        format!("/api/v1/devices?offset={deep}"),
        &admin_token,
    ));
    requests.push(page(
        &format!("API search, vendor word {vendor_word:?}"),
        format!("/api/v1/devices?q={vendor_word}"),
        &admin_token,
    ));
    requests.push(page(
        &format!("API search, IP fragment {ip_fragment:?}"),
        format!("/api/v1/devices?q={ip_fragment}"),
        &admin_token,
    ));
    requests.push(page(
        &format!("API search, hostname {host:?}"),
        format!("/api/v1/devices?q={host}"),
        &admin_token,
    ));
    requests.push(page(
        "API filter, type plc + site",
        format!("/api/v1/devices?type=plc&site={site1}"),
        &admin_token,
    ));
    requests.push(page(
        "API list, one-site user",
        "/api/v1/devices".into(),
        &site_token,
    ));
    requests.push(page(
        &format!("API search {vendor_word:?}, one-site user"),
        format!("/api/v1/devices?q={vendor_word}"),
        &site_token,
    ));

    let mut timings = Vec::new();
    for (label, path, who) in requests {
        let is_page = !path.starts_with("/api/");
        let timing = if is_page && !page_route {
            let scope = if who == site_session {
                one_site.clone()
            } else {
                Scope::All
            };
            store_page(store, &path, scope, runs).await?
        } else {
            let app = app.clone();
            time(runs, BUDGET, || {
                let app = app.clone();
                let path = path.clone();
                let who = who.clone();
                async move {
                    let answer = get(&app, &path, &who).await?;
                    anyhow::ensure!(answer.status.is_success(), "{path}: {}", answer.status);
                    Ok(())
                }
            })
            .await?
        };
        let matched = matched(&app, &path, &who).await;
        eprintln!(
            "scale: {backend}: {label}: p50 {:.1} ms, p95 {:.1} ms ({} runs)",
            ms(timing.p50),
            ms(timing.p95),
            timing.runs
        );
        timings.push((label, timing, matched));
    }
    // The store's part of the default page, for the record.
    let q = DeviceQuery {
        limit: 50,
        ..DeviceQuery::new(Scope::All)
    };
    let list = time(runs, BUDGET, || async {
        store.list_devices(&q).await?;
        Ok(())
    })
    .await?;
    timings.push(("store only: list_devices, first 50".to_owned(), list, None));
    let facets = time(runs, BUDGET, || async {
        store.device_facets(&Scope::All).await?;
        Ok(())
    })
    .await?;
    timings.push((
        "store only: device_facets (filter choices)".to_owned(),
        facets,
        None,
    ));

    Ok(Outcome {
        backend,
        version,
        ingest,
        rows,
        size_bytes: None,
        timings,
        page_route,
    })
}

/// The devices a request matched, from the API's `total` (for the table's last column).
async fn matched(app: &axum::Router, path: &str, who: &Who) -> Option<i64> {
    let api = if path.starts_with("/api/") {
        path.to_owned()
    } else {
        path.replacen("/devices", "/api/v1/devices", 1)
    };
    let api = format!("{api}{}limit=1", if api.contains('?') { "&" } else { "?" });
    let answer = get(app, &api, who).await.ok()?;
    let value: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
    value.get("total")?.as_i64()
}

/// Until the inventory page lands: the store queries it makes, concurrently as it makes them.
async fn store_page(store: &Store, path: &str, scope: Scope, runs: usize) -> Result<Timing> {
    let filter: ironward_console::filters::DeviceFilter =
        serde_json::from_value(query_json(path)).unwrap_or_default();
    let mut filter = filter;
    if filter.limit.is_none() {
        filter.limit = Some("50".to_owned());
    }
    let q = filter
        .to_query(scope.clone())
        .map_err(|e| anyhow::anyhow!(e.message))?;
    time(runs, BUDGET, || async {
        tokio::try_join!(
            store.list_devices(&q),
            store.device_facets(&scope),
            store.list_sites(&scope),
            store.list_zones(&scope, q.site),
        )?;
        Ok(())
    })
    .await
}

fn query_json(path: &str) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if let Some((_, query)) = path.split_once('?') {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                map.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
            }
        }
    }
    serde_json::Value::Object(map)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `SCALE_EXPLAIN=DB.sqlite`: plans and times the statements on stdin (one per line) with the
/// SQLite that the store links (the system's `sqlite3` may be another version and plan
/// differently), against a database kept by `SCALE_KEEP`.
async fn explain(db: &str) -> Result<()> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{db}?mode=ro")).await?;
    for line in std::io::stdin().lines() {
        let sql = line?;
        if sql.trim().is_empty() {
            continue;
        }
        println!("{sql}");
        let plan = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
            .fetch_all(&mut conn)
            .await?;
        for row in plan {
            let detail: String = sqlx::Row::try_get(&row, "detail")?;
            println!("  plan: {detail}");
        }
        for _ in 0..3 {
            let t = Instant::now();
            let rows = sqlx::query(&sql).fetch_all(&mut conn).await?;
            println!("  {} rows in {:.1} ms", rows.len(), ms(t.elapsed()));
        }
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    if let Ok(db) = std::env::var("SCALE_EXPLAIN") {
        return explain(&db).await;
    }
    let plan = Plan {
        devices: env_usize("SCALE_DEVICES", 100_000)?,
        connections: env_usize("SCALE_CONNECTIONS", 1_000_000)?,
        zones: 4,
        devices_per_batch: 2_000,
        connections_per_batch: 20_000,
        events_per_batch: 2_000,
    };
    let runs = env_usize("SCALE_RUNS", 50)?.max(1);
    let backends = std::env::var("SCALE_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".to_owned());
    let started = Instant::now();
    let load_before = report::load();
    let mut outcomes = Vec::new();
    let mut skipped = Vec::new();
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let backend: &'static str = match backend {
            "sqlite" => "sqlite",
            "postgres" => "postgres",
            other => anyhow::bail!("unknown backend {other:?} (sqlite or postgres)"),
        };
        match run_backend(backend, &plan, runs).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) if backend == "postgres" && format!("{e:#}").contains("unreachable") => {
                eprintln!("scale: skipping PostgreSQL: {e:#}");
                skipped.push(format!("PostgreSQL skipped: {e:#}"));
            }
            Err(e) => return Err(e.context(format!("{backend} run"))),
        }
    }
    let markdown = report::markdown(
        &plan,
        runs,
        &outcomes,
        &skipped,
        started.elapsed(),
        &load_before,
    );
    println!("{markdown}");
    if let Ok(path) = std::env::var("SCALE_OUT") {
        std::fs::write(&path, &markdown).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}
