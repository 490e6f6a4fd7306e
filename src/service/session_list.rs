//! Listing a tenant's sessions: keyset pagination over the activity index
//! (or creation order), merged with in-memory activity so listings are current.

use std::collections::HashMap;

use serde::Serialize;

mod find;
pub(crate) mod render;

use super::device::Device;
use super::geo::Location;
use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::query::{Activity, Order, SessionQuery, SortBy};
use crate::domain::{GrantId, RevokeReason, SessionId, SessionRecord, Timestamp, UserId};
use crate::store::{Ns, Reads, StoreError};
use find::BOUNDED;
pub(crate) use find::Keys;
pub(crate) use find::Total;
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

/// One page of a session list, and how many sessions the list holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionView>,
    /// Pass as `cursor` for the next page; null at the end.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    /// How many sessions the list holds (every page), when counted exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total: Option<u64>,
    /// Instead of `total` where counting would be slow: the tenant's count of
    /// that status for an unfiltered list; 10000 (a lower bound) for a
    /// filtered one that matches more.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub total_estimate: Option<u64>,
}

impl SessionPage {
    pub(crate) fn new(items: Vec<SessionView>, next_cursor: Option<String>, total: Total) -> Self {
        let (total, total_estimate) = match total {
            Total::Exact(n) => (Some(n), None),
            Total::About(n) => (None, Some(n)),
        };
        Self {
            items,
            next_cursor,
            total,
            total_estimate,
        }
    }
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
    /// What the user agent names (uap-core's patterns).
    pub device: Device,
    /// Where `ip` is, when the server has a GeoIP database (`--geoip-db`).
    #[schema(required = true)]
    pub location: Option<Location>,
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
        order: Order,
        current: Option<SessionId>,
    ) -> Result<SessionPage> {
        // Unfiltered and name-searched lists estimate from the tenant's counts.
        let keys = if q.user_id.is_none() {
            self.session_keys(scope).await?
        } else {
            Keys::default()
        };
        let fresh = self.fresh_activity(scope);
        let geo = self.placer();
        let scope = scope.clone();
        let now = self.now();
        self.store
            .read(move |rx| {
                let ns = Ns::from(&scope);
                let at = activity_in(rx, &scope, now, &fresh)?;
                let mut l = Lister {
                    rx,
                    ns,
                    at,
                    users: HashMap::new(),
                    current,
                };
                let (rows, next_cursor, total) = match order {
                    Order::Indexed(_) => {
                        let started = std::time::Instant::now();
                        let mut rows = find::gather(rx, ns, &q, &at, q.limit + 1)?;
                        let gathered = started.elapsed();
                        let more = rows.len() > q.limit;
                        rows.truncate(q.limit);
                        let next = if more {
                            rows.last().map(|s| at.key(s, q.sort).encode())
                        } else {
                            None
                        };
                        // A first page that holds everything is its own count.
                        let total = if q.cursor.is_none() && !more {
                            Total::Exact(rows.len() as u64)
                        } else {
                            find::total(rx, ns, &q, &at, keys)?
                        };
                        tracing::debug!(
                            page_us = gathered.as_micros() as u64,
                            total_us = (started.elapsed() - gathered).as_micros() as u64,
                            "session list"
                        );
                        (rows, next, total)
                    }
                    Order::InMemory { by, desc, after } => {
                        let all = find::gather(rx, ns, &find::unordered(&q), &at, BOUNDED + 1)?;
                        if all.len() > BOUNDED {
                            return Ok(Err(Error::field(
                                "sort",
                                format!("more than {BOUNDED} sessions match: narrow the list (q, user_id or status) to sort it this way, or sort by last_activity_desc or created_desc"),
                            )));
                        }
                        let total = Total::Exact(all.len() as u64);
                        if by == SortBy::User {
                            l.prefetch_users(&all)?;
                        }
                        let emails: HashMap<UserId, String> = l
                            .users
                            .iter()
                            .filter_map(|(id, u)| Some((*id, u.as_ref()?.0.to_lowercase())))
                            .collect();
                        let mut keyed: Vec<(String, SessionRecord)> = all
                            .into_iter()
                            .map(|s| (find::sort_key(by, &s, &at, &emails), s))
                            .collect();
                        keyed.sort_by(|a, b| (&a.0, a.1.id).cmp(&(&b.0, b.1.id)));
                        if desc {
                            keyed.reverse();
                        }
                        let past = |k: &(String, SessionRecord)| match &after {
                            None => true,
                            Some((key, sid)) if desc => (&k.0, k.1.id) < (key, *sid),
                            Some((key, sid)) => (&k.0, k.1.id) > (key, *sid),
                        };
                        let mut page: Vec<(String, SessionRecord)> =
                            keyed.into_iter().filter(past).take(q.limit + 1).collect();
                        let more = page.len() > q.limit;
                        page.truncate(q.limit);
                        let next = if more {
                            page.last()
                                .map(|(k, s)| Order::cursor_after(by, desc, k, s.id))
                        } else {
                            None
                        };
                        (page.into_iter().map(|(_, s)| s).collect(), next, total)
                    }
                };
                l.prefetch_users(&rows)?;
                let items = rows
                    .iter()
                    .map(|s| l.view(s))
                    .collect::<Result<Vec<_>, _>>()?;
                let items = items.into_iter().map(|v| geo.place(v)).collect();
                Ok(Ok(SessionPage::new(items, next_cursor, total)))
            })
            .await?
    }

    /// A tenant's session index counts, reused briefly (counting walks the index).
    async fn session_keys(&self, scope: &TenantScope) -> Result<Keys> {
        let now = self.now();
        let tenant = scope.tenant().to_string();
        if let Ok(c) = self.session_keys_cache.lock()
            && let Some((at, k)) = c.get(&tenant)
            && now.millis() - at.millis() < COUNT_TTL_MS
        {
            return Ok(*k);
        }
        let s = scope.clone();
        let keys = self
            .store
            .read(move |rx| {
                let t = rx.tenant(s.tenant())?.ok_or(StoreError::NotFound)?;
                let cutoff = now.minus_secs(t.policy.idle_timeout_secs).millis();
                Keys::count(rx, Ns::from(&s), cutoff)
            })
            .await?;
        if let Ok(mut c) = self.session_keys_cache.lock() {
            c.retain(|_, (at, _)| now.millis() - at.millis() < COUNT_TTL_MS);
            c.insert(tenant, (now, keys));
        }
        Ok(keys)
    }

    /// `GET /v1/tenants/{t}/sessions/{sid}`
    pub async fn get_session(
        &self,
        scope: &TenantScope,
        sid: SessionId,
        current: Option<SessionId>,
    ) -> Result<SessionView> {
        let fresh = self.fresh_activity(scope);
        let geo = self.placer();
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
                Ok(geo.place(l.view(&s)?))
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
