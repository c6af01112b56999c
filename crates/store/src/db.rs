//! The store handle, its two backends and the small SQL builder every query module uses.
//!
//! One code path serves both databases through sqlx's `Any` driver. Queries are written once in
//! the dialect both understand: `$1`-style placeholders (SQLite reads `$N` as parameter N),
//! `INSERT .. ON CONFLICT (..) DO UPDATE`, `RETURNING`, `CASE` instead of `MAX`/`GREATEST`.
//! Where the dialects really differ (DDL, transaction start) the two variants sit side by side.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Transaction};

use crate::{migrate, Result, StoreError};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (WAL, foreign keys on, busy timeout).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// All of Ironward's persistence. Cheap to clone: the connection pool is shared.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

/// File name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "ironward.db";

impl Store {
    /// Opens (creating if needed) `ironward.db` in `dir` (created too) and migrates it.
    pub async fn open_sqlite(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Invalid(format!("data directory {}: {e}", dir.display())))?;
        let path = dir.join(SQLITE_FILE);
        let path = path
            .to_str()
            .ok_or_else(|| StoreError::Invalid("data directory path is not UTF-8".to_owned()))?;
        // `?` and `#` would end the path in a URL.
        if path.contains(['?', '#']) {
            return Err(StoreError::Invalid(
                "data directory path has '?' or '#'".to_owned(),
            ));
        }
        Self::connect(&format!("sqlite://{path}?mode=rwc")).await
    }

    /// Connects to `postgres://…` or `sqlite:…` and migrates the database.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Invalid(
                "database URL must start with postgres:// or sqlite:".to_owned(),
            ));
        };
        let memory = backend == Backend::Sqlite && url.contains(":memory:");
        let options = AnyPoolOptions::new()
            // An in-memory SQLite database exists once per connection.
            .max_connections(match (backend, memory) {
                (Backend::Sqlite, true) => 1,
                (Backend::Sqlite, false) => 4,
                (Backend::Postgres, _) => 10,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::Executor::execute(&mut *conn, SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        let store = Self { pool, backend };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`): a
    /// transaction that reads first and writes later could otherwise fail with "database is
    /// locked" instead of waiting its turn.
    pub(crate) async fn write(&self) -> Result<Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// Every SQLite connection: WAL (readers never block the writer), foreign keys enforced, and a
/// writer waits up to 10 s for another instead of failing at once.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::I64(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Self::OptI64(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::OptText(v)
    }
}

/// SQL text with its arguments, for queries whose shape depends on the request (filters,
/// scopes, sorts). Only fixed text is pushed; every value goes through [`Sql::bind`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Value>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `$N` placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends another fragment, renumbering its placeholders after this one's.
    pub(crate) fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.args.len();
        let mut text = String::with_capacity(other.text.len());
        let mut chars = other.text.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c == '$' {
                let mut digits = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    digits.push(d);
                    chars.next();
                }
                match digits.parse::<usize>() {
                    Ok(n) => {
                        text.push('$');
                        text.push_str(&(n + offset).to_string());
                    }
                    Err(_) => {
                        text.push('$');
                        text.push_str(&digits);
                    }
                }
            } else {
                text.push(c);
            }
        }
        self.text.push_str(&text);
        self.args.extend(other.args.iter().cloned());
        self
    }

    /// Appends `column IN ($a, $b, ...)`; an empty list matches nothing.
    pub(crate) fn in_list(&mut self, column: &str, values: &[i64]) -> &mut Self {
        if values.is_empty() {
            return self.push("1 = 0");
        }
        self.push(column).push(" IN (");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(*v);
        }
        self.push(")")
    }

    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for arg in &self.args {
            q = match arg {
                Value::I64(v) => q.bind(*v),
                Value::OptI64(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::OptText(v) => q.bind(v.as_deref()),
            };
        }
        q
    }
}
/// Escapes `%`, `_` and `\` for a `LIKE .. ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Largest counter the store keeps: sums saturate here, far below `i64::MAX`, so neither
/// backend ever overflows (PostgreSQL would fail the batch, SQLite would switch to REAL).
pub(crate) const COUNTER_MAX: i64 = 1 << 62;

/// A counter from the wire, clamped to [`COUNTER_MAX`].
pub(crate) fn counter(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX).min(COUNTER_MAX)
}

/// SQL for `table.column + excluded.column`, saturating at [`COUNTER_MAX`].
pub(crate) fn saturating_add(table: &str, column: &str) -> String {
    format!(
        "CASE WHEN {table}.{column} > {COUNTER_MAX} - excluded.{column} THEN {COUNTER_MAX} \
         ELSE {table}.{column} + excluded.{column} END"
    )
}

/// SQL for the smaller (`min = true`) or larger of `table.column` and `excluded.column`.
pub(crate) fn widen(table: &str, column: &str, min: bool) -> String {
    let op = if min { "<" } else { ">" };
    format!(
        "CASE WHEN excluded.{column} {op} {table}.{column} THEN excluded.{column} \
         ELSE {table}.{column} END"
    )
}

/// A flag as stored (BIGINT 0/1 on both backends).
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}
