//! Running one store scenario on each backend: a fresh SQLite store in a temporary directory and
//! a fresh PostgreSQL database (`IRONWARD_TEST_PG`, default the local test server), dropped
//! afterwards; without a reachable server the PostgreSQL run prints why it is skipped.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;

use ironward_store::Store;
use sqlx::Connection;

/// Runs `scenario` on a fresh SQLite store.
pub async fn on_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path()).await.unwrap();
    scenario(store.clone()).await;
    store.close().await;
}

/// Runs `scenario` on a fresh PostgreSQL database named `name` and the process id, dropped
/// afterwards even when the scenario panics (its panic is then raised again).
pub async fn on_postgres<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin = std::env::var("IRONWARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) => {
            println!("skipped: PostgreSQL at {admin} is unreachable: {e}");
            return;
        }
    };
    let name = format!("{name}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.split('?').next().unwrap_or(&admin);
    let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
    let store = Store::connect(&url).await.unwrap();
    let outcome = tokio::spawn(scenario(store.clone())).await;
    store.close().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
