//! The PostgreSQL engine, for several stateless nodes on one database.
//!
//! A pool of blocking connections (the store API is synchronous inside a
//! transaction); async callers run their transaction on tokio's blocking
//! pool.
//!
//! Writes run REPEATABLE READ: of two transactions that write one row the
//! second to commit fails and its closure is re-run on a fresh snapshot, so
//! a race on one record has exactly one winner (two nodes rotating one
//! refresh token, a revoke racing a refresh: both write the session and
//! the token's row; two appends to one audit chain: both lock its head).
//! Invariants across records sit on a unique index (emails, slugs, client
//! ids). SERIALIZABLE would add nothing here but false conflicts on shared
//! index pages (refreshes of different chains aborting each other).
//! Reads run on a read-only REPEATABLE READ snapshot.

pub mod bare;
mod schema;
mod tls;
mod views;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, IsolationLevel};

use tls::Tls;

pub use schema::Names;
use views::{Link, PgTx, Statements};

use super::{CheckReport, OpenError, Rx, StoreError, Tx};
use crate::events::{Bus, Subscriber};

/// Tenant schemas known to exist (they are never dropped while serving).
#[derive(Debug, Default)]
pub struct Known(Mutex<HashSet<String>>);

impl Known {
    fn contains(&self, raw: &str) -> bool {
        self.0.lock().is_ok_and(|k| k.contains(raw))
    }

    fn insert(&self, raw: String) {
        if let Ok(mut k) = self.0.lock() {
            k.insert(raw);
        }
    }
}

/// Attempts of one write before it gives up as contended.
const MAX_ATTEMPTS: u32 = 30;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    bus: Arc<Bus>,
    shared: Arc<Shared>,
    /// The connection holding the leadership lock, while this node leads.
    leader: tokio::sync::Mutex<Option<Client>>,
}

/// What every connection needs.
struct Shared {
    config: postgres::Config,
    tls: Tls,
    names: Names,
    known: Known,
    writable: AtomicBool,
}

/// At most `size` connections, each used by one thread at a time.
struct Pool {
    idle: Mutex<Vec<Conn>>,
    freed: Condvar,
}

/// A checked-out connection, returned to the pool on drop.
struct Lease<'p> {
    pool: &'p Pool,
    conn: Conn,
}

impl Pool {
    fn lease(&self) -> Lease<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = idle.pop() {
                return Lease { pool: self, conn };
            }
            idle = self
                .freed
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let c = std::mem::replace(&mut self.conn, Conn::closed());
        self.pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(c);
        self.pool.freed.notify_one();
    }
}

impl Drop for Inner {
    /// A client owns a small runtime of its own, which must not be dropped
    /// inside an async context: the connections close on a plain thread.
    fn drop(&mut self) {
        let idle = std::mem::take(
            self.pool
                .idle
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let leader = self.leader.get_mut().take();
        let close = move || drop((idle, leader));
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(close).join();
        } else {
            close();
        }
    }
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the schema is shown.
        f.debug_struct("postgres::Store")
            .field("schema", &self.inner.shared.names.prefix())
            .finish_non_exhaustive()
    }
}

/// One pooled connection (opened on first use, re-opened after it breaks)
/// and its prepared statements.
struct Conn {
    client: Option<Client>,
    stmts: Statements,
}

impl Conn {
    /// Not connected yet (it connects on first use).
    fn closed() -> Self {
        Conn {
            client: None,
            stmts: Statements::new(),
        }
    }

    /// The live client and the statement cache, borrowed apart.
    fn open(&mut self, shared: &Shared) -> Result<(&mut Client, &mut Statements), StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.stmts.clear();
            self.client = None;
            let c = shared.tls.connect(&shared.config).map_err(|e| {
                shared.writable.store(false, Ordering::Relaxed);
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", pg_error(&e)))
            })?;
            self.client = Some(c);
        }
        match &mut self.client {
            Some(c) => Ok((c, &mut self.stmts)),
            None => Err(StoreError::Unavailable("no connection".into())),
        }
    }
}

