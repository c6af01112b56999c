//! The store's one error type.

/// What went wrong in a store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Occurs when the row asked for does not exist, or exists outside the caller's scope (the
    /// two are deliberately indistinguishable).
    #[error("not found")]
    NotFound,
    /// Occurs when a write collides with existing data: a duplicate name, deleting a site that
    /// still has sensors, a token already used.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Occurs when the input is refused: a malformed batch, an unknown role, a value a schema
    /// constraint rejects.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Occurs when an enrolment token or a credential is unknown, expired or already used.
    #[error("not authorised")]
    Unauthorized,
    /// Occurs when the database itself fails (connection, I/O, an unexpected SQL error).
    #[error("database: {0}")]
    Database(#[source] sqlx::Error),
    /// Occurs when a migration fails or the database has a newer schema than this build.
    #[error("migration {version}: {message}")]
    Migration {
        /// The migration's number.
        version: i64,
        /// What failed.
        message: String,
    },
    /// Occurs when a stored JSON document cannot be read back (a damaged row).
    #[error("stored data: {0}")]
    Corrupt(String),
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::Conflict(db.message().to_owned()),
                ErrorKind::ForeignKeyViolation => Self::Conflict(db.message().to_owned()),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    Self::Invalid(db.message().to_owned())
                }
                _ => Self::Database(e),
            },
            _ => Self::Database(e),
        }
    }
}

impl From<ironward_model::BatchError> for StoreError {
    fn from(e: ironward_model::BatchError) -> Self {
        Self::Invalid(e.to_string())
    }
}
