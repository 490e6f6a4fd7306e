//! Listing a tenant's sessions: keyset pagination over the activity index
//! (or creation order), merged with in-memory activity so listings are current.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

mod scan;

use super::users::Page;
use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::{GrantId, RevokeReason, SessionId, Timestamp, UserId};
use crate::store::{Ns, StoreError};
use scan::Lister;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Active,
    Revoked,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    LastActivityDesc,
    CreatedDesc,
}

/// Where the previous page stopped. Opaque to clients (base64url).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Activity(i64, SessionId),
    Created(SessionId),
}

impl Cursor {
    pub fn encode(self) -> String {
        let raw = match self {
            Cursor::Activity(a, s) => format!("a.{a}.{s}"),
            Cursor::Created(s) => format!("c.{s}"),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(s: &str, sort: Sort) -> Result<Self> {
        let bad = || Error::field("cursor", "malformed cursor, or from a different sort");
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let parts: Vec<&str> = raw.split('.').collect();
        match (sort, parts.as_slice()) {
            (Sort::LastActivityDesc, ["a", a, sid]) => Ok(Cursor::Activity(
                a.parse().map_err(|_| bad())?,
                SessionId::parse(sid).map_err(|_| bad())?,
            )),
            (Sort::CreatedDesc, ["c", sid]) => {
                Ok(Cursor::Created(SessionId::parse(sid).map_err(|_| bad())?))
            }
            _ => Err(bad()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    pub status: StatusFilter,
    pub user_id: Option<UserId>,
    pub q: Option<String>,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

/// The session's user; for a support session, the global admin.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionUser {
    pub id: UserId,
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SupportInfo)]
pub struct SupportView {
    pub grant_id: GrantId,
    pub admin_email: String,
}

/// A session as SPEC §5 shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    pub id: SessionId,
    pub user: SessionUser,
    pub created_at: Timestamp,
    pub last_activity_at: Timestamp,
    /// When it ends unless used again: min(absolute expiry, last activity + idle timeout).
    pub expires_at: Timestamp,
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    #[schema(value_type = crate::http::openapi::schemas::SessionStatus)]
    pub status: &'static str,
    #[schema(required = true)]
    pub revoked_at: Option<Timestamp>,
    #[schema(required = true)]
    pub revoked_by: Option<UserId>,
    #[schema(required = true)]
    pub revoked_reason: Option<RevokeReason>,
    /// The admin's `reason`, if given.
    #[schema(required = true)]
    pub revoke_note: Option<String>,
    #[schema(required = true)]
    pub support: Option<SupportView>,
    /// The caller's own session.
    pub current: bool,
}

impl Service {
    /// In-memory activity of one tenant's sessions.
    pub(crate) fn fresh_activity(&self, scope: &TenantScope) -> HashMap<SessionId, Timestamp> {
        self.activity
            .snapshot()
            .into_iter()
            .filter(|((t, _), _)| t.as_ref() == Some(scope.tenant()))
            .map(|((_, s), at)| (s, at))
            .collect()
    }

    /// `GET /v1/tenants/{t}/sessions`
    pub async fn list_sessions(
        &self,
        scope: &TenantScope,
        q: SessionQuery,
        current: Option<SessionId>,
    ) -> Result<Page<SessionView>> {
        let fresh = self.fresh_activity(scope);
        let scope = scope.clone();
        let now = self.now();
        self.store
            .read(move |rx| {
                let Some(tenant) = rx.tenant(scope.tenant())? else {
                    return Err(StoreError::NotFound);
                };
                let mut l = Lister {
                    rx,
                    ns: Ns::from(&scope),
                    now,
                    policy: tenant.policy,
                    fresh,
                    users: HashMap::new(),
                    current,
                };
                let mut rows = l.run(&q)?;
                let more = rows.len() > q.limit;
                rows.truncate(q.limit);
                let next_cursor = if more {
                    rows.last().map(|s| l.key(s, q.sort).encode())
                } else {
                    None
                };
                l.prefetch_users(&rows)?;
                let items = rows
                    .iter()
                    .map(|s| l.view(s))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page { items, next_cursor })
            })
            .await
            .map_err(Error::from)
    }

    /// `GET /v1/tenants/{t}/sessions/{sid}`
    pub async fn get_session(
        &self,
        scope: &TenantScope,
        sid: SessionId,
        current: Option<SessionId>,
    ) -> Result<SessionView> {
        let fresh = self.fresh_activity(scope);
        let scope = scope.clone();
        let now = self.now();
        self.store
            .read(move |rx| {
                let Some(tenant) = rx.tenant(scope.tenant())? else {
                    return Err(StoreError::NotFound);
                };
                let ns = Ns::from(&scope);
                let Some(s) = rx.session(ns, sid)? else {
                    return Err(StoreError::NotFound);
                };
                let mut l = Lister {
                    rx,
                    ns,
                    now,
                    policy: tenant.policy,
                    fresh,
                    users: HashMap::new(),
                    current,
                };
                l.view(&s)
            })
            .await
            .map_err(Error::from)
    }
}

/// How long an active-sessions count is reused (it walks the activity index).
const COUNT_TTL_MS: i64 = 15_000;

impl Service {
    /// Active (not revoked, not idle-expired) sessions per tenant, cached briefly.
    pub async fn active_sessions_cached(&self) -> Result<super::ActiveCounts> {
        let now = self.now();
        if let Ok(c) = self.active_count_cache.lock()
            && let Some((at, counts)) = c.as_ref()
            && now.millis() - at.millis() < COUNT_TTL_MS
        {
            return Ok(counts.clone());
        }
        let counts = self
            .store
            .read(move |rx| {
                let mut out = Vec::new();
                for t in rx.tenants()? {
                    let scope = TenantScope::system(t.slug.clone());
                    let cutoff = now.minus_secs(t.policy.idle_timeout_secs).millis();
                    let mut n = 0u64;
                    let mut from = None;
                    loop {
                        let page = rx.activity_page(Ns::from(&scope), 0, from, 4096)?;
                        let live = page.iter().take_while(|(a, _)| *a > cutoff).count();
                        n += live as u64;
                        match page.last() {
                            Some(k) if live == page.len() && page.len() == 4096 => from = Some(*k),
                            _ => break,
                        }
                    }
                    out.push((t.slug.to_string(), n));
                }
                Ok(out)
            })
            .await?;
        if let Ok(mut c) = self.active_count_cache.lock() {
            *c = Some((now, counts.clone()));
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts() {
        let sid = SessionId::new_v7();
        let a = Cursor::Activity(123, sid);
        assert_eq!(
            Cursor::decode(&a.encode(), Sort::LastActivityDesc).unwrap(),
            a
        );
        assert!(Cursor::decode(&a.encode(), Sort::CreatedDesc).is_err());
        let c = Cursor::Created(sid);
        assert_eq!(Cursor::decode(&c.encode(), Sort::CreatedDesc).unwrap(), c);
        for bad in ["", "!!", "YS4xLjI", &URL_SAFE_NO_PAD.encode("a.x.y")] {
            assert!(
                Cursor::decode(bad, Sort::LastActivityDesc).is_err(),
                "{bad}"
            );
        }
    }
}