/// The store's view of a database error (its message has no secrets: the
/// URL is never part of one).
pub(crate) fn pg_error(e: &postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(
            e.as_db_error()
                .map_or(e.to_string(), |d| d.message().into()),
        ),
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::TOO_MANY_CONNECTIONS => {
            StoreError::Unavailable(e.to_string())
        }
        Some(_) => StoreError::Io(
            e.as_db_error()
                .map_or(e.to_string(), |d| d.message().into()),
        ),
        None if e.is_closed() => {
            StoreError::Unavailable("the connection to PostgreSQL broke".into())
        }
        None => StoreError::Unavailable(format!("PostgreSQL: {}", with_causes(e))),
    }
}

/// The error and every cause it does not already show (a TLS failure says why).
fn with_causes(e: &postgres::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !out.contains(&c_text) {
            out = format!("{out}: {c_text}");
        }
        cause = c.source();
    }
    out
}

/// Lost a race that a fresh attempt can win.
fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

impl Store {
    /// Connect, migrate under the advisory lock, fill a pool of `pool`.
    pub fn connect(url: &str, prefix: &str, pool: usize) -> Result<Store, OpenError> {
        // The client blocks on a runtime of its own: off any async thread.
        std::thread::scope(|s| {
            s.spawn(|| Self::connect_here(url, prefix, pool))
                .join()
                .unwrap_or_else(|_| {
                    Err(OpenError::Io {
                        path: format!("PostgreSQL schema {prefix}"),
                        msg: "connecting panicked".into(),
                    })
                })
        })
    }

    fn connect_here(url: &str, prefix: &str, pool: usize) -> Result<Store, OpenError> {
        let shown = format!("PostgreSQL schema {prefix}");
        let fail = |msg: String| OpenError::Io {
            path: shown.clone(),
            msg,
        };
        let names = Names::new(prefix).map_err(&fail)?;
        let (mut config, tls) = tls::parse(url).map_err(&fail)?;
        if config.get_application_name().is_none() {
            config.application_name("sessiond");
        }
        config.connect_timeout(Duration::from_secs(10));
        let mut first = tls
            .connect(&config)
            .map_err(|e| fail(format!("cannot connect: {}", pg_error(&e))))?;
        schema::migrate(&mut first, &names).map_err(&fail)?;
        let known = Known::default();
        let pattern = names.tenant_pattern();
        for row in first
            .query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1",
                &[&pattern],
            )
            .map_err(|e| fail(pg_error(&e).to_string()))?
        {
            known.insert(row.get(0));
        }
        let shared = Arc::new(Shared {
            config,
            tls,
            names,
            known,
            writable: AtomicBool::new(true),
        });
        let mut idle: Vec<Conn> = (1..pool.max(1)).map(|_| Conn::closed()).collect();
        idle.push(Conn {
            client: Some(first),
            stmts: Statements::new(),
        });
        Ok(Store {
            inner: Arc::new(Inner {
                pool: Pool {
                    idle: Mutex::new(idle),
                    freed: Condvar::new(),
                },
                bus: Arc::new(Bus::new()),
                shared,
                leader: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn subscribe(&self, s: Arc<dyn Subscriber>) {
        self.inner.bus.subscribe(s);
    }

    pub fn writable(&self) -> bool {
        self.inner.shared.writable.load(Ordering::Relaxed)
    }

    /// Run `f` on a pooled connection. The blocking client must not run on
    /// an async worker: a multi-thread worker hands its tasks off first, a
    /// current-thread runtime (tests, the CLI) lends a scoped thread.
    fn on_conn<R: Send>(
        &self,
        f: impl FnOnce(&mut Conn, &Shared) -> Result<R, StoreError> + Send,
    ) -> Result<R, StoreError> {
        let inner = &self.inner;
        let run = || f(inner.pool.lease().conn(), &inner.shared);
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(run)
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(run)
                    .join()
                    .unwrap_or_else(|_| Err(StoreError::Io("a store call panicked".into())))
            }),
            Err(_) => run(),
        }
    }

    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(f))
            .await
            .unwrap_or_else(|e| Err(StoreError::io(e)))
    }

    pub fn write_blocking<R: Send, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: Fn(&mut Tx<'_>) -> Result<R, StoreError> + Send,
    {
        let bus = self.inner.bus.clone();
        self.on_conn(move |conn, shared| run_write(conn, shared, &f, &bus))
    }

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

    pub fn read_blocking<R: Send>(
        &self,
        f: impl FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send,
    ) -> Result<R, StoreError> {
        self.on_conn(|conn, shared| run_read(conn, shared, f))
    }

    /// A few point reads without a transaction (each statement sees the
    /// latest commit): two round trips fewer than [`Store::read`], for the
    /// per-request session check.
    pub async fn read_point<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Rx<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            store.on_conn(|conn, shared| {
                let (client, stmts) = conn.open(shared)?;
                let tx = PgTx::new(Link::Auto(client), stmts, &shared.names, &shared.known);
                f(&tx)
            })
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::io(e)))
    }

    /// Every record decodes and every audit chain verifies.
    pub fn check_online(&self) -> Result<CheckReport, StoreError> {
        self.read_blocking(|rx| super::check::check_reads(rx))
    }

    /// Whether this node leads background work: it holds a session-level
    /// advisory lock on a connection of its own, which PostgreSQL releases
    /// the moment that node dies; another node takes it on its next try.
    pub async fn leading(&self) -> bool {
        let mut held = self.inner.leader.lock().await;
        let shared = self.inner.shared.clone();
        let current = held.take();
        let outcome = tokio::task::spawn_blocking(move || lead(&shared, current)).await;
        match outcome {
            Ok(Some(client)) => {
                *held = Some(client);
                true
            }
            _ => false,
        }
    }
}

