//! The one writer thread: group commit, panic isolation, and recovery from
//! storage failures (disk full, I/O errors).
//!
//! Invariants:
//! - A caller is answered `Ok` only after the commit that holds its write
//!   returned `Ok`.
//! - Jobs are `Fn`: a batch may be applied more than once (after a job in it
//!   panicked, the transaction is dropped and the rest re-applied without it).
//! - After a failed commit redb refuses every later write on that handle, so
//!   the writer reopens the file and probes until a commit succeeds again;
//!   meanwhile writes answer `Unavailable` at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::time::{Duration, Instant};

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::StoreError;
use super::tables::META;
use super::views::WriteTx;
use crate::domain::DomainEvent;
use crate::events::Bus;
use crate::store::Tx;

/// Most commands one commit carries.
const MAX_BATCH: usize = 512;
/// While storage is failing, how often the writer tries a commit again.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The open database, swappable so the writer can reopen it after a failure.
pub(super) struct DbCell {
    db: RwLock<Option<Database>>,
    path: PathBuf,
    cache: usize,
    /// `false` while commits fail; `/readyz` reports it.
    writable: AtomicBool,
}

impl DbCell {
    pub(super) fn new(db: Database, path: PathBuf, cache: usize) -> Self {
        Self {
            db: RwLock::new(Some(db)),
            path,
            cache,
            writable: AtomicBool::new(true),
        }
    }

    pub(super) fn writable(&self) -> bool {
        self.writable.load(Ordering::Acquire)
    }

    /// Run `f` on the open database (`Unavailable` while it is being reopened).
    pub(super) fn with<R>(
        &self,
        f: impl FnOnce(&Database) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::Unavailable(
                "the database is being reopened".into(),
            )),
        }
    }

    /// Drop the failed handle and open the file again.
    fn reopen(&self) -> Result<(), StoreError> {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        guard.take();
        let db = Database::builder()
            .set_cache_size(self.cache)
            .open(&self.path)?;
        *guard = Some(db);
        Ok(())
    }
}

/// One queued write: applied (possibly more than once), then answered once.
pub(super) trait Job: Send {
    /// Apply to `tx`; `true` if storage itself failed (the batch must not commit).
    fn apply(&mut self, tx: &mut WriteTx<'_>) -> bool;
    /// Publish this job's events if it committed, then answer its caller.
    fn answer(self: Box<Self>, commit: Result<(), StoreError>, bus: &Bus);
}

struct Pending<F, R> {
    f: F,
    outcome: Option<Result<R, StoreError>>,
    /// From the latest apply only: a re-applied job emits afresh.
    events: Vec<DomainEvent>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> Job for Pending<F, R>
where
    F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send,
    R: Send,
{
    fn apply(&mut self, tx: &mut WriteTx<'_>) -> bool {
        let outcome = (self.f)(tx);
        // A failed command wrote nothing (check, then write): nothing to publish.
        let events = tx.take_events();
        self.events = if outcome.is_ok() { events } else { Vec::new() };
        let failed = matches!(outcome, Err(StoreError::Unavailable(_)));
        self.outcome = Some(outcome);
        failed
    }

    fn answer(self: Box<Self>, commit: Result<(), StoreError>, bus: &Bus) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(StoreError::Io("write was not applied".into())));
        if commit.is_ok() && outcome.is_ok() {
            bus.publish(&self.events);
        }
        let _ = self.reply.send(commit.and(outcome));
    }
}

pub(super) fn job<F, R>(f: F) -> (Box<dyn Job>, oneshot::Receiver<Result<R, StoreError>>)
where
    F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    let job = Pending {
        f,
        outcome: None,
        events: Vec::new(),
        reply,
    };
    (Box::new(job), rx)
}

