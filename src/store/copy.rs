//! `sessiond migrate`: copy every record of one store into another, empty
//! one (the embedded file into PostgreSQL), through the engine-neutral API.
//! Records are copied as they are (ids, hashes, audit chains sealed by the
//! source), in bounded batches, and checked against the source at the end.

use std::fmt;

use super::{DATA_META, Ns, Space, Store, StoreError, Tx};
use crate::auth::TenantScope;
use crate::domain::SessionId;
use crate::domain::audit::AuditEntry;

/// Records written per transaction.
const BATCH: usize = 500;

/// What a copy wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tenants: u64,
    pub grants: u64,
    pub users: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub clients: u64,
    pub audit_entries: u64,
}

impl fmt::Display for Copied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tenants, {} users, {} sessions, {} refresh tokens, {} clients, {} grants, {} audit entries",
            self.tenants,
            self.users,
            self.sessions,
            self.refresh_tokens,
            self.clients,
            self.grants,
            self.audit_entries
        )
    }
}

/// Copy all of `from` into `to`, which must hold no data yet.
pub fn copy_all(from: &Store, to: &Store) -> Result<Copied, StoreError> {
    let empty = to.read_blocking(|rx| {
        Ok(rx.tenants()?.is_empty()
            && rx.grant_tenants()?.is_empty()
            && rx.users(Ns::Platform, None, 1)?.is_empty()
            && rx.audit_head(Ns::Platform)?.0 == 0)
    })?;
    if !empty {
        return Err(StoreError::Conflict(
            "the destination already holds data: migrate only into an empty schema".into(),
        ));
    }
    let mut n = Copied::default();
    let (meta, tenants, grants) = from.read_blocking(|rx| {
        let mut meta = Vec::new();
        for key in DATA_META {
            if let Some(v) = rx.meta(key)? {
                meta.push((key, v));
            }
        }
        Ok((meta, rx.tenants()?, rx.all_grants()?))
    })?;
    n.tenants = tenants.len() as u64;
    n.grants = grants.len() as u64;
    let slugs: Vec<_> = tenants.iter().map(|t| t.slug.clone()).collect();
    to.write_blocking(move |tx| {
        for (key, v) in &meta {
            tx.put_meta(key, v)?;
        }
        for t in &tenants {
            tx.insert_tenant(t)?;
        }
        for g in &grants {
            tx.put_grant(&TenantScope::operator(g.tenant.clone()), g)?;
        }
        Ok(())
    })?;
    let spaces = std::iter::once(Space::Platform).chain(
        slugs
            .into_iter()
            .map(|s| Space::Tenant(TenantScope::operator(s))),
    );
    for space in spaces {
        copy_space(from, to, &space, &mut n)?;
    }
    Ok(n)
}