/// Keep (or try to take) the leadership lock; the connection if we hold it.
fn lead(shared: &Shared, current: Option<Client>) -> Option<Client> {
    if let Some(mut c) = current
        && c.simple_query("SELECT 1").is_ok()
    {
        return Some(c);
    }
    let mut c = shared.tls.connect(&shared.config).ok()?;
    let key = shared.names.lock_key("lead");
    let row = c
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .ok()?;
    row.get::<_, bool>(0).then_some(c)
}

fn run_read<R>(
    conn: &mut Conn,
    shared: &Shared,
    f: impl FnOnce(&Rx<'_>) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    let (client, stmts) = conn.open(shared)?;
    let txn = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| pg_error(&e))?;
    let tx = PgTx::new(Link::Tx(txn), stmts, &shared.names, &shared.known);
    let out = f(&tx);
    // Read-only: nothing to keep; commit only ends the snapshot.
    let _ = tx.commit();
    out
}

fn run_write<R>(
    conn: &mut Conn,
    shared: &Shared,
    f: &dyn Fn(&mut Tx<'_>) -> Result<R, StoreError>,
    bus: &Bus,
) -> Result<R, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (client, stmts) = conn.open(shared)?;
        let txn = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()
            .map_err(|e| pg_error(&e))?;
        let mut tx = PgTx::new(Link::Tx(txn), stmts, &shared.names, &shared.known);
        let out = f(&mut tx);
        let lost_race = tx.retry.get();
        let (events, created) = (
            std::mem::take(&mut tx.events),
            std::mem::take(&mut tx.created),
        );
        match out {
            Ok(r) if !lost_race => match tx.commit() {
                Ok(()) => {
                    shared.writable.store(true, Ordering::Relaxed);
                    for raw in created {
                        shared.known.insert(raw);
                    }
                    bus.publish(&events);
                    return Ok(r);
                }
                Err(e) if retryable(&e) => {}
                Err(e) => {
                    let e = pg_error(&e);
                    if matches!(e, StoreError::Unavailable(_)) {
                        shared.writable.store(false, Ordering::Relaxed);
                    }
                    return Err(e);
                }
            },
            // Dropping the transaction rolls it back.
            Err(e) if !lost_race => return Err(e),
            _ => {}
        }
        if attempt >= MAX_ATTEMPTS {
            return Err(StoreError::Busy(
                "too many concurrent writes to one record; try again".into(),
            ));
        }
        // Spread the retries of racing writers apart.
        let jitter = u64::from(getrandom::u32().unwrap_or(0) % 4);
        std::thread::sleep(Duration::from_millis(u64::from(attempt.min(10)) + jitter));
    }
}
