//! The engine-neutral store API: what a read snapshot (`Reads`) and a write
//! transaction (`Writes`) offer, in domain terms. Every engine implements
//! both; the service layer names only these traits, never an engine.
//!
//! A write runs as a closure over `&mut Tx`. An engine may run it more than
//! once (redb re-applies a group-commit batch after a panic, PostgreSQL
//! retries a serialization failure), so closures are `Fn` and check before
//! they write.

use super::StoreError;
use super::events_api::{EventReads, EventWrites};
use super::ns::Ns;
use crate::auth::TenantScope;
use crate::domain::audit::{AuditEntry, Hash};
use crate::domain::query::{Activity, BulkFilter, SessionQuery};
use crate::domain::session::RefreshRecord;
use crate::domain::{
    AuditEvent, ClientId, ClientRecord, DomainEvent, GrantId, GrantRecord, SessionId,
    SessionRecord, SessionState, TenantId, TenantRecord, Timestamp, UserId, UserRecord,
};

/// A read snapshot: the closure of `Store::read` gets `&Rx`.
pub type Rx<'a> = dyn Reads + 'a;
/// A write transaction: the closure of `Store::write` gets `&mut Tx`.
pub type Tx<'a> = dyn Writes + 'a;

/// A session as the by-user index knows it: its last stored activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedSession {
    pub id: SessionId,
    pub last_activity_ms: i64,
}

impl IndexedSession {
    pub fn of(s: &SessionRecord) -> Self {
        Self {
            id: s.id,
            last_activity_ms: s.last_activity_at.millis(),
        }
    }
}

