//! redb's implementation of the store API: read methods are written once
//! over [`Source`] and work on both a read snapshot ([`Snapshot`]) and the
//! writer's transaction ([`WriteTx`]).

use redb::{
    Key, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, TableError, Value,
    WriteTransaction,
};

use super::StoreError;
use super::records::{Stored, decode, encode};
use super::search;
use super::tables::{CLIENT_TENANT, GRANT_TENANT, Kind, META, Ns, TENANTS, table_name};
use crate::auth::TenantScope;
use crate::domain::audit::{AuditEntry, GENESIS, Hash};
use crate::domain::session::RefreshRecord;
use crate::domain::{
    AuditEvent, ClientId, ClientRecord, DomainEvent, GrantId, GrantRecord, SessionId,
    SessionRecord, TenantId, TenantRecord, Timestamp, UserId, UserRecord,
};
use crate::store::api::{Reads, Writes, extends, own_grant, session_event};

macro_rules! def {
    ($name:ident : $k:ty => $v:ty) => {
        redb::TableDefinition::<$k, $v>::new(&$name)
    };
}

mod outbox;
mod sessions;

/// A transaction tables can be opened from. Not for use outside the store.
pub trait Source {
    type Table<'s, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
    where
        Self: 's;

    /// `None` when the table does not exist yet (read snapshots only).
    #[doc(hidden)]
    fn open<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Option<Self::Table<'_, K, V>>, StoreError>;

    /// Where a snapshot keeps its last name search's candidates (a page and
    /// its total ask twice); `None` where writes could change the answer.
    #[doc(hidden)]
    fn candidates_memo(&self) -> Option<&Memo> {
        None
    }
}

/// The candidates of one (table, key), as a snapshot answered them.
pub type Memo = std::cell::RefCell<Option<(String, String, Vec<UserId>)>>;

/// A read snapshot.
pub struct Snapshot {
    txn: ReadTransaction,
    memo: Memo,
}

impl Snapshot {
    pub(super) fn new(txn: ReadTransaction) -> Self {
        Self {
            txn,
            memo: Memo::default(),
        }
    }
}

impl Source for Snapshot {
    type Table<'s, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;

    fn open<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Option<ReadOnlyTable<K, V>>, StoreError> {
        match self.txn.open_table(def) {
            Ok(t) => Ok(Some(t)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn candidates_memo(&self) -> Option<&Memo> {
        Some(&self.memo)
    }
}

/// The writer's transaction, shared by every command of one group commit.
pub struct WriteTx<'a> {
    txn: &'a WriteTransaction,
    /// What the writes so far changed; the writer hands each command its own
    /// share and publishes it only after the commit.
    events: Vec<DomainEvent>,
}

impl<'a> WriteTx<'a> {
    pub(super) fn new(txn: &'a WriteTransaction) -> Self {
        Self {
            txn,
            events: Vec::new(),
        }
    }

    /// The events emitted since the last call: one command's share.
    pub(super) fn take_events(&mut self) -> Vec<DomainEvent> {
        std::mem::take(&mut self.events)
    }

    /// The after-commit events of a session write; its outbox event, if
    /// it revokes, for the caller to append in this transaction.
    fn session_events(
        &mut self,
        ns: Ns<'_>,
        old: Option<&SessionRecord>,
        new: &SessionRecord,
    ) -> Option<(Timestamp, crate::domain::EventKind)> {
        self.events.extend(session_event(ns, old, new));
        crate::store::events_api::revocation(ns, old, new)
    }

    fn write_session(
        &mut self,
        ns: Ns<'_>,
        old: Option<&SessionRecord>,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        let sessions = table_name(ns, Kind::Sessions);
        let by_user = table_name(ns, Kind::SessionsByUser);
        let by_activity = table_name(ns, Kind::SessionsByActivity);
        self.table(def!(sessions: u128 => &[u8]))?
            .insert(s.id.as_u128(), encode(s).as_slice())?;
        let ev = self.session_events(ns, old, s);
        self.append_events(ns, ev.into_iter().collect())?;
        let key = activity_key(s);
        if old.is_some_and(|o| activity_key(o) == key) {
            return Ok(());
        }
        // A revocation keeps the activity: the by-user entry stays as it is.
        if old.is_none_or(|o| o.last_activity_at != s.last_activity_at) {
            self.table(def!(by_user: (u128, u128) => i64))?
                .insert((s.user_id.as_u128(), s.id.as_u128()), key.1)?;
        }
        let mut idx = self.table(def!(by_activity: (u8, i64, u128) => u128))?;
        if let Some(old) = old {
            idx.remove(activity_key(old))?;
        }
        idx.insert(key, s.user_id.as_u128())?;
        Ok(())
    }

    fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Table<'a, K, V>, StoreError> {
        Ok(self.txn.open_table(def)?)
    }
}

impl Source for WriteTx<'_> {
    type Table<'s, K: Key + 'static, V: Value + 'static>
        = Table<'s, K, V>
    where
        Self: 's;

