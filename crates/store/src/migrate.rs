//! Numbered migrations, embedded in the binary, applied on open.
//!
//! Each migration runs in its own transaction together with the row that records it in
//! `schema_migrations`, so a failure leaves the database at the previous version and reopening
//! an up-to-date database is a no-op. Applied migrations are never edited: a change is a new
//! number, with a SQLite and a PostgreSQL file side by side.

use sqlx::Row;

use crate::db::{Backend, Store};
use crate::{Result, StoreError};

/// One numbered schema change, in both dialects.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "device_search_index",
        sqlite: include_str!("../migrations/sqlite/0002_device_search_index.sql"),
        postgres: include_str!("../migrations/postgres/0002_device_search_index.sql"),
    },
    Migration {
        version: 3,
        name: "alert_workflow",
        sqlite: include_str!("../migrations/sqlite/0003_alert_workflow.sql"),
        postgres: include_str!("../migrations/postgres/0003_alert_workflow.sql"),
    },
    Migration {
        version: 4,
        name: "forwarding",
        sqlite: include_str!("../migrations/sqlite/0004_forwarding.sql"),
        postgres: include_str!("../migrations/postgres/0004_forwarding.sql"),
    },
    Migration {
        version: 5,
        name: "alert_captures",
        sqlite: include_str!("../migrations/sqlite/0005_alert_captures.sql"),
        postgres: include_str!("../migrations/postgres/0005_alert_captures.sql"),
    },
    Migration {
        version: 6,
        name: "site_learning",
        sqlite: include_str!("../migrations/sqlite/0006_site_learning.sql"),
        postgres: include_str!("../migrations/postgres/0006_site_learning.sql"),
    },
    Migration {
        version: 7,
        name: "vulnerabilities",
        sqlite: include_str!("../migrations/sqlite/0007_vulnerabilities.sql"),
        postgres: include_str!("../migrations/postgres/0007_vulnerabilities.sql"),
    },
    Migration {
        version: 8,
        name: "ti_distribution",
        sqlite: include_str!("../migrations/sqlite/0008_ti_distribution.sql"),
        postgres: include_str!("../migrations/postgres/0008_ti_distribution.sql"),
    },
    Migration {
        version: 9,
        name: "posture",
        sqlite: include_str!("../migrations/sqlite/0009_posture.sql"),
        postgres: include_str!("../migrations/postgres/0009_posture.sql"),
    },
    Migration {
        version: 10,
        name: "posture_snapshot_hours",
        sqlite: include_str!("../migrations/sqlite/0010_posture_snapshot_hours.sql"),
        postgres: include_str!("../migrations/postgres/0010_posture_snapshot_hours.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 10;

const _: () = assert!(MIGRATIONS[MIGRATIONS.len() - 1].version == SCHEMA_VERSION);

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

pub(crate) async fn run(store: &Store) -> Result<()> {
    sqlx::query(CREATE_TABLE).execute(&store.pool).await?;
    let newest: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_migrations")
        .fetch_one(&store.pool)
        .await?
        .try_get("v")?;
    if let Some(v) = newest {
        if v > SCHEMA_VERSION {
            return Err(StoreError::Migration {
                version: v,
                message: format!("the database is newer than this build (schema {SCHEMA_VERSION})"),
            });
        }
    }
    for m in MIGRATIONS {
        let mut tx = store.write().await?;
        if store.backend == Backend::Postgres {
            // Two consoles starting together: the second waits here, then sees the row.
            sqlx::query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(m.version)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if done {
            continue;
        }
        let sql = match store.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(crate::now().as_nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The migrations recorded in the database, oldest first: (version, name).
pub(crate) async fn applied(store: &Store) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT version, name FROM schema_migrations ORDER BY version")
        .fetch_all(&store.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("version")?, r.try_get("name")?)))
        .collect()
}
