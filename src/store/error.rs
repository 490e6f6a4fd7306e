use std::fmt;

/// What the store reports upward, whatever the engine. Engine error types
/// never leave their engine's module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("storage I/O: {0}")]
    Io(String),
    /// Writes cannot commit now (disk full, I/O error); the writer retries
    /// and recovers by itself. Nothing of the failed batch was acknowledged.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Too many concurrent writers to one record: nothing was changed, a
    /// retry soon succeeds.
    #[error("busy: {0}")]
    Busy(String),
    /// This engine does not do that (say what to do instead).
    #[error("{0}")]
    Unsupported(String),
}

impl StoreError {
    pub(crate) fn io(e: impl fmt::Display) -> Self {
        Self::Io(e.to_string())
    }
}

/// Why the database could not be opened. Each reads as one line for the CLI.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the database {0} is in use by another process (is `sessiond serve` running?); stop it or use another --data-dir"
    )]
    Locked(String),
    #[error("{0} is not a sessiond database (refusing to touch it)")]
    Foreign(String),
    #[error(
        "{path} has schema version {found}, newer than this sessiond supports ({supported}); upgrade sessiond"
    )]
    TooNew {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("cannot open {path}: {msg}")]
    Io { path: String, msg: String },
    #[error(
        "{path} is corrupt ({why}); refusing to serve it. Restore the last backup: `sessiond restore --from FILE` (README, Backup and restore)"
    )]
    Corrupt { path: String, why: String },
}
