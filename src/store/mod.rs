//! The store: what the service layer persists, behind one API (`api.rs`),
//! with one module per engine: the embedded redb file (`redb/`, the
//! default) and PostgreSQL (`postgres/`, for several stateless nodes).
//! Record encodings (`records/`), namespaces and errors are shared.

mod api;
mod check;
pub mod copy;
mod error;
mod events_api;
mod ns;
pub mod postgres;
pub(crate) mod records;
pub mod redb;
mod walk;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use self::redb::{
    CheckReport, DB_FILE, DEFAULT_CACHE_BYTES, SCHEMA_VERSION, check_file, check_offline, tables,
};
pub use api::{IndexedSession, Reads, Rx, Tx, Writes};
pub use error::{OpenError, StoreError};
pub use events_api::{EventReads, EventWrites};
pub use ns::{DATA_META, KEYRING_META, Ns, SUCCESSOR_META, Space};
pub use records::{Stored, decode, encode};

use crate::events::Subscriber;

/// Where the data lives: the embedded file (default) or PostgreSQL.
#[derive(Debug, Clone)]
pub enum Location {
    File {
        dir: PathBuf,
        cache_bytes: u64,
    },
    Postgres {
        url: crate::auth::Secret,
        schema: String,
        pool: usize,
    },
}

/// A handle on the store, whichever engine holds the data. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store(Engine);

#[derive(Clone, Debug)]
enum Engine {
    Redb(self::redb::Store),
    Postgres(self::postgres::Store),
}

/// Waits for a clean close once every `Store` handle is gone.
#[derive(Debug)]
pub struct Closer(Option<self::redb::Closer>);

impl Closer {
    /// Call after dropping every `Store` clone (and what holds them).
    pub fn wait(self) {
        if let Some(c) = self.0 {
            c.wait();
        }
    }
}

impl Store {
    /// Open the store at `loc`, creating (or migrating) it as needed.
    pub fn open_at(loc: &Location) -> Result<Store, OpenError> {
        match loc {
            Location::File { dir, cache_bytes } => Self::open_with_cache(dir, *cache_bytes),
            Location::Postgres { url, schema, pool } => Self::connect(url.expose(), schema, *pool),
        }
    }

    /// Open (or create) the embedded database `dir/sessiond.redb`.
    pub fn open(dir: &Path) -> Result<Store, OpenError> {
        self::redb::Store::open(dir).map(|s| Store(Engine::Redb(s)))
    }

    /// [`Store::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, OpenError> {
        self::redb::Store::open_with_cache(dir, cache_bytes).map(|s| Store(Engine::Redb(s)))
    }

    /// Connect to PostgreSQL at `url` and bring its schemas up to date.
    /// `schema` names the platform schema (tenants get `{schema}_t_{slug}`).
    pub fn connect(url: &str, schema: &str, pool: usize) -> Result<Store, OpenError> {
        self::postgres::Store::connect(url, schema, pool).map(|s| Store(Engine::Postgres(s)))
    }

    /// Which engine, for logs and metrics: `redb` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match &self.0 {
            Engine::Redb(_) => "redb",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Whether other processes write to this store too (PostgreSQL nodes):
    /// in-memory state read from it must then be refreshed.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Engine::Postgres(_))
    }

    /// The embedded database file; `None` on PostgreSQL.
    pub fn file(&self) -> Option<&Path> {
        match &self.0 {
            Engine::Redb(s) => Some(s.path()),
            Engine::Postgres(_) => None,
        }
    }

    /// The after-commit seam: `s` sees the events of every later commit
    /// made through this process.
    pub fn subscribe(&self, s: Arc<dyn Subscriber>) {
        match &self.0 {
            Engine::Redb(e) => e.subscribe(s),
            Engine::Postgres(e) => e.subscribe(s),
        }
    }

    /// The handle that waits for a clean close; `None` if already taken.
    pub fn closer(&self) -> Option<Closer> {
        match &self.0 {
            Engine::Redb(e) => e.closer().map(|c| Closer(Some(c))),
            Engine::Postgres(_) => Some(Closer(None)),
        }
    }

    /// `false` while commits fail; the engine recovers by itself.
    pub fn writable(&self) -> bool {
        match &self.0 {
            Engine::Redb(e) => e.writable(),
            Engine::Postgres(e) => e.writable(),
        }
    }

    /// Run `f` in a write transaction; resolves once the commit is durable.
    /// `f` may run more than once, so it is `Fn`: it reads its captures,
    /// never consumes them, and checks before it writes.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        match &self.0 {
            Engine::Redb(e) => e.write(f).await,
            Engine::Postgres(e) => e.write(f).await,
        }
    }

    /// [`Store::write`] for callers outside the async runtime (CLI).
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        match &self.0 {
            Engine::Redb(e) => e.write_blocking(f),
            Engine::Postgres(e) => e.write_blocking(f),
        }
    }

    /// A consistent snapshot read, off the async threads.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        match &self.0 {
            Engine::Redb(e) => e.read(f).await,
            Engine::Postgres(e) => e.read(f).await,
        }
    }

    /// A few point reads on the hot path: inline where the engine answers
    /// from memory (redb); on PostgreSQL without a transaction (each read
    /// sees the latest commit, so a revocation is seen at once).
    pub async fn read_point<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        match &self.0 {
            Engine::Redb(e) => e.read_blocking(f),
            Engine::Postgres(e) => e.read_point(f).await,
        }
    }

    /// [`Store::read`] on this thread, for callers outside the async runtime
    /// (CLI, streaming exports on a blocking thread).
    pub fn read_blocking<R: Send>(
        &self,
        f: impl FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send,
    ) -> Result<R, StoreError> {
        match &self.0 {
            Engine::Redb(e) => e.read_blocking(f),
            Engine::Postgres(e) => e.read_blocking(f),
        }
    }

    /// A consistent copy of the embedded database in a new owner-only file
    /// beside it (removed again if the copy fails): its path and the rows
    /// copied. PostgreSQL is backed up with its own tools (`pg_dump`).
    pub fn backup(&self) -> Result<(PathBuf, u64), StoreError> {
        match &self.0 {
            Engine::Redb(e) => {
                let dir = e.path().parent().map(PathBuf::from).unwrap_or_default();
                let path = dir.join(format!(".backup-{}.redb", uuid::Uuid::now_v7()));
                // The copy holds the signing keys: owner-only from the first byte.
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| {
                        StoreError::Io(format!("cannot create {}: {e}", path.display()))
                    })?;
                match e.backup_to(&path) {
                    Ok(rows) => Ok((path, rows)),
                    Err(err) => {
                        let _ = std::fs::remove_file(&path);
                        Err(err)
                    }
                }
            }
            Engine::Postgres(_) => Err(StoreError::Unsupported(
                "a PostgreSQL store is backed up with pg_dump (README, Running several nodes)"
                    .into(),
            )),
        }
    }

    /// Every record decodes and every audit chain verifies, on a live snapshot.
    pub fn check_online(&self) -> Result<CheckReport, StoreError> {
        match &self.0 {
            Engine::Redb(e) => e.check_online(),
            Engine::Postgres(e) => e.check_online(),
        }
    }

    /// Run `f` only on the one node that leads background work (grant
    /// expiry, retention, key rotation); always here on the embedded engine.
    pub async fn leading(&self) -> bool {
        match &self.0 {
            Engine::Redb(_) => true,
            Engine::Postgres(e) => e.leading().await,
        }
    }
}
