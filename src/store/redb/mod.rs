//! The embedded redb engine: opening and schema checks, the group-commit
//! writer, and typed views over read and write transactions.
//!
//! Every write goes through one writer thread. It drains its queue, applies
//! every queued command in one transaction, commits once, and only then
//! answers the callers (group commit): under load N fsyncs become one.
//! A command that fails must fail before it writes (check, then write).

mod backup;
pub mod bare;
mod check;
mod error;
mod migrate;
mod search;
pub mod tables;
mod views;
mod writer;

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, TableHandle};
use tokio::sync::oneshot;

pub use super::error::{OpenError, StoreError};
pub(crate) use super::records;
pub use super::records::{Stored, decode, encode};
use crate::store::{Rx, Tx};
pub use check::{CheckReport, check_file, check_offline};
pub use tables::{Ns, SCHEMA_VERSION};
use views::Snapshot;

use tables::META;

use crate::events::{Bus, Subscriber};
use writer::{DbCell, Job};

#[derive(Clone)]
pub struct Store {
    cell: Arc<DbCell>,
    jobs: mpsc::Sender<Box<dyn Job>>,
    bus: Arc<Bus>,
    path: Arc<PathBuf>,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

/// Waits for the writer thread, which closes the database cleanly (so the
/// next open needs no repair) once every `Store` handle is gone.
#[derive(Debug)]
pub struct Closer(std::thread::JoinHandle<()>);

impl Closer {
    /// Call after dropping every `Store` clone (and what holds them).
    pub fn wait(self) {
        if self.0.join().is_err() {
            tracing::error!("the writer thread panicked");
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub const DB_FILE: &str = "sessiond.redb";

impl Store {
    /// Open (or create) `dir/sessiond.redb` with the default page cache.
    pub fn open(dir: &Path) -> Result<Store, OpenError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Open (or create) `dir/sessiond.redb` and start the writer thread.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Store, OpenError> {
        let path = dir.join(DB_FILE);
        let shown = path.display().to_string();
        let io = |e: &dyn std::fmt::Display| OpenError::Io {
            path: shown.clone(),
            msg: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(&e))?;
        let fresh = std::fs::metadata(&path)
            .map(|m| m.len() == 0)
            .unwrap_or(true);
        if fresh {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io(&e))?;
        }
        // The storage engine may panic on a corrupt file: that is a corrupt
        // file, reported in one line, never a stack trace.
        let corrupt = |why: String| OpenError::Corrupt {
            path: shown.clone(),
            why,
        };
        let cache = usize::try_from(cache_bytes).unwrap_or(usize::MAX);
        let mut db = crate::telemetry::quietly(|| open_checked(&path, fresh, &shown, cache))
            .map_err(|why| corrupt(format!("the storage engine failed: {why}")))??;
        match compact_after_purges(&mut db, &path, COMPACT_AFTER_PURGED) {
            Ok(Some((before, after))) => {
                tracing::info!(before, after, "compacted the database file")
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "compaction skipped"),
        }
        // Ours (checked above): the file holds signing keys, so owner-only.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io(&e))?;

        let cell = Arc::new(DbCell::new(db, path.clone(), cache));
        let (tx, rx) = mpsc::channel();
        let writer_cell = cell.clone();
        let bus = Arc::new(Bus::new());
        let writer_bus = bus.clone();
        let thread = std::thread::Builder::new()
            .name("sessiond-writer".into())
            .spawn(move || writer::writer_loop(writer_cell, rx, writer_bus))
            .map_err(|e| io(&e))?;
        Ok(Store {
            cell,
            jobs: tx,
            bus,
            path: Arc::new(path),
            writer: Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    /// The after-commit seam: `s` sees the events of every later commit.
    pub fn subscribe(&self, s: Arc<dyn Subscriber>) {
        self.bus.subscribe(s);
    }

    /// The handle that waits for a clean close; `None` if already taken.
    pub fn closer(&self) -> Option<Closer> {
        self.writer.lock().ok()?.take().map(Closer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `false` while commits fail (disk full, I/O error); the writer recovers by itself.
    pub fn writable(&self) -> bool {
        self.cell.writable()
    }

    fn submit<R, F>(&self, f: F) -> oneshot::Receiver<Result<R, StoreError>>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let (job, rx) = writer::job(f);
        // If the writer is gone the receiver reports it below.
        let _ = self.jobs.send(job);
        rx
    }

    /// Run `f` in the next group commit; resolves once the commit is durable.
    /// `f` may run more than once (a batch is re-applied if another job in it
    /// panicked), so it is `Fn`: it reads its captures, never consumes them.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(f)
            .await
            .unwrap_or_else(|_| Err(StoreError::Io("writer stopped".into())))
    }

    /// [`Store::write`] for callers outside the async runtime (CLI).
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(f)
            .blocking_recv()
            .unwrap_or_else(|_| Err(StoreError::Io("writer stopped".into())))
    }

    /// A consistent snapshot read, on a blocking thread.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .unwrap_or_else(|e| Err(StoreError::io(e)))
    }

    pub fn read_blocking<R>(
        &self,
        f: impl FnOnce(&Rx<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let rx = Snapshot::new(self.begin_read()?);
        f(&rx)
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.cell.with(|db| Ok(db.begin_read()?))
    }
}

/// Files up to this size get redb's full page check at every start. It reads
/// every page: 145 ms for a 136 MiB file on the 2-core reference machine
/// (median of 3), so this bounds it near 100 ms; larger files are checked
/// by `sessiond check`.
const STARTUP_CHECK_MAX_BYTES: u64 = 96 * 1024 * 1024;

/// redb's page cache unless configured (its own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

fn open_checked(
    path: &Path,
    fresh: bool,
    shown: &str,
    cache: usize,
) -> Result<Database, OpenError> {
    let mut builder = Database::builder();
    builder.set_cache_size(cache);
    // A non-empty file is never initialised: a foreign file is refused, not overwritten.
    let opened = if fresh {
        builder.create(path)
    } else {
        builder.open(path)
    };
    let mut db = opened.map_err(|e| match e {
        DatabaseError::DatabaseAlreadyOpen => OpenError::Locked(shown.to_owned()),
        DatabaseError::Storage(redb::StorageError::Io(e))
            if e.kind() != std::io::ErrorKind::InvalidData =>
        {
            OpenError::Io {
                path: shown.to_owned(),
                msg: e.to_string(),
            }
        }
        DatabaseError::Storage(redb::StorageError::Corrupted(why)) => OpenError::Corrupt {
            path: shown.to_owned(),
            why,
        },
        _ => OpenError::Foreign(shown.to_owned()),
    })?;
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    if size <= STARTUP_CHECK_MAX_BYTES {
        let started = std::time::Instant::now();
        let checked = db.check_integrity();
        tracing::debug!(
            size,
            ms = started.elapsed().as_millis() as u64,
            "page check"
        );
        match checked {
            Ok(true) => {}
            Ok(false) => tracing::info!("repaired the database's allocator state"),
            Err(e) => {
                return Err(OpenError::Corrupt {
                    path: shown.to_owned(),
                    why: e.to_string(),
                });
            }
        }
    } else {
        tracing::info!(
            size,
            "large database: full page check skipped at start-up; run `sessiond check` while stopped"
        );
    }
    check_schema(&db, path, shown)?;
    Ok(db)
}

/// `meta` key counting sessions purged since the last compaction (u64 LE).
pub(crate) const META_PURGED: &str = "purged_since_compaction";
/// Purged sessions after which a start-up compaction is worth its time.
const COMPACT_AFTER_PURGED: u64 = 100_000;

fn purged_since_compaction(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read()?;
    let t = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let n = t
        .get(META_PURGED)?
        .and_then(|v| <[u8; 8]>::try_from(v.value()).ok());
    Ok(n.map_or(0, u64::from_le_bytes))
}

/// redb does not return freed pages to the OS. After retention has purged
/// many sessions, compact at start-up (the only time we hold the database
/// exclusively). A cheap counter decides: measuring free space walks every tree.
fn compact_after_purges(
    db: &mut Database,
    path: &Path,
    threshold: u64,
) -> Result<Option<(u64, u64)>, StoreError> {
    if purged_since_compaction(db)? < threshold {
        return Ok(None);
    }
    let before = std::fs::metadata(path).map_err(StoreError::io)?.len();
    for _ in 0..4 {
        if !db.compact().map_err(StoreError::io)? {
            break;
        }
    }
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert(META_PURGED, 0u64.to_le_bytes().as_slice())?;
    txn.commit()?;
    let after = std::fs::metadata(path).map_err(StoreError::io)?.len();
    Ok(Some((before, after)))
}

fn check_schema(db: &Database, path: &Path, shown: &str) -> Result<(), OpenError> {
    let foreign = || OpenError::Foreign(shown.to_owned());
    let io = |e: &dyn std::fmt::Display| OpenError::Io {
        path: shown.to_owned(),
        msg: e.to_string(),
    };
    let txn = db.begin_write().map_err(|e| io(&e))?;
    let found = {
        let meta = txn.open_table(META).map_err(|_| foreign())?;
        let v = meta.get("schema_version").map_err(|e| io(&e))?;
        v.map(|g| {
            let b = g.value();
            <[u8; 4]>::try_from(b)
                .map(u32::from_le_bytes)
                .map_err(|_| foreign())
        })
        .transpose()?
    };
    match found {
        Some(v) if v == SCHEMA_VERSION => Ok(()),
        Some(v) if v > SCHEMA_VERSION => Err(OpenError::TooNew {
            path: shown.to_owned(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        Some(v) if v >= migrate::OLDEST_SUPPORTED => {
            drop(txn);
            let started = std::time::Instant::now();
            let backup = migrate::migrate(db, path, v).map_err(|e| OpenError::Io {
                path: shown.to_owned(),
                msg: format!("migrating from schema {v} to {SCHEMA_VERSION} failed: {e}"),
            })?;
            tracing::info!(
                from = v,
                to = SCHEMA_VERSION,
                backup = %backup.display(),
                ms = started.elapsed().as_millis() as u64,
                "migrated the database; the backup holds the file as it was"
            );
            Ok(())
        }
        Some(_) => Err(foreign()),
        None => {
            let others = txn
                .list_tables()
                .map_err(|e| io(&e))?
                .any(|t| t.name() != "meta");
            if others {
                return Err(foreign());
            }
            let mut meta = txn.open_table(META).map_err(|e| io(&e))?;
            meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())
                .map_err(|e| io(&e))?;
            drop(meta);
            txn.commit().map_err(|e| io(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tables::Kind;
    use super::*;
    use crate::auth::TenantScope;
    use crate::domain::audit::ChainVerifier;
    use crate::domain::{Actor, AuditAction, AuditEvent, TenantId, Timestamp};

    fn acme() -> TenantScope {
        TenantScope::operator(TenantId::parse("acme").unwrap())
    }

    fn append(store: &Store, n: usize) {
        for i in 0..n {
            store
                .write_blocking(move |tx| {
                    let scope = acme();
                    let ev = AuditEvent::new(Actor::system(), AuditAction::Login)
                        .target(format!("user-{i}"));
                    tx.append_audit(Ns::from(&scope), Timestamp::from_millis(i as i64), ev)
                })
                .unwrap();
        }
    }

    fn verify(store: &Store) -> Result<u64, String> {
        store
            .read_blocking(|rx| {
                let scope = acme();
                let mut v = ChainVerifier::default();
                let mut err = None;
                rx.audit_scan(Ns::from(&scope), 1..=u64::MAX, false, &mut |e| {
                    let r = match e {
                        Ok(e) => v.feed(&e).map_err(|e| e.to_string()),
                        Err(seq) => Err(format!("entry {seq}: unreadable")),
                    };
                    err = r.err();
                    err.is_none()
                })?;
                Ok(err.map_or(Ok(v.entries), Err))
            })
            .unwrap()
    }

    #[test]
    fn changing_one_stored_byte_names_that_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        append(&store, 5);
        assert_eq!(verify(&store), Ok(5));

        // Flip one byte inside entry 3's stored bytes, bypassing every API.
        let name = tables::table_name(Ns::from(&acme()), Kind::Audit);
        let def = redb::TableDefinition::<u64, &[u8]>::new(&name);
        let txn = store.cell.with(|db| Ok(db.begin_write()?)).unwrap();
        {
            let mut t = txn.open_table(def).unwrap();
            let mut bytes = t.get(3).unwrap().unwrap().value().to_vec();
            let i = bytes.windows(6).position(|w| w == b"user-2").unwrap();
            bytes[i + 5] = b'9';
            t.insert(3, bytes.as_slice()).unwrap();
        }
        txn.commit().unwrap();

        let err = verify(&store).unwrap_err();
        assert!(err.starts_with("entry 3:"), "{err}");
    }

    /// How job `fail_at` of [`concurrent_appends`] goes wrong.
    #[derive(Clone, Copy)]
    enum Fail {
        /// Refuses before writing (check, then write).
        ConflictBefore,
        /// Panics after writing.
        PanicAfter,
    }

    /// `n` concurrent audit appends, queued together so they share batches.
    #[allow(clippy::panic)]
    fn concurrent_appends(
        store: &Store,
        n: usize,
        fail_at: usize,
        fail: Fail,
    ) -> Vec<Result<u64, StoreError>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    let s = store.clone();
                    tokio::spawn(async move {
                        s.write(move |tx| {
                            if i == fail_at && matches!(fail, Fail::ConflictBefore) {
                                return Err(StoreError::Conflict("no".into()));
                            }
                            let scope = acme();
                            let seq = tx.append_audit(
                                Ns::from(&scope),
                                Timestamp::from_millis(0),
                                AuditEvent::new(Actor::system(), AuditAction::Login),
                            )?;
                            if i == fail_at {
                                panic!("job {i} fails after writing");
                            }
                            Ok(seq)
                        })
                        .await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    }

    #[test]
    fn group_commit_applies_concurrent_writes_and_reports_each_result() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let seqs = concurrent_appends(&store, 64, 7, Fail::ConflictBefore);
        assert_eq!(seqs.iter().filter(|r| r.is_err()).count(), 1);
        let mut ok: Vec<u64> = seqs.into_iter().filter_map(Result::ok).collect();
        ok.sort_unstable();
        assert_eq!(ok, (1..=63).collect::<Vec<_>>());
        assert_eq!(verify(&store), Ok(63));
    }

    #[test]
    fn a_panicking_job_fails_its_caller_only_and_the_writer_survives() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let results = concurrent_appends(&store, 16, 5, Fail::PanicAfter);
        assert!(
            results[5].is_err(),
            "the panicking job's caller gets an error"
        );
        let mut ok: Vec<u64> = results.into_iter().filter_map(Result::ok).collect();
        assert_eq!(ok.len(), 15);
        ok.sort_unstable();
        // The panicking job's half-done write was rolled back: no gap, no extra entry.
        assert_eq!(ok, (1..=15).collect::<Vec<_>>());
        assert_eq!(verify(&store), Ok(15));
        // The writer still takes writes.
        append(&store, 1);
        assert_eq!(verify(&store), Ok(16));
    }

    /// Records every published event.
    #[derive(Default)]
    struct Seen(std::sync::Mutex<Vec<crate::domain::DomainEvent>>);

    impl Subscriber for Seen {
        fn on_commit(&self, events: &[crate::domain::DomainEvent]) {
            self.0.lock().unwrap().extend_from_slice(events);
        }
    }

    fn seen_seqs(seen: &Seen) -> Vec<u64> {
        let mut seqs: Vec<u64> = seen
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                crate::domain::DomainEvent::AuditAppended { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        seqs.sort_unstable();
        seqs
    }

    #[test]
    fn events_are_published_once_per_committed_write_never_for_a_rolled_back_one() {
        for fail in [Fail::PanicAfter, Fail::ConflictBefore] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let seen = Arc::new(Seen::default());
            store.subscribe(seen.clone());
            let results = concurrent_appends(&store, 32, 9, fail);
            let mut ok: Vec<u64> = results.into_iter().filter_map(Result::ok).collect();
            ok.sort_unstable();
            // The re-applied batch after the panic publishes afresh, not twice;
            // the failed job publishes nothing.
            assert_eq!(seen_seqs(&seen), ok);
            assert_eq!(ok.len(), 31);
        }
    }

    #[test]
    fn session_events_name_the_transition_once() {
        use crate::domain::{DomainEvent, RevokeReason, SessionId, SessionRecord, UserId};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let seen = Arc::new(Seen::default());
        store.subscribe(seen.clone());
        let sid = SessionId::from_u128(7);
        let uid = UserId::from_u128(8);
        let s = SessionRecord {
            id: sid,
            user_id: uid,
            created_at: Timestamp::from_millis(10),
            last_activity_at: Timestamp::from_millis(10),
            expires_at: Timestamp::from_millis(10_000),
            ip: None,
            user_agent: None,
            state: crate::domain::SessionState::Active,
            support: None,
        };
        let put = s.clone();
        store
            .write_blocking(move |tx| tx.put_session(Ns::from(&acme()), &put))
            .unwrap();
        // Revoking twice is one transition.
        for _ in 0..2 {
            store
                .write_blocking(move |tx| {
                    tx.update_sessions(Ns::from(&acme()), &[sid], &mut |old: &SessionRecord| {
                        old.is_active().then(|| SessionRecord {
                            state: crate::domain::SessionState::Revoked {
                                at: Timestamp::from_millis(20),
                                by: None,
                                reason: RevokeReason::AdminRevoked,
                                note: None,
                            },
                            ..old.clone()
                        })
                    })
                })
                .unwrap();
        }
        let tenant = Some(acme().tenant().clone());
        assert_eq!(
            *seen.0.lock().unwrap(),
            vec![
                DomainEvent::SessionCreated {
                    tenant: tenant.clone(),
                    session: sid,
                    user: uid,
                    at: Timestamp::from_millis(10),
                    support: false,
                },
                DomainEvent::SessionRevoked {
                    tenant,
                    session: sid,
                    user: uid,
                    at: Timestamp::from_millis(20),
                    by: None,
                    reason: RevokeReason::AdminRevoked,
                },
            ]
        );
    }

    #[test]
    fn many_purges_trigger_one_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        let mut db = Database::create(&path).unwrap();
        let blob = vec![7u8; 64 * 1024];
        for remove in [false, true] {
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(META).unwrap();
                for i in 0..200 {
                    let key = format!("blob-{i}");
                    if remove {
                        t.remove(key.as_str()).unwrap();
                    } else {
                        t.insert(key.as_str(), blob.as_slice()).unwrap();
                    }
                }
            }
            txn.commit().unwrap();
        }
        assert_eq!(
            compact_after_purges(&mut db, &path, 10).unwrap(),
            None,
            "no purges yet"
        );
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_PURGED, 10u64.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
        let (before, after) = compact_after_purges(&mut db, &path, 10)
            .unwrap()
            .expect("compacted");
        assert!(after * 2 < before, "{before} -> {after}");
        assert_eq!(purged_since_compaction(&db).unwrap(), 0, "counter reset");
        assert_eq!(compact_after_purges(&mut db, &path, 10).unwrap(), None);
    }

    #[test]
    fn foreign_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        std::fs::write(&path, b"definitely not a database").unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(OpenError::Foreign(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"definitely not a database");
    }

    #[test]
    fn redb_file_of_another_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(redb::TableDefinition::<u64, u64>::new("theirs"))
                .unwrap();
            txn.commit().unwrap();
        }
        assert!(matches!(
            Store::open(dir.path()),
            Err(OpenError::Foreign(_))
        ));
    }

    #[test]
    fn newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .write_blocking(|tx| tx.put_meta("schema_version", &99u32.to_le_bytes()))
                .unwrap();
        }
        // The writer thread drops its handle once every Store clone is gone.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, OpenError::TooNew { found: 99, .. }), "{err}");
        assert!(
            err.to_string()
                .contains("newer than this sessiond supports")
        );
    }

    #[test]
    fn second_open_while_held_is_locked_and_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path()).unwrap();
        assert!(matches!(Store::open(dir.path()), Err(OpenError::Locked(_))));
        let mode = std::fs::metadata(dir.path().join(DB_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
