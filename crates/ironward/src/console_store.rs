//! Opening the console's store the same way in every command: PostgreSQL when a URL is given,
//! otherwise the embedded SQLite database in the data directory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use ironward_store::Store;

/// Where the console keeps its data.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoreArgs {
    /// The console's data directory (SQLite database, TLS certificate, embedded sensor).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: PathBuf,

    /// A PostgreSQL database instead of the embedded SQLite one, e.g.
    /// `postgres://ironward@db.plant/ironward`.
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,
}

impl StoreArgs {
    /// Opens (creating and migrating as needed) the store.
    pub(crate) async fn open(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data)
            .with_context(|| format!("creating the data directory {}", self.data.display()))?;
        match &self.database {
            Some(url) => Store::connect(url)
                .await
                .with_context(|| format!("opening the database {}", redact(url))),
            None => Store::open_sqlite(&self.data)
                .await
                .with_context(|| format!("opening the database in {}", self.data.display())),
        }
    }

    /// The data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }
}

/// A database URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A tokio runtime for the console commands.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact("postgres://ironward:s3cret@db:5432/iw"),
            "postgres://ironward:***@db:5432/iw"
        );
        assert_eq!(
            redact("postgres://ironward@db/iw"),
            "postgres://ironward@db/iw"
        );
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
    }
}
