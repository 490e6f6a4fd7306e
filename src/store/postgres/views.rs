//! PostgreSQL's implementation of the store API: one transaction, the
//! records in their versioned encodings (`store::records`) beside the
//! columns that queries need. Every statement is prepared once per
//! connection; every identifier comes from [`Names`] and is quoted.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, Row, Statement, Transaction};
use uuid::Uuid;

use super::schema::{self, Names, quote};
use super::{Known, pg_error, retryable};
use crate::auth::TenantScope;
use crate::domain::audit::{AuditEntry, Hash};
use crate::domain::query::{Activity, BulkFilter, SessionQuery};
use crate::domain::session::RefreshRecord;
use crate::domain::{
    AuditEvent, ClientId, ClientRecord, DomainEvent, GrantId, GrantRecord, SessionId,
    SessionRecord, TenantId, TenantRecord, Timestamp, UserId, UserRecord,
};
use crate::store::api::{Reads, Writes, extends, own_grant, session_event};
use crate::store::records::{Stored, decode, encode};
use crate::store::{Ns, StoreError};

mod outbox;
mod query;

/// Prepared statements of one connection, by SQL text.
pub type Statements = HashMap<String, Statement>;
/// Enough for every statement of a few hundred tenants; then start afresh.
const MAX_STATEMENTS: usize = 8192;

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

/// Where statements go: a transaction, or (point reads) the bare
/// connection, each statement its own snapshot.
pub enum Link<'c> {
    Tx(Transaction<'c>),
    Auto(&'c mut Client),
}

impl Link<'_> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        match self {
            Link::Tx(t) => t.prepare(sql),
            Link::Auto(c) => c.prepare(sql),
        }
    }

    fn query(&mut self, s: &Statement, params: Params<'_>) -> Result<Vec<Row>, postgres::Error> {
        match self {
            Link::Tx(t) => t.query(s, params),
            Link::Auto(c) => c.query(s, params),
        }
    }

    fn batch_execute(&mut self, sql: &str) -> Result<(), postgres::Error> {
        match self {
            Link::Tx(t) => t.batch_execute(sql),
            Link::Auto(c) => c.batch_execute(sql),
        }
    }
}

pub struct PgTx<'c> {
    txn: RefCell<Link<'c>>,
    stmts: RefCell<&'c mut Statements>,
    names: &'c Names,
    known: &'c Known,
    /// A statement failed for a reason that a fresh attempt may not meet.
    pub(super) retry: Cell<bool>,
    pub(super) events: Vec<DomainEvent>,
    /// Tenant schemas this transaction created (known once it commits).
    pub(super) created: Vec<String>,
}

fn uid(id: u128) -> Uuid {
    Uuid::from_u128(id)
}

fn rec<T: Stored>(row: &Row, i: usize) -> Result<T, StoreError> {
    decode(row.get::<_, &[u8]>(i))
}

fn one<T: Stored>(rows: Vec<Row>) -> Result<Option<T>, StoreError> {
    rows.first().map(|r| rec(r, 0)).transpose()
}

fn all<T: Stored>(rows: Vec<Row>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|r| rec(r, 0)).collect()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// What `q` matches against (see [`UserRecord::matches`]).
fn search_text(u: &UserRecord) -> String {
    format!("{}\n{}", u.email, u.display_name.to_lowercase())
}

impl<'c> PgTx<'c> {
    pub fn new(
        txn: Link<'c>,
        stmts: &'c mut Statements,
        names: &'c Names,
        known: &'c Known,
    ) -> Self {
        if stmts.len() > MAX_STATEMENTS {
            stmts.clear();
        }
        Self {
            txn: RefCell::new(txn),
            stmts: RefCell::new(stmts),
            names,
            known,
            retry: Cell::new(false),
            events: Vec::new(),
            created: Vec::new(),
        }
    }

    pub fn commit(self) -> Result<(), postgres::Error> {
        match self.txn.into_inner() {
            Link::Tx(t) => t.commit(),
            Link::Auto(_) => Ok(()),
        }
    }

