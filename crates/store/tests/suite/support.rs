//! Runs each suite test once per backend: SQLite in a temporary directory, PostgreSQL in a
//! database created for the test and dropped after it (`ironward_store_<pid>_<n>`).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use ironward_store::Store;
use sqlx::Connection;

/// Where the suite finds PostgreSQL.
pub(crate) fn pg_url() -> String {
    std::env::var("IRONWARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Runs `body` on a fresh SQLite store.
pub(crate) async fn on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_sqlite(dir.path()).await.expect("open sqlite");
    body(store.clone()).await;
    store.close().await;
}

/// The admin URL with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Drops the test database even when the test panics.
struct DropDatabase {
    admin: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // A runtime of its own: the test's runtime may be unwinding.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Runs `body` on a store in a fresh PostgreSQL database, or prints why it cannot.
pub(crate) async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let admin = pg_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: PostgreSQL at {admin} is unreachable: {e}");
            return;
        }
    };
    let name = format!(
        "ironward_store_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let guard = DropDatabase {
        admin: admin.clone(),
        name: name.clone(),
    };
    // CREATE DATABASE copies template1 and fails while another copy is under way: retry.
    let mut attempt = 0;
    loop {
        match sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            Err(e) if attempt < 20 => {
                attempt += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => panic!("create database {name}: {e}"),
        }
    }
    let _ = conn.close().await;
    let store = Store::connect(&with_database(&admin, &name))
        .await
        .expect("connect postgres");
    body(store.clone()).await;
    store.close().await;
    drop(guard);
}

/// Declares `mod $name { sqlite, postgres }` running `$body(store)` on each backend.
macro_rules! on_both {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::support::on_sqlite($body).await;
            }
            #[tokio::test]
            async fn postgres() {
                $crate::support::on_postgres($body).await;
            }
        }
    };
}
pub(crate) use on_both;