    fn open<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Option<Table<'_, K, V>>, StoreError> {
        Ok(Some(self.txn.open_table(def)?))
    }
}

/// A session's key in the activity index; the by-user index holds its middle part.
pub(super) fn activity_key(s: &SessionRecord) -> (u8, i64, u128) {
    (
        u8::from(!s.is_active()),
        s.last_activity_at.millis(),
        s.id.as_u128(),
    )
}

fn get_rec<T: Stored, K: Key + 'static>(
    t: &impl ReadableTable<K, &'static [u8]>,
    key: K::SelfType<'_>,
) -> Result<Option<T>, StoreError> {
    match t.get(key)? {
        Some(v) => decode(v.value()).map(Some),
        None => Ok(None),
    }
}

impl<S: Source> Reads for S {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(t) = self.open(META)? else {
            return Ok(None);
        };
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }

    fn tenant(&self, slug: &TenantId) -> Result<Option<TenantRecord>, StoreError> {
        let Some(t) = self.open(TENANTS)? else {
            return Ok(None);
        };
        get_rec(&t, slug.as_str())
    }

    fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let Some(t) = self.open(TENANTS)? else {
            return Ok(Vec::new());
        };
        t.iter()?
            .map(|r| {
                let (_, v) = r?;
                decode(v.value())
            })
            .collect()
    }

    fn grant(&self, s: &TenantScope, id: GrantId) -> Result<Option<GrantRecord>, StoreError> {
        let name = table_name(Ns::from(s), Kind::Grants);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, id.as_u128())
    }

    fn grants(&self, s: &TenantScope) -> Result<Vec<GrantRecord>, StoreError> {
        let name = table_name(Ns::from(s), Kind::Grants);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(Vec::new());
        };
        t.iter()?.map(|r| decode(r?.1.value())).collect()
    }

    fn grant_tenants(&self) -> Result<Vec<(GrantId, TenantId)>, StoreError> {
        let Some(t) = self.open(GRANT_TENANT)? else {
            return Ok(Vec::new());
        };
        t.iter()?
            .map(|r| {
                let (k, v) = r?;
                let slug =
                    TenantId::parse(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((GrantId::from_u128(k.value()), slug))
            })
            .collect()
    }

    fn client_tenant(&self, id: ClientId) -> Result<Option<TenantId>, StoreError> {
        let Some(t) = self.open(CLIENT_TENANT)? else {
            return Ok(None);
        };
        let Some(v) = t.get(id.as_u128())? else {
            return Ok(None);
        };
        TenantId::parse(v.value())
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn user(&self, ns: Ns<'_>, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let name = table_name(ns, Kind::Users);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, id.as_u128())
    }

    /// One open of the users table, read in id order (B-tree locality).
    fn users_by_ids(&self, ns: Ns<'_>, ids: &[UserId]) -> Result<Vec<UserRecord>, StoreError> {
        let name = table_name(ns, Kind::Users);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<u128> = ids.iter().map(|u| u.as_u128()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| get_rec(&t, id).transpose())
            .collect()
    }

    fn user_by_email(&self, ns: Ns<'_>, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = table_name(ns, Kind::UsersByEmail);
        let id = {
            let Some(t) = self.open(def!(name: &str => u128))? else {
                return Ok(None);
            };
            let Some(id) = t.get(email)? else {
                return Ok(None);
            };
            UserId::from_u128(id.value())
        };
        self.user(ns, id)
    }

    /// Users matching the search key `key` (see [`UserRecord::matches`]) in
    /// id order after `after`, at most `limit`: through the trigram index
    /// when `key` has 3 bytes or more, else by walking the users.
    fn users_matching(
        &self,
        ns: Ns<'_>,
        key: &str,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut out = Vec::new();
        let tris = search::trigrams(&[key]);
        if tris.is_empty() {
            let mut after = after;
            loop {
                let batch = self.users(ns, after, 1024)?;
                for u in &batch {
                    if out.len() == limit {
                        return Ok(out);
                    }
                    if u.matches(key) {
                        out.push(u.clone());
                    }
                }
                match batch.last() {
                    Some(u) if batch.len() == 1024 => after = Some(u.id),
                    _ => return Ok(out),
                }
            }
        }
        let name = table_name(ns, Kind::UserTrigrams);
        let Some(t) = self.open(def!(name: (u32, u128) => ()))? else {
            return Ok(out);
        };
        search::candidates(&t, &tris, after, |id| {
            if out.len() == limit {
                return Ok(false);
            }
            if let Some(u) = self.user(ns, id)?
                && u.matches(key)
            {
                out.push(u);
            }
            Ok(true)
        })?;
        Ok(out)
    }

    /// Ids of users that may match `key` (a superset; at least 3 bytes), all of them.
    fn user_candidates(&self, ns: Ns<'_>, key: &str) -> Result<Vec<UserId>, StoreError> {
        let name = table_name(ns, Kind::UserTrigrams);
        let memo = self.candidates_memo();
        if let Some(m) = memo
            && let Some((n, k, found)) = &*m.borrow()
            && *n == name
            && k == key
        {
            return Ok(found.clone());
        }
        let Some(t) = self.open(def!(name: (u32, u128) => ()))? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        search::candidates(&t, &search::trigrams(&[key]), None, |id| {
            out.push(id);
            Ok(true)
        })?;
        if let Some(m) = memo {
            *m.borrow_mut() = Some((name, key.to_owned(), out.clone()));
        }
        Ok(out)
    }

    /// Users in id (creation) order, starting after `after`.
    fn users(
        &self,
        ns: Ns<'_>,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let name = table_name(ns, Kind::Users);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(Vec::new());
        };
        let start = after.map(|a| a.as_u128().saturating_add(1)).unwrap_or(0);
        let mut out = Vec::new();
        for r in t.range(start..)? {
            if out.len() >= limit {
                break;
            }
            let (_, v) = r?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }

    fn session(&self, ns: Ns<'_>, id: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        sessions::one(self, ns, id)
    }

    fn session_ids_of_user(&self, ns: Ns<'_>, user: UserId) -> Result<Vec<SessionId>, StoreError> {
        sessions::ids_of_user(self, ns, user)
    }

    fn session_ids_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionId>, StoreError> {
        sessions::ids_of_users(self, ns, users)
    }

    /// From the by-user index's values: no session is read.
    fn session_keys_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<crate::store::IndexedSession>, StoreError> {
        sessions::keys_of_users(self, ns, users)
    }

    fn sessions_len(&self, ns: Ns<'_>) -> Result<Option<u64>, StoreError> {
        sessions::len(self, ns).map(Some)
    }

    fn sessions_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::of_users(self, ns, users)
    }

    fn sessions_by_ids(
        &self,
        ns: Ns<'_>,
        ids: &[SessionId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::by_ids(self, ns, ids)
    }

    fn activity_page(
        &self,
        ns: Ns<'_>,
        state: u8,
        before: Option<(i64, SessionId)>,
        n: usize,
    ) -> Result<Vec<(i64, SessionId)>, StoreError> {
        Ok(sessions::activity(self, ns, state, before, n)?
            .into_iter()
            .map(|(a, sid, _)| (a, sid))
            .collect())
    }

    /// The index keeps each session's user as its value: no session is read.
    fn activity_page_users(
        &self,
        ns: Ns<'_>,
        state: u8,
        before: Option<(i64, SessionId)>,
        n: usize,
    ) -> Result<Vec<(i64, SessionId, UserId)>, StoreError> {
        sessions::activity(self, ns, state, before, n)
    }

    fn sessions_page(
        &self,
        ns: Ns<'_>,
        before: Option<SessionId>,
        n: usize,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sessions::page(self, ns, before, n)
    }

    fn refresh(&self, ns: Ns<'_>, hash: &[u8; 32]) -> Result<Option<RefreshRecord>, StoreError> {
        let name = table_name(ns, Kind::Refresh);
        let Some(t) = self.open(def!(name: &[u8; 32] => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, hash)
    }

    fn refresh_chain(
        &self,
        ns: Ns<'_>,
        sid: SessionId,
    ) -> Result<Vec<([u8; 32], RefreshRecord)>, StoreError> {
        let chain = table_name(ns, Kind::RefreshBySession);
        let Some(t) = self.open(def!(chain: (u128, &[u8; 32]) => ()))? else {
            return Ok(Vec::new());
        };
        let (id, lo, hi) = (sid.as_u128(), [0u8; 32], [0xffu8; 32]);
        let mut out = Vec::new();
        for r in t.range((id, &lo)..=(id, &hi))? {
            let h = *r?.0.value().1;
            if let Some(rec) = self.refresh(ns, &h)? {
                out.push((h, rec));
            }
        }
        Ok(out)
    }

    fn client(&self, ns: Ns<'_>, id: ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let name = table_name(ns, Kind::Clients);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(None);
        };
        get_rec(&t, id.as_u128())
    }

    fn clients(&self, ns: Ns<'_>) -> Result<Vec<ClientRecord>, StoreError> {
        let name = table_name(ns, Kind::Clients);
        let Some(t) = self.open(def!(name: u128 => &[u8]))? else {
            return Ok(Vec::new());
        };
        t.iter()?.map(|r| decode(r?.1.value())).collect()
    }

    /// The newest entry's (seq, hash), or (0, GENESIS) for an empty log.
    fn audit_head(&self, ns: Ns<'_>) -> Result<(u64, Hash), StoreError> {
        let name = table_name(ns, Kind::Audit);
        let Some(t) = self.open(def!(name: u64 => &[u8]))? else {
            return Ok((0, GENESIS));
        };
        match t.last()? {
            Some((_, v)) => {
                let e: AuditEntry = decode(v.value())?;
                Ok((e.seq, e.hash))
            }
            None => Ok((0, GENESIS)),
        }
    }

    /// Entries with `seq` in `range`, oldest first, handed to `f` one at a
    /// time (so a whole log is never held in memory). `f` returns `false` to stop.
    /// An undecodable entry is passed as `Err(seq)`.
    fn audit_scan(
        &self,
        ns: Ns<'_>,
        range: std::ops::RangeInclusive<u64>,
        newest_first: bool,
        f: &mut dyn FnMut(Result<AuditEntry, u64>) -> bool,
    ) -> Result<(), StoreError> {
        let name = table_name(ns, Kind::Audit);
        let Some(t) = self.open(def!(name: u64 => &[u8]))? else {
            return Ok(());
        };
        let iter = t.range(range)?;
        let mut visit = |r: Result<
            (redb::AccessGuard<'_, u64>, redb::AccessGuard<'_, &[u8]>),
            redb::StorageError,
        >|
         -> Result<bool, StoreError> {
            let (k, v) = r?;
            let e = decode::<AuditEntry>(v.value()).map_err(|_| k.value());
            Ok(f(e))
        };
        if newest_first {
            for r in iter.rev() {
                if !visit(r)? {
                    break;
                }
            }
        } else {
            for r in iter {
                if !visit(r)? {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl WriteTx<'_> {
    fn insert_audit(&mut self, ns: Ns<'_>, e: &AuditEntry) -> Result<(), StoreError> {
        let name = table_name(ns, Kind::Audit);
        self.table(def!(name: u64 => &[u8]))?
            .insert(e.seq, encode(e).as_slice())?;
        Ok(())
    }
}

impl Writes for WriteTx<'_> {
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.table(META)?.insert(key, value)?;
        Ok(())
    }

    /// Insert a new tenant; `Conflict` if the slug is taken.
    fn insert_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError> {
        let mut tab = self.table(TENANTS)?;
        if tab.get(t.slug.as_str())?.is_some() {
            return Err(StoreError::Conflict(format!("tenant {} exists", t.slug)));
        }
        tab.insert(t.slug.as_str(), encode(t).as_slice())?;
        Ok(())
    }

    fn update_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError> {
        self.table(TENANTS)?
            .insert(t.slug.as_str(), encode(t).as_slice())?;
        Ok(())
    }

    /// Insert or update a user, keeping the email and search indexes; `Conflict` if the
    /// email belongs to another user of the namespace.
    fn put_user(&mut self, ns: Ns<'_>, u: &UserRecord) -> Result<(), StoreError> {
        let by_email = table_name(ns, Kind::UsersByEmail);
        let users = table_name(ns, Kind::Users);
        let old: Option<UserRecord> = self.user(ns, u.id)?;
        let mut idx = self.table(def!(by_email: &str => u128))?;
        if let Some(owner) = idx.get(u.email.as_str())?.map(|v| v.value())
            && owner != u.id.as_u128()
        {
            return Err(StoreError::Conflict(format!("email {} is taken", u.email)));
        }
        if let Some(old) = &old
            && old.email != u.email
        {
            idx.remove(old.email.as_str())?;
        }
        idx.insert(u.email.as_str(), u.id.as_u128())?;
        drop(idx);
        let was = old.as_ref().map(search::user_trigrams).unwrap_or_default();
        let now = search::user_trigrams(u);
        let trigrams = table_name(ns, Kind::UserTrigrams);
        let mut tri = self.table(def!(trigrams: (u32, u128) => ()))?;
        for t in was.difference(&now) {
            tri.remove((*t, u.id.as_u128()))?;
        }
        for t in now.difference(&was) {
            tri.insert((*t, u.id.as_u128()), ())?;
        }
        drop(tri);
        self.table(def!(users: u128 => &[u8]))?
            .insert(u.id.as_u128(), encode(u).as_slice())?;
        Ok(())
    }

    /// Insert or update a session, keeping the by-user and by-activity indexes.
    fn put_session(&mut self, ns: Ns<'_>, s: &SessionRecord) -> Result<(), StoreError> {
        let old = self.session(ns, s.id)?;
        self.write_session(ns, old.as_ref(), s)
    }

    /// [`Tx::put_session`] for a caller that just read `old` in this transaction.
    fn replace_session(
        &mut self,
        ns: Ns<'_>,
        old: &SessionRecord,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        self.write_session(ns, Some(old), s)
    }

    /// Change many sessions with each table opened once: `f` answers the new
    /// record, or `None` to leave one as it is. Returns the ids changed.
    fn update_sessions(
        &mut self,
        ns: Ns<'_>,
        ids: &[SessionId],
        f: &mut dyn FnMut(&SessionRecord) -> Option<SessionRecord>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let sessions = table_name(ns, Kind::Sessions);
        let by_user = table_name(ns, Kind::SessionsByUser);
        let by_activity = table_name(ns, Kind::SessionsByActivity);
        let mut rows = self.table(def!(sessions: u128 => &[u8]))?;
        let mut users = self.table(def!(by_user: (u128, u128) => i64))?;
        let mut idx = self.table(def!(by_activity: (u8, i64, u128) => u128))?;
        let mut changed = Vec::new();
        let mut outbox = Vec::new();
        for &id in ids {
            let Some(old) = get_rec::<SessionRecord, u128>(&rows, id.as_u128())? else {
                continue;
            };
            let Some(new) = f(&old) else { continue };
            rows.insert(id.as_u128(), encode(&new).as_slice())?;
            let key = activity_key(&new);
            if old.last_activity_at != new.last_activity_at {
                users.insert((new.user_id.as_u128(), id.as_u128()), key.1)?;
            }
            if activity_key(&old) != key {
                idx.remove(activity_key(&old))?;
                idx.insert(key, new.user_id.as_u128())?;
            }
            changed.push(id);
            outbox.extend(self.session_events(ns, Some(&old), &new));
        }
        drop((rows, users, idx));
        self.append_events(ns, outbox)?;
        Ok(changed)
    }

    fn put_refresh(
        &mut self,
        ns: Ns<'_>,
        hash: &[u8; 32],
        r: &RefreshRecord,
    ) -> Result<(), StoreError> {
        let name = table_name(ns, Kind::Refresh);
        let chain = table_name(ns, Kind::RefreshBySession);
        self.table(def!(name: &[u8; 32] => &[u8]))?
            .insert(hash, encode(r).as_slice())?;
        self.table(def!(chain: (u128, &[u8; 32]) => ()))?
            .insert((r.session_id.as_u128(), hash), ())?;
        Ok(())
    }

    /// Count purged sessions towards the next start-up compaction.
    fn note_purged(&mut self, n: u64) -> Result<(), StoreError> {
        let key = super::META_PURGED;
        let mut t = self.table(META)?;
        let old = t
            .get(key)?
            .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
            .map_or(0, u64::from_le_bytes);
        t.insert(key, old.saturating_add(n).to_le_bytes().as_slice())?;
        Ok(())
    }

    /// Delete a session with its index entries and its whole refresh chain.
    /// Only for sessions that ended long ago (retention); `false` if absent.
    fn purge_session(&mut self, ns: Ns<'_>, sid: SessionId) -> Result<bool, StoreError> {
        let Some(s) = self.session(ns, sid)? else {
            return Ok(false);
        };
        let sessions = table_name(ns, Kind::Sessions);
        let by_user = table_name(ns, Kind::SessionsByUser);
        let by_activity = table_name(ns, Kind::SessionsByActivity);
        let refresh = table_name(ns, Kind::Refresh);
        let chain = table_name(ns, Kind::RefreshBySession);
        let id = sid.as_u128();
        self.table(def!(sessions: u128 => &[u8]))?.remove(id)?;
        self.table(def!(by_user: (u128, u128) => i64))?
            .remove((s.user_id.as_u128(), id))?;
        self.table(def!(by_activity: (u8, i64, u128) => u128))?
            .remove(activity_key(&s))?;
        let mut chain_t = self.table(def!(chain: (u128, &[u8; 32]) => ()))?;
        let (lo, hi) = ([0u8; 32], [0xffu8; 32]);
        let hashes: Vec<[u8; 32]> = chain_t
            .range((id, &lo)..=(id, &hi))?
            .map(|r| r.map(|(k, _)| *k.value().1))
            .collect::<Result<_, _>>()?;
        for h in &hashes {
            chain_t.remove((id, h))?;
        }
        drop(chain_t);
        let mut refresh_t = self.table(def!(refresh: &[u8; 32] => &[u8]))?;
        for h in &hashes {
            refresh_t.remove(h)?;
        }
        Ok(true)
    }

    fn put_grant(&mut self, s: &TenantScope, g: &GrantRecord) -> Result<(), StoreError> {
        own_grant(s, g)?;
        let name = table_name(Ns::from(s), Kind::Grants);
        self.table(def!(name: u128 => &[u8]))?
            .insert(g.id.as_u128(), encode(g).as_slice())?;
        self.table(GRANT_TENANT)?
            .insert(g.id.as_u128(), g.tenant.as_str())?;
        Ok(())
    }

    /// Add a client to a tenant namespace and the global client index.
    fn insert_client(
        &mut self,
        ns: Ns<'_>,
        tenant: &TenantId,
        c: &ClientRecord,
    ) -> Result<(), StoreError> {
        let name = table_name(ns, Kind::Clients);
        self.table(def!(name: u128 => &[u8]))?
            .insert(c.id.as_u128(), encode(c).as_slice())?;
        self.table(CLIENT_TENANT)?
            .insert(c.id.as_u128(), tenant.as_str())?;
        Ok(())
    }

    /// Remove a client; `false` if it was not there.
    fn remove_client(&mut self, ns: Ns<'_>, id: ClientId) -> Result<bool, StoreError> {
        let name = table_name(ns, Kind::Clients);
        let existed = self
            .table(def!(name: u128 => &[u8]))?
            .remove(id.as_u128())?
            .is_some();
        if existed {
            self.table(CLIENT_TENANT)?.remove(id.as_u128())?;
        }
        Ok(existed)
    }

    /// Append to the namespace's hash chain. The only write the audit table takes.
    fn append_audit(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        ev: AuditEvent,
    ) -> Result<u64, StoreError> {
        let (seq, prev) = self.audit_head(ns)?;
        let action = ev.action;
        let entry = AuditEntry::seal(seq + 1, at, prev, ev);
        self.insert_audit(ns, &entry)?;
        self.events.push(DomainEvent::AuditAppended {
            tenant: ns.tenant().cloned(),
            seq: entry.seq,
            action,
        });
        Ok(entry.seq)
    }

    fn import_audit(&mut self, ns: Ns<'_>, e: &AuditEntry) -> Result<(), StoreError> {
        extends(self.audit_head(ns)?, e)?;
        self.insert_audit(ns, e)
    }
}