    fn fail(&self, e: postgres::Error) -> StoreError {
        if retryable(&e) {
            self.retry.set(true);
        }
        pg_error(&e)
    }

    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let mut txn = self.txn.borrow_mut();
        let mut stmts = self.stmts.borrow_mut();
        let stmt = match stmts.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = txn.prepare(sql).map_err(|e| self.fail(e))?;
                stmts.insert(sql.to_owned(), s.clone());
                s
            }
        };
        txn.query(&stmt, params).map_err(|e| self.fail(e))
    }

    fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        Ok(self
            .query(
                &format!("WITH done AS ({sql} RETURNING 1) SELECT count(*) FROM done"),
                params,
            )?
            .first()
            .map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    /// The quoted schema of `ns` if it exists. A tenant's schema appears
    /// with the tenant; reading a namespace that does not exist finds nothing.
    fn schema(&self, ns: Ns<'_>) -> Result<Option<String>, StoreError> {
        let raw = self.names.raw(ns);
        if self.known.contains(&raw) || self.created.contains(&raw) {
            return Ok(Some(quote(&raw)));
        }
        let found = !self
            .query("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&raw])?
            .is_empty();
        if found {
            self.known.insert(raw.clone());
        }
        Ok(found.then(|| quote(&raw)))
    }

    /// The quoted schema of `ns`, created if missing (as redb creates tables).
    fn schema_w(&mut self, ns: Ns<'_>) -> Result<String, StoreError> {
        if let Some(s) = self.schema(ns)? {
            return Ok(s);
        }
        let raw = self.names.raw(ns);
        self.create_schema(&raw)?;
        Ok(quote(&raw))
    }

    fn create_schema(&mut self, raw: &str) -> Result<(), StoreError> {
        let ddl = schema::namespace_ddl(raw);
        let r = self.txn.get_mut().batch_execute(&ddl);
        r.map_err(|e| {
            // Two nodes creating one schema at once: the loser retries.
            self.retry.set(true);
            pg_error(&e)
        })?;
        self.created.push(raw.to_owned());
        Ok(())
    }

    fn p(&self) -> String {
        self.names.platform()
    }

    fn session_row(s: &SessionRecord) -> (Uuid, Uuid, bool, i64, Vec<u8>) {
        (
            uid(s.id.as_u128()),
            uid(s.user_id.as_u128()),
            !s.is_active(),
            s.last_activity_at.millis(),
            encode(s),
        )
    }

    fn write_session(
        &mut self,
        ns: Ns<'_>,
        old: Option<&SessionRecord>,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        let (id, user, revoked, last, bytes) = Self::session_row(s);
        self.query(
            &format!(
                "INSERT INTO {sc}.sessions (id, user_id, revoked, last_active, rec) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET revoked = EXCLUDED.revoked,
                 last_active = EXCLUDED.last_active, rec = EXCLUDED.rec"
            ),
            &[&id, &user, &revoked, &last, &bytes],
        )?;
        self.events.extend(session_event(ns, old, s));
        let ev = crate::store::events_api::revocation(ns, old, s);
        self.append_events(ns, ev.into_iter().collect())
    }

    /// The schema and its chain head, row-locked: the lock keeps the chain
    /// linear across nodes.
    fn lock_audit_head(&mut self, ns: Ns<'_>) -> Result<(String, (u64, Hash)), StoreError> {
        let sc = self.schema_w(ns)?;
        let h = head(self.query(
            &format!("SELECT seq, hash FROM {sc}.audit_head FOR UPDATE"),
            &[],
        )?)?;
        Ok((sc, h))
    }

    fn insert_audit(&mut self, sc: &str, e: &AuditEntry) -> Result<(), StoreError> {
        let seq = e.seq as i64;
        self.query(
            &format!("INSERT INTO {sc}.audit (seq, rec) VALUES ($1, $2)"),
            &[&seq, &encode(e)],
        )?;
        self.query(
            &format!("UPDATE {sc}.audit_head SET seq = $1, hash = $2"),
            &[&seq, &e.hash.as_slice()],
        )?;
        Ok(())
    }

    fn audit_page(
        &self,
        sc: &str,
        lo: i64,
        hi: i64,
        newest_first: bool,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let order = if newest_first { "DESC" } else { "ASC" };
        let rows = self.query(
            &format!(
                "SELECT seq, rec FROM {sc}.audit WHERE seq >= $1 AND seq <= $2 ORDER BY seq {order} LIMIT 256"
            ),
            &[&lo, &hi],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

impl Reads for PgTx<'_> {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            &format!("SELECT value FROM {}.meta WHERE key = $1", self.p()),
            &[&key],
        )?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    fn tenant(&self, slug: &TenantId) -> Result<Option<TenantRecord>, StoreError> {
        one(self.query(
            &format!("SELECT rec FROM {}.tenants WHERE slug = $1", self.p()),
            &[&slug.as_str()],
        )?)
    }

    fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        all(self.query(
            &format!("SELECT rec FROM {}.tenants ORDER BY slug", self.p()),
            &[],
        )?)
    }

    fn grant(&self, t: &TenantScope, id: GrantId) -> Result<Option<GrantRecord>, StoreError> {
        let Some(sc) = self.schema(Ns::from(t))? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.grants WHERE id = $1"),
            &[&uid(id.as_u128())],
        )?)
    }

    fn grants(&self, t: &TenantScope) -> Result<Vec<GrantRecord>, StoreError> {
        let Some(sc) = self.schema(Ns::from(t))? else {
            return Ok(Vec::new());
        };
        all(self.query(&format!("SELECT rec FROM {sc}.grants ORDER BY id"), &[])?)
    }

    fn grant_tenants(&self) -> Result<Vec<(GrantId, TenantId)>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT id, tenant FROM {}.grant_tenant ORDER BY id",
                self.p()
            ),
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let slug = TenantId::parse(r.get::<_, &str>(1))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((GrantId::from_u128(r.get::<_, Uuid>(0).as_u128()), slug))
            })
            .collect()
    }

    fn client_tenant(&self, id: ClientId) -> Result<Option<TenantId>, StoreError> {
        let rows = self.query(
            &format!(
                "SELECT tenant FROM {}.client_tenant WHERE id = $1",
                self.p()
            ),
            &[&uid(id.as_u128())],
        )?;
        rows.first()
            .map(|r| {
                TenantId::parse(r.get::<_, &str>(0)).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    fn user(&self, ns: Ns<'_>, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.users WHERE id = $1"),
            &[&uid(id.as_u128())],
        )?)
    }

    fn user_by_email(&self, ns: Ns<'_>, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.users WHERE email = $1"),
            &[&email],
        )?)
    }

    fn users_matching(
        &self,
        ns: Ns<'_>,
        key: &str,
        after: Option<UserId>,
        limit_n: usize,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT rec FROM {sc}.users WHERE search LIKE $1 ESCAPE '\\' AND id > $2 ORDER BY id LIMIT 512"
        );
        let pattern = query::contains_pattern(key);
        let mut out = Vec::new();
        // The nil id is never issued (UUIDv7), so `> nil` is "from the start".
        let mut after = uid(after.map_or(0, |a| a.as_u128()));
        loop {
            let batch: Vec<UserRecord> = all(self.query(&sql, &[&pattern, &after])?)?;
            for u in &batch {
                if out.len() == limit_n {
                    return Ok(out);
                }
                if u.matches(key) {
                    out.push(u.clone());
                }
            }
            match batch.last() {
                Some(u) if batch.len() == 512 => after = uid(u.id.as_u128()),
                _ => return Ok(out),
            }
        }
    }

    fn user_candidates(&self, ns: Ns<'_>, key: &str) -> Result<Vec<UserId>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let rows = self.query(
            &format!("SELECT id FROM {sc}.users WHERE search LIKE $1 ESCAPE '\\' ORDER BY id"),
            &[&query::contains_pattern(key)],
        )?;
        Ok(rows
            .iter()
            .map(|r| UserId::from_u128(r.get::<_, Uuid>(0).as_u128()))
            .collect())
    }

    fn users(
        &self,
        ns: Ns<'_>,
        after: Option<UserId>,
        n: usize,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let rows = match after {
            Some(a) => self.query(
                &format!("SELECT rec FROM {sc}.users WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&uid(a.as_u128()), &limit(n)],
            )?,
            None => self.query(
                &format!("SELECT rec FROM {sc}.users ORDER BY id LIMIT $1"),
                &[&limit(n)],
            )?,
        };
        all(rows)
    }

    fn session(&self, ns: Ns<'_>, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.sessions WHERE id = $1"),
            &[&uid(id.as_u128())],
        )?)
    }

    fn users_by_ids(&self, ns: Ns<'_>, ids: &[UserId]) -> Result<Vec<UserRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let ids: Vec<Uuid> = ids.iter().map(|u| uid(u.as_u128())).collect();
        all(self.query(
            &format!("SELECT rec FROM {sc}.users WHERE id = ANY($1)"),
            &[&ids],
        )?)
    }

    fn sessions_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let ids: Vec<Uuid> = users.iter().map(|u| uid(u.as_u128())).collect();
        all(self.query(
            &format!("SELECT rec FROM {sc}.sessions WHERE user_id = ANY($1)"),
            &[&ids],
        )?)
    }

    fn sessions_by_ids(
        &self,
        ns: Ns<'_>,
        ids: &[SessionId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        match self.schema(ns)? {
            Some(sc) => self.sessions_by_ids_sql(&sc, ids),
            None => Ok(Vec::new()),
        }
    }

    fn query_sessions(
        &self,
        ns: Ns<'_>,
        q: &SessionQuery,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        match self.schema(ns)? {
            Some(sc) => self.query_sessions_sql(&sc, q, at),
            None => Ok(Vec::new()),
        }
    }

    fn bulk_targets(
        &self,
        ns: Ns<'_>,
        f: &BulkFilter,
        except: Option<SessionId>,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionId>, StoreError> {
        match self.schema(ns)? {
            Some(sc) => self.bulk_targets_sql(&sc, f, except, at),
            None => Ok(Vec::new()),
        }
    }

    fn count_active(&self, ns: Ns<'_>, idle_cutoff_ms: i64) -> Result<u64, StoreError> {
        match self.schema(ns)? {
            Some(sc) => self.count_active_sql(&sc, idle_cutoff_ms),
            None => Ok(0),
        }
    }

    fn session_ids_of_user(&self, ns: Ns<'_>, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let rows = self.query(
            &format!("SELECT id FROM {sc}.sessions WHERE user_id = $1 ORDER BY id"),
            &[&uid(user.as_u128())],
        )?;
        Ok(rows
            .iter()
            .map(|r| SessionId::from_u128(r.get::<_, Uuid>(0).as_u128()))
            .collect())
    }

    fn session_ids_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionId>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let users: Vec<Uuid> = users.iter().map(|u| uid(u.as_u128())).collect();
        let rows = self.query(
            &format!("SELECT id FROM {sc}.sessions WHERE user_id = ANY($1)"),
            &[&users],
        )?;
        Ok(rows
            .iter()
            .map(|r| SessionId::from_u128(r.get::<_, Uuid>(0).as_u128()))
            .collect())
    }

    fn activity_page(
        &self,
        ns: Ns<'_>,
        state: u8,
        before: Option<(i64, SessionId)>,
        n: usize,
    ) -> Result<Vec<(i64, SessionId)>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let revoked = state != 0;
        let rows = match before {
            Some((at, sid)) => self.query(
                &format!(
                    "SELECT last_active, id FROM {sc}.sessions WHERE revoked = $1
                     AND (last_active, id) < ($2, $3)
                     ORDER BY last_active DESC, id DESC LIMIT $4"
                ),
                &[&revoked, &at, &uid(sid.as_u128()), &limit(n)],
            )?,
            None => self.query(
                &format!(
                    "SELECT last_active, id FROM {sc}.sessions WHERE revoked = $1
                     ORDER BY last_active DESC, id DESC LIMIT $2"
                ),
                &[&revoked, &limit(n)],
            )?,
        };
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<_, i64>(0),
                    SessionId::from_u128(r.get::<_, Uuid>(1).as_u128()),
                )
            })
            .collect())
    }

    fn sessions_page(
        &self,
        ns: Ns<'_>,
        before: Option<SessionId>,
        n: usize,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let rows = match before {
            Some(b) => self.query(
                &format!("SELECT rec FROM {sc}.sessions WHERE id < $1 ORDER BY id DESC LIMIT $2"),
                &[&uid(b.as_u128()), &limit(n)],
            )?,
            None => self.query(
                &format!("SELECT rec FROM {sc}.sessions ORDER BY id DESC LIMIT $1"),
                &[&limit(n)],
            )?,
        };
        all(rows)
    }

    fn refresh(&self, ns: Ns<'_>, hash: &[u8; 32]) -> Result<Option<RefreshRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.refresh WHERE hash = $1"),
            &[&hash.as_slice()],
        )?)
    }

    fn refresh_chain(
        &self,
        ns: Ns<'_>,
        sid: SessionId,
    ) -> Result<Vec<([u8; 32], RefreshRecord)>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let rows = self.query(
            &format!("SELECT hash, rec FROM {sc}.refresh WHERE session_id = $1 ORDER BY hash"),
            &[&uid(sid.as_u128())],
        )?;
        rows.iter()
            .map(|r| {
                let h = <[u8; 32]>::try_from(r.get::<_, &[u8]>(0))
                    .map_err(|_| StoreError::Corrupt("refresh hash is not 32 bytes".into()))?;
                Ok((h, rec(r, 1)?))
            })
            .collect()
    }

    fn client(&self, ns: Ns<'_>, id: ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(None);
        };
        one(self.query(
            &format!("SELECT rec FROM {sc}.clients WHERE id = $1"),
            &[&uid(id.as_u128())],
        )?)
    }

    fn clients(&self, ns: Ns<'_>) -> Result<Vec<ClientRecord>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        all(self.query(&format!("SELECT rec FROM {sc}.clients ORDER BY id"), &[])?)
    }

    fn audit_head(&self, ns: Ns<'_>) -> Result<(u64, Hash), StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok((0, crate::domain::audit::GENESIS));
        };
        let rows = self.query(&format!("SELECT seq, hash FROM {sc}.audit_head"), &[])?;
        head(rows)
    }

    fn audit_scan(
        &self,
        ns: Ns<'_>,
        range: std::ops::RangeInclusive<u64>,
        newest_first: bool,
        f: &mut dyn FnMut(Result<AuditEntry, u64>) -> bool,
    ) -> Result<(), StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(());
        };
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let (mut lo, mut hi) = (clamp(*range.start()), clamp(*range.end()));
        while lo <= hi {
            let page = self.audit_page(&sc, lo, hi, newest_first)?;
            let full = page.len() == 256;
            for (seq, bytes) in &page {
                let e = decode::<AuditEntry>(bytes).map_err(|_| *seq as u64);
                if !f(e) {
                    return Ok(());
                }
            }
            match page.last() {
                Some((seq, _)) if full && newest_first => hi = seq - 1,
                Some((seq, _)) if full => lo = seq + 1,
                _ => break,
            }
        }
        Ok(())
    }
}