/// Reads, on a consistent snapshot or inside a write transaction.
pub trait Reads: EventReads {
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn tenant(&self, slug: &TenantId) -> Result<Option<TenantRecord>, StoreError>;
    fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError>;
    /// A grant of the tenant's (grants live in the tenant's namespace).
    fn grant(&self, t: &TenantScope, id: GrantId) -> Result<Option<GrantRecord>, StoreError>;
    /// The tenant's grants, oldest first (few: one per support request).
    fn grants(&self, t: &TenantScope) -> Result<Vec<GrantRecord>, StoreError>;
    /// The platform's index of every grant: (grant, its tenant), oldest first.
    fn grant_tenants(&self) -> Result<Vec<(GrantId, TenantId)>, StoreError>;
    /// Every tenant's grants, oldest first: for the platform side (a global
    /// admin's own requests, expiry), through the index.
    fn all_grants(&self) -> Result<Vec<GrantRecord>, StoreError> {
        let mut out = Vec::new();
        for (id, t) in self.grant_tenants()? {
            out.extend(self.grant(&TenantScope::system(t), id)?);
        }
        Ok(out)
    }
    fn client_tenant(&self, id: ClientId) -> Result<Option<TenantId>, StoreError>;
    fn user(&self, ns: Ns<'_>, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    fn user_by_email(&self, ns: Ns<'_>, email: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Users matching the search key `key` (see [`UserRecord::matches`]) in
    /// id order after `after`, at most `limit`.
    fn users_matching(
        &self,
        ns: Ns<'_>,
        key: &str,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Ids of users that may match `key` (a superset; at least 3 bytes), all of them.
    fn user_candidates(&self, ns: Ns<'_>, key: &str) -> Result<Vec<UserId>, StoreError>;
    /// Users in id (creation) order, starting after `after`.
    fn users(
        &self,
        ns: Ns<'_>,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Those of `ids` that exist, in any order (one query where the engine
    /// pays per round trip; point reads where they cost a microsecond).
    fn users_by_ids(&self, ns: Ns<'_>, ids: &[UserId]) -> Result<Vec<UserRecord>, StoreError> {
        ids.iter()
            .filter_map(|id| self.user(ns, *id).transpose())
            .collect()
    }
    fn session(&self, ns: Ns<'_>, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;
    fn session_ids_of_user(&self, ns: Ns<'_>, user: UserId) -> Result<Vec<SessionId>, StoreError>;
    /// The ids of every session of these users, in any order (one read of
    /// the by-user index, not one per user).
    fn session_ids_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut out = Vec::new();
        for u in users {
            out.extend(self.session_ids_of_user(ns, *u)?);
        }
        Ok(out)
    }
    /// What the by-user index knows of every session of these users, in
    /// any order: enough to order them before reading one.
    fn session_keys_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<IndexedSession>, StoreError> {
        Ok(self
            .sessions_of_users(ns, users)?
            .iter()
            .map(IndexedSession::of)
            .collect())
    }
    /// Every session of these users, in any order.
    fn sessions_of_users(
        &self,
        ns: Ns<'_>,
        users: &[UserId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let mut out = Vec::new();
        for u in users {
            for sid in self.session_ids_of_user(ns, *u)? {
                out.extend(self.session(ns, sid)?);
            }
        }
        Ok(out)
    }
    /// Those of `ids` that exist, in any order.
    fn sessions_by_ids(
        &self,
        ns: Ns<'_>,
        ids: &[SessionId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        ids.iter()
            .filter_map(|id| self.session(ns, *id).transpose())
            .collect()
    }
    /// The sessions `q` asks for, in its order, after its cursor: at most
    /// `q.limit + 1` (an extra one says "there is more").
    fn query_sessions(
        &self,
        ns: Ns<'_>,
        q: &SessionQuery,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        super::walk::query_sessions(self, ns, q, at)
    }
    /// The active sessions a bulk filter names, but `except`, newest first.
    fn bulk_targets(
        &self,
        ns: Ns<'_>,
        f: &BulkFilter,
        except: Option<SessionId>,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionId>, StoreError> {
        super::walk::bulk_targets(self, ns, f, except, at)
    }
    /// Sessions not revoked whose stored last activity is after `idle_cutoff_ms`.
    fn count_active(&self, ns: Ns<'_>, idle_cutoff_ms: i64) -> Result<u64, StoreError> {
        super::walk::count_active(self, ns, idle_cutoff_ms)
    }
    /// Up to `n` (last activity, session) keys of one state (0 active, 1 revoked),
    /// newest first, strictly below `before`.
    fn activity_page(
        &self,
        ns: Ns<'_>,
        state: u8,
        before: Option<(i64, SessionId)>,
        n: usize,
    ) -> Result<Vec<(i64, SessionId)>, StoreError>;
    /// How many sessions the namespace holds, where the engine knows it
    /// without counting (`None` elsewhere).
    fn sessions_len(&self, _ns: Ns<'_>) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    /// `activity_page` with each session's user; engines whose index holds
    /// the user answer without reading the sessions.
    fn activity_page_users(
        &self,
        ns: Ns<'_>,
        state: u8,
        before: Option<(i64, SessionId)>,
        n: usize,
    ) -> Result<Vec<(i64, SessionId, UserId)>, StoreError> {
        let keys = self.activity_page(ns, state, before, n)?;
        let ids: Vec<SessionId> = keys.iter().map(|k| k.1).collect();
        let users: std::collections::HashMap<SessionId, UserId> = self
            .sessions_by_ids(ns, &ids)?
            .into_iter()
            .map(|s| (s.id, s.user_id))
            .collect();
        Ok(keys
            .into_iter()
            .filter_map(|(a, sid)| users.get(&sid).map(|&u| (a, sid, u)))
            .collect())
    }
    /// Up to `n` sessions, newest created first, strictly before `before`.
    fn sessions_page(
        &self,
        ns: Ns<'_>,
        before: Option<SessionId>,
        n: usize,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    fn refresh(&self, ns: Ns<'_>, hash: &[u8; 32]) -> Result<Option<RefreshRecord>, StoreError>;
    /// Every refresh token of one session's chain, as (hash, record).
    fn refresh_chain(
        &self,
        ns: Ns<'_>,
        sid: SessionId,
    ) -> Result<Vec<([u8; 32], RefreshRecord)>, StoreError>;
    fn client(&self, ns: Ns<'_>, id: ClientId) -> Result<Option<ClientRecord>, StoreError>;
    fn clients(&self, ns: Ns<'_>) -> Result<Vec<ClientRecord>, StoreError>;
    /// The newest entry's (seq, hash), or (0, GENESIS) for an empty log.
    fn audit_head(&self, ns: Ns<'_>) -> Result<(u64, Hash), StoreError>;
    /// Entries with `seq` in `range`, handed to `f` one at a time (a whole log
    /// is never held in memory). `f` returns `false` to stop. An undecodable
    /// entry is passed as `Err(seq)`.
    fn audit_scan(
        &self,
        ns: Ns<'_>,
        range: std::ops::RangeInclusive<u64>,
        newest_first: bool,
        f: &mut dyn FnMut(Result<AuditEntry, u64>) -> bool,
    ) -> Result<(), StoreError>;
}

/// Writes, only inside a write transaction. Each method checks before it
/// writes, and so must each closure: on redb a closure that returns `Err`
/// after writing leaves those writes in its group commit (PostgreSQL rolls
/// them back), so "check, then write" is the contract on both.
pub trait Writes: Reads + EventWrites {
    fn put_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Insert a new tenant (and its namespace); `Conflict` if the slug is taken.
    fn insert_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError>;
    fn update_tenant(&mut self, t: &TenantRecord) -> Result<(), StoreError>;
    /// Insert or update a user; `Conflict` if the email belongs to another
    /// user of the namespace.
    fn put_user(&mut self, ns: Ns<'_>, u: &UserRecord) -> Result<(), StoreError>;
    /// Insert or update a session.
    fn put_session(&mut self, ns: Ns<'_>, s: &SessionRecord) -> Result<(), StoreError>;
    /// [`Writes::put_session`] for a caller that just read `old` in this transaction.
    fn replace_session(
        &mut self,
        ns: Ns<'_>,
        old: &SessionRecord,
        s: &SessionRecord,
    ) -> Result<(), StoreError>;
    /// Change many sessions at once: `f` answers the new record, or `None`
    /// to leave one as it is. Returns the ids changed, in `ids` order.
    fn update_sessions(
        &mut self,
        ns: Ns<'_>,
        ids: &[SessionId],
        f: &mut dyn FnMut(&SessionRecord) -> Option<SessionRecord>,
    ) -> Result<Vec<SessionId>, StoreError>;
    fn put_refresh(
        &mut self,
        ns: Ns<'_>,
        hash: &[u8; 32],
        r: &RefreshRecord,
    ) -> Result<(), StoreError>;
    /// Count purged sessions towards the engine's next space reclamation.
    fn note_purged(&mut self, n: u64) -> Result<(), StoreError>;
    /// Delete a session with its whole refresh chain. Only for sessions that
    /// ended long ago (retention); `false` if absent.
    fn purge_session(&mut self, ns: Ns<'_>, sid: SessionId) -> Result<bool, StoreError>;
    /// Insert or update a grant of `t` (and the platform's index entry);
    /// `Conflict` if the record names another tenant.
    fn put_grant(&mut self, t: &TenantScope, g: &GrantRecord) -> Result<(), StoreError>;
    /// Add a client to a tenant namespace and the global client index.
    fn insert_client(
        &mut self,
        ns: Ns<'_>,
        tenant: &TenantId,
        c: &ClientRecord,
    ) -> Result<(), StoreError>;
    /// Remove a client; `false` if it was not there.
    fn remove_client(&mut self, ns: Ns<'_>, id: ClientId) -> Result<bool, StoreError>;
    /// Append to the namespace's hash chain (linear even under concurrent
    /// writers). The only write the audit log takes.
    fn append_audit(
        &mut self,
        ns: Ns<'_>,
        at: Timestamp,
        ev: AuditEvent,
    ) -> Result<u64, StoreError>;
    /// Copy an entry sealed by another store (`sessiond migrate`). It must
    /// extend this chain as it stands (next seq, linked, hash intact), so a
    /// copied log verifies exactly as the original; `Corrupt` otherwise.
    fn import_audit(&mut self, ns: Ns<'_>, e: &AuditEntry) -> Result<(), StoreError>;
}

/// A grant is written only into its own tenant's namespace.
pub(crate) fn own_grant(t: &TenantScope, g: &GrantRecord) -> Result<(), StoreError> {
    if &g.tenant != t.tenant() {
        return Err(StoreError::Conflict(format!(
            "grant {} belongs to tenant {}, not {}",
            g.id,
            g.tenant,
            t.tenant()
        )));
    }
    Ok(())
}

/// Whether `e` may follow a chain whose head is `head`.
pub(crate) fn extends(head: (u64, Hash), e: &AuditEntry) -> Result<(), StoreError> {
    if e.seq != head.0 + 1 || e.prev_hash != head.1 || e.compute_hash() != e.hash {
        return Err(StoreError::Corrupt(format!(
            "audit entry {} does not extend the chain at {}",
            e.seq, head.0
        )));
    }
    Ok(())
}

/// The event a session write emits, if it is a transition (created, ended).
pub(crate) fn session_event(
    ns: Ns<'_>,
    old: Option<&SessionRecord>,
    new: &SessionRecord,
) -> Option<DomainEvent> {
    let tenant = ns.tenant().cloned();
    match (old, &new.state) {
        (None, _) => Some(DomainEvent::SessionCreated {
            tenant,
            session: new.id,
            user: new.user_id,
            at: new.created_at,
            support: new.support.is_some(),
        }),
        (Some(old), SessionState::Revoked { at, by, reason, .. }) if old.is_active() => {
            Some(DomainEvent::SessionRevoked {
                tenant,
                session: new.id,
                user: new.user_id,
                at: *at,
                by: *by,
                reason: *reason,
            })
        }
        _ => None,
    }
}
