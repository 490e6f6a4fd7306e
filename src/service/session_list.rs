//! Listing a tenant's sessions: keyset pagination over the activity index
//! (or creation order), merged with in-memory activity so listings are current.

use std::collections::HashMap;

use serde::Serialize;

mod render;

use super::users::Page;
use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::query::{Activity, SessionQuery};
use crate::domain::{GrantId, RevokeReason, SessionId, Timestamp, UserId};
use crate::store::{Ns, Reads, StoreError};
use render::Lister;

/// The tenant's idle rule and this node's fresh activity, as of `now`.
pub(super) fn activity_in<'a>(
    rx: &(impl Reads + ?Sized),
    scope: &TenantScope,
    now: Timestamp,
    fresh: &'a HashMap<SessionId, Timestamp>,
) -> Result<Activity<'a>, StoreError> {
    let tenant = rx.tenant(scope.tenant())?.ok_or(StoreError::NotFound)?;
    Ok(Activity {
        now,
        idle_timeout_secs: tenant.policy.idle_timeout_secs,
        fresh,
    })
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
                let ns = Ns::from(&scope);
                let at = activity_in(rx, &scope, now, &fresh)?;
                let mut rows = rx.query_sessions(ns, &q, &at)?;
                let more = rows.len() > q.limit;
                rows.truncate(q.limit);
                let next_cursor = if more {
                    rows.last().map(|s| at.key(s, q.sort).encode())
                } else {
                    None
                };
                let mut l = Lister {
                    rx,
                    ns,
                    at,
                    users: HashMap::new(),
                    current,
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
                let at = activity_in(rx, &scope, now, &fresh)?;
                let ns = Ns::from(&scope);
                let Some(s) = rx.session(ns, sid)? else {
                    return Err(StoreError::NotFound);
                };
                let mut l = Lister {
                    rx,
                    ns,
                    at,
                    users: HashMap::new(),
                    current,
                };
                l.view(&s)
            })
            .await
            .map_err(Error::from)
    }
}

/// How long an active-sessions count is reused (counting may walk an index).
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
                    let n = rx.count_active(Ns::from(&scope), cutoff)?;
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