pub(super) fn writer_loop(cell: Arc<DbCell>, rx: mpsc::Receiver<Box<dyn Job>>, bus: Arc<Bus>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_probe = Instant::now();
    loop {
        let first = if cell.writable() {
            rx.recv().ok()
        } else {
            match rx.recv_timeout(PROBE_EVERY) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    probe(&cell);
                    last_probe = Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
            }
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !cell.writable() && last_probe.elapsed() < PROBE_EVERY {
            // Fail fast between probes: nothing is attempted, nothing acknowledged.
            for job in batch.drain(..) {
                job.answer(Err(unavailable()), &bus);
            }
            continue;
        }
        last_probe = Instant::now();
        run_batch(&cell, &mut batch, &bus);
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("writes cannot be committed (disk full or I/O error)".into())
}

/// Apply every job in one transaction and commit; on a storage failure the
/// whole batch is answered `Unavailable` and the writer enters recovery.
fn run_batch(cell: &DbCell, batch: &mut Vec<Box<dyn Job>>, bus: &Bus) {
    loop {
        match apply_all(cell, batch) {
            Applied::Committed(result) => {
                if result.is_ok() {
                    set_writable(cell, true, None);
                }
                for job in batch.drain(..) {
                    job.answer(result.clone(), bus);
                }
                return;
            }
            Applied::StorageFailed(e) => {
                set_writable(cell, false, Some(&e));
                for job in batch.drain(..) {
                    job.answer(Err(unavailable()), bus);
                }
                if let Err(e) = cell.reopen() {
                    tracing::debug!(error = %e, "reopening the database failed; will retry");
                }
                return;
            }
            Applied::Panicked(i) => {
                // The transaction is gone (rolled back); answer the culprit
                // and re-apply the others without it.
                tracing::error!(
                    "a write job panicked; its caller gets an error, the rest are retried"
                );
                metrics::counter!("sessiond_writer_job_panics_total").increment(1);
                batch
                    .remove(i)
                    .answer(Err(StoreError::Io("the write job panicked".into())), bus);
                if batch.is_empty() {
                    return;
                }
            }
        }
    }
}

enum Applied {
    Committed(Result<(), StoreError>),
    StorageFailed(StoreError),
    Panicked(usize),
}

fn apply_all(cell: &DbCell, batch: &mut [Box<dyn Job>]) -> Applied {
    let txn: WriteTransaction = match cell.with(|db| Ok(db.begin_write()?)) {
        Ok(t) => t,
        Err(e) => return Applied::StorageFailed(e),
    };
    let mut txn = txn;
    txn.set_two_phase_commit(true);
    // Saves the allocator state with each commit: restart after a crash
    // needs no walk over the whole file (bounded start-up time and memory).
    txn.set_quick_repair(true);
    let mut storage_failed = false;
    {
        let mut tx = WriteTx::new(&txn);
        for (i, job) in batch.iter_mut().enumerate() {
            match catch_unwind(AssertUnwindSafe(|| job.apply(&mut tx))) {
                Ok(failed) => storage_failed |= failed,
                Err(_) => return Applied::Panicked(i),
            }
        }
    }
    if storage_failed {
        return Applied::StorageFailed(unavailable());
    }
    match txn.commit() {
        Ok(()) => Applied::Committed(Ok(())),
        Err(e) => match StoreError::from(e) {
            StoreError::Unavailable(m) => Applied::StorageFailed(StoreError::Unavailable(m)),
            other => Applied::Committed(Err(other)),
        },
    }
}

/// One small commit: does the disk take writes again?
fn probe(cell: &DbCell) {
    let attempt = cell.with(|db| {
        let txn = db.begin_write()?;
        txn.open_table(META)?
            .insert("writer_probe", [0u8].as_slice())?;
        txn.commit()?;
        Ok(())
    });
    match attempt {
        Ok(()) => set_writable(cell, true, None),
        Err(e) => {
            if let Err(e) = cell.reopen() {
                tracing::debug!(error = %e, "reopening the database failed; will retry");
            }
            tracing::debug!(error = %e, "storage still unavailable");
        }
    }
}

/// Log and count state changes only, never each failed request.
fn set_writable(cell: &DbCell, writable: bool, cause: Option<&StoreError>) {
    let was = cell.writable.swap(writable, Ordering::AcqRel);
    metrics::gauge!("sessiond_storage_writable").set(if writable { 1.0 } else { 0.0 });
    match (was, writable) {
        (true, false) => {
            metrics::counter!("sessiond_storage_failures_total").increment(1);
            let cause = cause.map(ToString::to_string).unwrap_or_default();
            tracing::error!(%cause, "storage unavailable: writes answer 503 until a commit succeeds again");
        }
        (false, true) => tracing::info!("storage available again: writes are accepted"),
        _ => {}
    }
}