fn copy_space(from: &Store, to: &Store, space: &Space, n: &mut Copied) -> Result<(), StoreError> {
    // Users, in id order.
    let mut after = None;
    loop {
        let sp = space.clone();
        let page = from.read_blocking(move |rx| rx.users(sp.ns(), after, BATCH))?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        n.users += page.len() as u64;
        write_in(to, space, move |tx, ns| {
            page.iter().try_for_each(|u| tx.put_user(ns, u))
        })?;
    }
    // Sessions, each with its whole refresh chain.
    let mut before: Option<SessionId> = None;
    loop {
        let sp = space.clone();
        let page = from.read_blocking(move |rx| {
            let ns = sp.ns();
            rx.sessions_page(ns, before, BATCH)?
                .into_iter()
                .map(|s| Ok((rx.refresh_chain(ns, s.id)?, s)))
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let Some((_, last)) = page.last() else { break };
        before = Some(last.id);
        n.sessions += page.len() as u64;
        n.refresh_tokens += page.iter().map(|(c, _)| c.len() as u64).sum::<u64>();
        write_in(to, space, move |tx, ns| {
            for (chain, s) in &page {
                tx.put_session(ns, s)?;
                for (hash, r) in chain {
                    tx.put_refresh(ns, hash, r)?;
                }
            }
            Ok(())
        })?;
    }
    // Service clients (tenants only).
    if let Space::Tenant(scope) = space {
        let sp = space.clone();
        let clients = from.read_blocking(move |rx| rx.clients(sp.ns()))?;
        n.clients += clients.len() as u64;
        let tenant = scope.tenant().clone();
        write_in(to, space, move |tx, ns| {
            clients
                .iter()
                .try_for_each(|c| tx.insert_client(ns, &tenant, c))
        })?;
        // Webhook endpoints, from the copy's (empty) outbox on: the source's
        // events and delivery history stay with the source.
        let sp = space.clone();
        let hooks = from.read_blocking(move |rx| rx.webhooks(sp.ns()))?;
        write_in(to, space, move |tx, ns| {
            let head = tx.event_head(ns)?;
            hooks.iter().try_for_each(|w| {
                let w = crate::domain::EndpointRecord {
                    cursor: head,
                    ..w.clone()
                };
                tx.put_webhook(ns, &w)
            })
        })?;
    }
    // The audit chain, entry by entry as sealed.
    let sp = space.clone();
    let (head, _) = from.read_blocking(move |rx| rx.audit_head(sp.ns()))?;
    let mut lo = 1;
    while lo <= head {
        let hi = head.min(lo + BATCH as u64 - 1);
        let sp = space.clone();
        let entries = from.read_blocking(move |rx| {
            let mut out: Vec<AuditEntry> = Vec::new();
            let mut bad = None;
            rx.audit_scan(sp.ns(), lo..=hi, false, &mut |e| match e {
                Ok(e) => {
                    out.push(e);
                    true
                }
                Err(seq) => {
                    bad = Some(seq);
                    false
                }
            })?;
            match bad {
                Some(seq) => Err(StoreError::Corrupt(format!(
                    "audit entry {seq} does not decode; run `sessiond check`"
                ))),
                None => Ok(out),
            }
        })?;
        n.audit_entries += entries.len() as u64;
        write_in(to, space, move |tx, ns| {
            entries.iter().try_for_each(|e| tx.import_audit(ns, e))
        })?;
        lo = hi + 1;
    }
    verify_space(from, to, space)
}

/// One transaction on `to` in `space`.
fn write_in(
    to: &Store,
    space: &Space,
    f: impl Fn(&mut Tx<'_>, Ns<'_>) -> Result<(), StoreError> + Send + 'static,
) -> Result<(), StoreError> {
    let sp = space.clone();
    to.write_blocking(move |tx| f(tx, sp.ns()))
}

/// Both sides agree on the audit head and the number of users and sessions.
fn verify_space(from: &Store, to: &Store, space: &Space) -> Result<(), StoreError> {
    let count = |store: &Store| {
        let sp = space.clone();
        store.read_blocking(move |rx| {
            let ns = sp.ns();
            let (mut users, mut sessions) = (0u64, 0u64);
            let mut after = None;
            while let Some(last) = {
                let page = rx.users(ns, after, BATCH)?;
                users += page.len() as u64;
                page.last().map(|u| u.id)
            } {
                after = Some(last);
            }
            let mut before = None;
            while let Some(last) = {
                let page = rx.sessions_page(ns, before, BATCH)?;
                sessions += page.len() as u64;
                page.last().map(|s| s.id)
            } {
                before = Some(last);
            }
            Ok((users, sessions, rx.audit_head(ns)?))
        })
    };
    let (a, b) = (count(from)?, count(to)?);
    if a != b {
        let name = match space {
            Space::Tenant(s) => format!("tenant {}", s.tenant()),
            Space::Platform => "the platform".into(),
        };
        return Err(StoreError::Corrupt(format!(
            "the copy of {name} differs from its source (users, sessions, audit head: {:?} vs {:?})",
            (a.0, a.1, a.2.0),
            (b.0, b.1, b.2.0)
        )));
    }
    Ok(())
}