fn head(rows: Vec<Row>) -> Result<(u64, Hash), StoreError> {
    let Some(r) = rows.first() else {
        return Err(StoreError::Corrupt("audit head row is missing".into()));
    };
    let hash = <Hash>::try_from(r.get::<_, &[u8]>(1))
        .map_err(|_| StoreError::Corrupt("audit head hash is not 32 bytes".into()))?;
    Ok((r.get::<_, i64>(0) as u64, hash))
}

impl Writes for PgTx<'_> {
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.query(
            &format!(
                "INSERT INTO {}.meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                self.p()
            ),
            &[&key, &value],
        )?;
        Ok(())
    }

    fn insert_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError> {
        let n = self.exec(
            &format!(
                "INSERT INTO {}.tenants (slug, rec) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                self.p()
            ),
            &[&t.slug.as_str(), &encode(t)],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("tenant {} exists", t.slug)));
        }
        let raw = self.names.raw_tenant(t.slug.as_str());
        self.create_schema(&raw)
    }

    fn update_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError> {
        self.query(
            &format!(
                "INSERT INTO {}.tenants (slug, rec) VALUES ($1, $2)
                 ON CONFLICT (slug) DO UPDATE SET rec = EXCLUDED.rec",
                self.p()
            ),
            &[&t.slug.as_str(), &encode(t)],
        )?;
        Ok(())
    }

    fn put_user(&mut self, ns: Ns<'_>, u: &UserRecord) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        let id = uid(u.id.as_u128());
        let owner = self.query(
            &format!("SELECT id FROM {sc}.users WHERE email = $1"),
            &[&u.email.as_str()],
        )?;
        if owner.first().is_some_and(|r| r.get::<_, Uuid>(0) != id) {
            return Err(StoreError::Conflict(format!("email {} is taken", u.email)));
        }
        self.query(
            &format!(
                "INSERT INTO {sc}.users (id, email, search, rec) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email,
                 search = EXCLUDED.search, rec = EXCLUDED.rec"
            ),
            &[&id, &u.email.as_str(), &search_text(u), &encode(u)],
        )?;
        Ok(())
    }

    fn put_session(&mut self, ns: Ns<'_>, s: &SessionRecord) -> Result<(), StoreError> {
        let old = self.session(ns, s.id)?;
        self.write_session(ns, old.as_ref(), s)
    }

    fn replace_session(
        &mut self,
        ns: Ns<'_>,
        old: &SessionRecord,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.write_session(ns, Some(old), s)
    }

    fn update_sessions(
        &mut self,
        ns: Ns<'_>,
        ids: &[SessionId],
        f: &mut dyn FnMut(&SessionRecord) -> Option<SessionRecord>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(Vec::new());
        };
        let keys: Vec<Uuid> = ids.iter().map(|i| uid(i.as_u128())).collect();
        let rows = self.query(
            &format!("SELECT rec FROM {sc}.sessions WHERE id = ANY($1)"),
            &[&keys],
        )?;
        let mut found: HashMap<SessionId, SessionRecord> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let s: SessionRecord = rec(r, 0)?;
            found.insert(s.id, s);
        }
        let (mut cid, mut crev, mut clast, mut crec) = (vec![], vec![], vec![], vec![]);
        let mut changed = Vec::new();
        let mut outbox = Vec::new();
        for id in ids {
            let Some(old) = found.remove(id) else {
                continue;
            };
            let Some(new) = f(&old) else { continue };
            let (i, _, revoked, last, bytes) = Self::session_row(&new);
            cid.push(i);
            crev.push(revoked);
            clast.push(last);
            crec.push(bytes);
            changed.push(*id);
            self.events.extend(session_event(ns, Some(&old), &new));
            outbox.extend(crate::store::events_api::revocation(ns, Some(&old), &new));
        }
        if !changed.is_empty() {
            self.query(
                &format!(
                    "UPDATE {sc}.sessions AS s SET revoked = c.revoked, last_active = c.last_active, rec = c.rec
                     FROM unnest($1::uuid[], $2::bool[], $3::int8[], $4::bytea[]) AS c(id, revoked, last_active, rec)
                     WHERE s.id = c.id"
                ),
                &[&cid, &crev, &clast, &crec],
            )?;
        }
        self.append_events(ns, outbox)?;
        Ok(changed)
    }

    fn put_refresh(
        &mut self,
        ns: Ns<'_>,
        hash: &[u8; 32],
        r: &RefreshRecord,
    ) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        self.query(
            &format!(
                "INSERT INTO {sc}.refresh (hash, session_id, rec) VALUES ($1, $2, $3)
                 ON CONFLICT (hash) DO UPDATE SET rec = EXCLUDED.rec"
            ),
            &[&hash.as_slice(), &uid(r.session_id.as_u128()), &encode(r)],
        )?;
        Ok(())
    }

    /// PostgreSQL reclaims space itself (autovacuum).
    fn note_purged(&mut self, _n: u64) -> Result<(), StoreError> {
        Ok(())
    }

    fn purge_session(&mut self, ns: Ns<'_>, sid: SessionId) -> Result<bool, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(false);
        };
        let id = uid(sid.as_u128());
        let n = self.exec(&format!("DELETE FROM {sc}.sessions WHERE id = $1"), &[&id])?;
        if n == 0 {
            return Ok(false);
        }
        self.exec(
            &format!("DELETE FROM {sc}.refresh WHERE session_id = $1"),
            &[&id],
        )?;
        Ok(true)
    }

    fn put_grant(&mut self, t: &TenantScope, g: &GrantRecord) -> Result<(), StoreError> {
        own_grant(t, g)?;
        let sc = self.schema_w(Ns::from(t))?;
        let id = uid(g.id.as_u128());
        self.query(
            &format!(
                "INSERT INTO {sc}.grants (id, rec) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET rec = EXCLUDED.rec"
            ),
            &[&id, &encode(g)],
        )?;
        self.query(
            &format!(
                "INSERT INTO {}.grant_tenant (id, tenant) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                self.p()
            ),
            &[&id, &g.tenant.as_str()],
        )?;
        Ok(())
    }

    fn insert_client(
        &mut self,
        ns: Ns<'_>,
        tenant: &TenantId,
        c: &ClientRecord,
    ) -> Result<(), StoreError> {
        let sc = self.schema_w(ns)?;
        let id = uid(c.id.as_u128());
        self.query(
            &format!(
                "INSERT INTO {sc}.clients (id, rec) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET rec = EXCLUDED.rec"
            ),
            &[&id, &encode(c)],
        )?;
        self.query(
            &format!(
                "INSERT INTO {}.client_tenant (id, tenant) VALUES ($1, $2)
                 ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant",
                self.p()
            ),
            &[&id, &tenant.as_str()],
        )?;
        Ok(())
    }

    fn remove_client(&mut self, ns: Ns<'_>, id: ClientId) -> Result<bool, StoreError> {
        let Some(sc) = self.schema(ns)? else {
            return Ok(false);
        };
        let id = uid(id.as_u128());
        let n = self.exec(&format!("DELETE FROM {sc}.clients WHERE id = $1"), &[&id])?;
        if n > 0 {
            self.exec(
                &format!("DELETE FROM {}.client_tenant WHERE id = $1", self.p()),
                &[&id],
            )?;
        }
        Ok(n > 0)
    }

    fn append_audit(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        ev: AuditEvent,
    ) -> Result<u64, StoreError> {
        let (sc, (seq, prev)) = self.lock_audit_head(ns)?;
        let action = ev.action;
        let entry = AuditEntry::seal(seq + 1, at, prev, ev);
        self.insert_audit(&sc, &entry)?;
        self.events.push(DomainEvent::AuditAppended {
            tenant: ns.tenant().cloned(),
            seq: entry.seq,
            action,
        });
        Ok(entry.seq)
    }

    fn import_audit(&mut self, ns: Ns<'_>, e: &AuditEntry) -> Result<(), StoreError> {
        let (sc, head) = self.lock_audit_head(ns)?;
        extends(head, e)?;
        self.insert_audit(&sc, e)
    }
}
