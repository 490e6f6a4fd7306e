//! Support access (SPEC §6): requests, grants, support sessions, and ending
//! them — by revocation or at expiry, enforced on every request.

use super::error::Checked::{Done, Refused};
use crate::domain::query::List;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::Problems;
use super::sessions::{TokenPair, open_session, revoke_in};
use super::users::{Acting, Page};
use super::{ClientMeta, Error, Result, Service};
use crate::auth::{Principal, TenantScope};
use crate::domain::AuditAction;
use crate::domain::grant::GrantActor;
use crate::domain::user::normalize_email;
use crate::domain::{
    Actor, AuditEvent, GrantId, GrantRecord, GrantStatus, RevokeReason, Role, SupportMarker,
    TenantId, Timestamp, UserId,
};
use crate::store::{Ns, Reads, Space, StoreError, Tx};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// At most the tenant's policy max_support_grant_secs.
    #[schema(minimum = 1)]
    pub duration_secs: i64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectGrant {
    /// Email of a global admin.
    #[schema(format = Email)]
    pub grantee_email: String,
    /// At most the tenant's policy max_support_grant_secs.
    #[schema(minimum = 1)]
    pub duration_secs: i64,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
    Revoke,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Grantee {
    pub id: UserId,
    pub email: String,
}

/// A grant as both sides see it; `status` is as of now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Grant)]
pub struct GrantView {
    pub id: GrantId,
    pub tenant: TenantId,
    pub grantee: Grantee,
    pub reason: String,
    pub duration_secs: i64,
    /// As of now.
    pub status: GrantStatus,
    pub requested_at: Timestamp,
    /// true for an access request, false for a direct grant.
    pub requested_by_grantee: bool,
    #[schema(required = true)]
    pub decided_at: Option<Timestamp>,
    #[schema(required = true)]
    pub decided_by: Option<GrantActor>,
    #[schema(required = true)]
    pub starts_at: Option<Timestamp>,
    #[schema(required = true)]
    pub expires_at: Option<Timestamp>,
    #[schema(required = true)]
    pub ended_at: Option<Timestamp>,
    #[schema(required = true)]
    pub ended_by: Option<GrantActor>,
    /// Support sessions started on this grant.
    pub support_sessions: usize,
}

impl GrantView {
    fn new(g: &GrantRecord, now: Timestamp) -> Self {
        Self {
            id: g.id,
            tenant: g.tenant.clone(),
            grantee: Grantee {
                id: g.grantee_id,
                email: g.grantee_email.clone(),
            },
            reason: g.reason.clone(),
            duration_secs: g.duration_secs,
            status: g.status_at(now),
            requested_at: g.requested_at,
            requested_by_grantee: g.requested_by_grantee,
            decided_at: g.decided_at,
            decided_by: g.decided_by.clone(),
            starts_at: g.starts_at,
            expires_at: g.expires_at,
            ended_at: g.ended_at,
            ended_by: g.ended_by.clone(),
            support_sessions: g.sessions.len(),
        }
    }
}

fn grant_actor(a: &Actor) -> GrantActor {
    GrantActor {
        id: a.id,
        email: a.email.clone(),
    }
}

fn validate(reason: &str, duration: i64, max: i64) -> Result<()> {
    let mut p = Problems::default();
    let n = reason.trim().chars().count();
    p.check(
        (1..=500).contains(&n),
        "reason",
        "must be 1 to 500 characters",
    );
    if !(1..=max).contains(&duration) {
        p.add(
            "duration_secs",
            format!("must be between 1 and the tenant's max_support_grant_secs ({max})"),
        );
    }
    p.finish()
}

/// A grant's lifecycle is recorded in the tenant's log and mirrored in the platform's.
fn audit_both(
    tx: &mut Tx<'_>,
    tenant: &TenantId,
    now: Timestamp,
    ev: AuditEvent,
) -> Result<(), StoreError> {
    let scope = TenantScope::system(tenant.clone());
    tx.append_audit(Ns::from(&scope), now, ev.clone())?;
    tx.append_audit(Ns::Platform, now, ev)?;
    Ok(())
}

/// End a grant inside a transaction: state, its support sessions, both audit logs.
pub(crate) fn end_grant(
    tx: &mut Tx<'_>,
    g: &mut GrantRecord,
    status: GrantStatus,
    by: &Acting,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let (reason, action) = match status {
        GrantStatus::Expired => (RevokeReason::GrantExpired, AuditAction::GrantExpired),
        _ => (RevokeReason::GrantRevoked, AuditAction::GrantRevoked),
    };
    g.status = status;
    g.ended_at = Some(now);
    g.ended_by = Some(grant_actor(&by.actor));
    let scope = TenantScope::system(g.tenant.clone());
    let ns = Ns::from(&scope);
    let mut n = 0;
    for sid in &g.sessions {
        if revoke_in(tx, ns, *sid, now, by.actor.id, reason, None)? {
            n += 1;
        }
    }
    tx.put_grant(&scope, g)?;
    let ev = by
        .event(action)
        .target(g.id)
        .reason(Some(reason.as_str()))
        .details(json!({ "tenant": g.tenant, "grantee": g.grantee_email, "sessions_revoked": n }));
    audit_both(tx, &g.tenant, now, ev)?;
    Ok(n)
}

/// Newest first, by grant id.
fn grant_page(
    views: impl Iterator<Item = GrantView>,
    after: Option<GrantId>,
    limit: usize,
) -> Page<GrantView> {
    Page::window(List::Grants, views, |g| g.id, true, after, limit)
}

impl Service {
    fn max_grant_secs(rx: &(impl Reads + ?Sized), t: &TenantId) -> Result<i64, StoreError> {
        rx.tenant(t)?
            .map(|t| t.policy.max_support_grant_secs)
            .ok_or(StoreError::NotFound)
    }

    /// `POST /v1/platform/tenants/{t}/access-requests` by a global admin.
    pub async fn request_access(
        &self,
        p: &Principal,
        tenant: &TenantId,
        req: AccessRequest,
        meta: ClientMeta,
    ) -> Result<GrantView> {
        let now = self.now();
        let (t, by, admin) = (tenant.clone(), Acting::principal(p, meta), p.clone());
        let g = self
            .store
            .write(move |tx| {
                let max = Self::max_grant_secs(tx, &t)?;
                if let Err(e) = validate(&req.reason, req.duration_secs, max) {
                    return Ok(Refused(e));
                }
                let g = GrantRecord::request(
                    t.clone(),
                    admin.user_id,
                    admin.email.clone(),
                    &req.reason,
                    req.duration_secs,
                    now,
                );
                tx.put_grant(&TenantScope::system(t.clone()), &g)?;
                let ev = by
                    .event(AuditAction::AccessRequested)
                    .target(g.id)
                    .reason(Some(&g.reason))
                    .details(json!({ "tenant": t, "duration_secs": g.duration_secs }));
                audit_both(tx, &t, now, ev)?;
                Ok(Done(g))
            })
            .await?
            .into_result()?;
        Ok(GrantView::new(&g, now))
    }

    /// `GET /v1/tenants/{t}/support-grants`: newest first, paged.
    pub async fn tenant_grants(
        &self,
        scope: &TenantScope,
        after: Option<GrantId>,
        limit: usize,
    ) -> Result<Page<GrantView>> {
        let scope = scope.clone();
        let now = self.now();
        let all = self
            .store
            .read(move |rx| {
                if rx.tenant(scope.tenant())?.is_none() {
                    return Err(StoreError::NotFound);
                }
                rx.grants(&scope)
            })
            .await?;
        let views = all.iter().rev().map(|g| GrantView::new(g, now));
        Ok(grant_page(views, after, limit))
    }

    /// `GET /v1/platform/grants`: the caller's own requests and grants.
    pub async fn my_grants(
        &self,
        p: &Principal,
        after: Option<GrantId>,
        limit: usize,
    ) -> Result<Page<GrantView>> {
        let me = p.user_id;
        let now = self.now();
        let all = self.store.read(move |rx| rx.all_grants()).await?;
        let views = all
            .iter()
            .rev()
            .filter(|g| g.grantee_id == me)
            .map(|g| GrantView::new(g, now));
        Ok(grant_page(views, after, limit))
    }

    /// The caller's active grant per tenant, for the platform's tenant list.
    pub(crate) async fn active_grants_of(&self, admin: UserId) -> Result<Vec<GrantRecord>> {
        let now = self.now();
        let all = self.store.read(move |rx| rx.all_grants()).await?;
        Ok(all
            .into_iter()
            .filter(|g| g.grantee_id == admin && g.is_active_at(now))
            .collect())
    }

    /// `POST /v1/tenants/{t}/support-grants`: an org admin grants access directly.
    pub async fn grant_directly(
        &self,
        scope: &TenantScope,
        by: Acting,
        req: DirectGrant,
    ) -> Result<GrantView> {
        let email =
            normalize_email(&req.grantee_email).map_err(|e| Error::field("grantee_email", e))?;
        let now = self.now();
        let (t, scope) = (scope.tenant().clone(), scope.clone());
        let g = self
            .store
            .write(move |tx| {
                let max = Self::max_grant_secs(tx, &t)?;
                if let Err(e) = validate(&req.reason, req.duration_secs, max) {
                    return Ok(Refused(e));
                }
                let Some(admin) = tx.user_by_email(Ns::Platform, &email)?.filter(|u| u.role == Role::GlobalAdmin && !u.disabled) else {
                    return Ok(Refused(Error::field("grantee_email", "no global admin has this email")));
                };
                let mut g = GrantRecord::request(t.clone(), admin.id, admin.email, &req.reason, req.duration_secs, now);
                g.requested_by_grantee = false;
                g.activate(grant_actor(&by.actor), now);
                tx.put_grant(&scope, &g)?;
                let ev = by
                    .event(AuditAction::GrantCreated)
                    .target(g.id)
                    .reason(Some(&g.reason))
                    .details(json!({ "tenant": t, "grantee": g.grantee_email, "expires_at": g.expires_at }));
                audit_both(tx, &t, now, ev)?;
                Ok(Done(g))
            })
            .await?
            .into_result()?;
        self.grant_wakeup.notify_one();
        Ok(GrantView::new(&g, now))
    }

    /// Approve or deny a pending request, or revoke an active grant.
    pub async fn decide_grant(
        &self,
        scope: &TenantScope,
        by: Acting,
        gid: GrantId,
        d: Decision,
    ) -> Result<GrantView> {
        let now = self.now();
        let (t, scope) = (scope.tenant().clone(), scope.clone());
        let g = self
            .store
            .write(move |tx| {
                let Some(mut g) = tx.grant(&scope, gid)? else { return Ok(Refused(Error::NotFound)) };
                let status = g.status_at(now);
                let conflict = |what: &str| Ok(Refused(Error::Conflict(format!("cannot {what} a grant that is {status:?}").to_lowercase())));
                match d {
                    Decision::Approve | Decision::Deny if status != GrantStatus::Pending => {
                        return conflict(if d == Decision::Approve { "approve" } else { "deny" });
                    }
                    Decision::Revoke if status != GrantStatus::Active => return conflict("revoke"),
                    Decision::Approve => {
                        g.activate(grant_actor(&by.actor), now);
                        tx.put_grant(&scope, &g)?;
                        let ev = by.event(AuditAction::GrantApproved).target(g.id).details(json!({ "tenant": g.tenant, "grantee": g.grantee_email, "expires_at": g.expires_at }));
                        audit_both(tx, &t, now, ev)?;
                    }
                    Decision::Deny => {
                        g.status = GrantStatus::Denied;
                        g.decided_at = Some(now);
                        g.decided_by = Some(grant_actor(&by.actor));
                        tx.put_grant(&scope, &g)?;
                        let ev = by.event(AuditAction::GrantDenied).target(g.id).details(json!({ "tenant": g.tenant, "grantee": g.grantee_email }));
                        audit_both(tx, &t, now, ev)?;
                    }
                    Decision::Revoke => {
                        end_grant(tx, &mut g, GrantStatus::Revoked, &by, now)?;
                    }
                }
                Ok(Done(g))
            })
            .await?
            .into_result()?;
        self.grant_wakeup.notify_one();
        Ok(GrantView::new(&g, now))
    }

    /// `POST /v1/platform/tenants/{t}/support-sessions`: a session inside the
    /// tenant for the grantee of an active grant, ending no later than the grant.
    pub async fn start_support_session(
        &self,
        p: &Principal,
        tenant: &TenantId,
        meta: ClientMeta,
    ) -> Result<TokenPair> {
        let now = self.now();
        let (t, admin, by) = (
            tenant.clone(),
            p.clone(),
            Acting::principal(p, meta.clone()),
        );
        let scope = TenantScope::system(t.clone());
        let space = Space::Tenant(scope.clone());
        let tx_space = space.clone();
        let (session, refresh, policy) = self
            .store
            .write(move |tx| {
                let Some(tenant_rec) = tx.tenant(&t)? else {
                    return Ok(Refused(Error::NotFound));
                };
                let grant = tx
                    .grants(&scope)?
                    .into_iter()
                    .rev()
                    .find(|g| g.grantee_id == admin.user_id && g.is_active_at(now));
                let Some(mut g) = grant else {
                    return Ok(Refused(Error::Forbidden(
                        "no active support-access grant for this tenant",
                    )));
                };
                let Some(user) = tx.user(Ns::Platform, admin.user_id)? else {
                    return Ok(Refused(Error::TokenInvalid));
                };
                let policy = tenant_rec.policy;
                let marker = SupportMarker {
                    grant_id: g.id,
                    admin_id: user.id,
                    admin_email: user.email.clone(),
                };
                // The session cannot outlive the grant.
                let end = g.expires_at.unwrap_or(now);
                let (session, refresh) = open_session(
                    tx,
                    &tx_space,
                    &user,
                    &meta,
                    Some((marker, end)),
                    &policy,
                    now,
                )?;
                g.sessions.push(session.id);
                tx.put_grant(&scope, &g)?;
                let ev = AuditEvent::new(by.actor.clone(), AuditAction::SupportSessionStarted)
                    .target(session.id)
                    .ip(meta.ip.as_deref())
                    .grant(Some(g.id))
                    .details(json!({ "tenant": t, "grant_id": g.id, "expires_at": g.expires_at }));
                audit_both(tx, &t, now, ev)?;
                Ok(Done((session, refresh, policy)))
            })
            .await?
            .into_result()?;
        self.mint(&space, &session, Role::GlobalAdmin, &policy, refresh)
    }

    /// End every active grant past its expiry (revoking its support sessions,
    /// auditing both logs). Returns the next expiry still ahead.
    pub async fn expire_grants(&self) -> Result<Option<Timestamp>> {
        let now = self.now();
        let (_, next) = self
            .store
            .write(move |tx| {
                let mut ended = 0;
                let mut next: Option<Timestamp> = None;
                let by = Acting::operator();
                for mut g in tx.all_grants()? {
                    if g.status != GrantStatus::Active {
                        continue;
                    }
                    match g.expires_at {
                        Some(exp) if exp <= now => {
                            end_grant(tx, &mut g, GrantStatus::Expired, &by, now)?;
                            ended += 1;
                        }
                        Some(exp) => next = Some(next.map_or(exp, |n| n.min(exp))),
                        None => {}
                    }
                }
                Ok((ended, next))
            })
            .await?;
        Ok(next)
    }

    /// Sleep until the next grant expiry (or a grant change), then end what expired.
    /// Support sessions are refused once their grant's time is up whether or
    /// not this has run yet (the request check reads the grant's expiry).
    async fn expire_grants_if(&self, leading: bool) -> Result<Option<Timestamp>> {
        if leading {
            self.expire_grants().await
        } else {
            Ok(None)
        }
    }

    pub(crate) async fn run_grant_scheduler(&self) {
        let mut failing = false;
        loop {
            // One node of a shared store expires grants; the others only
            // check whether it is still there. (Access ends at `expires_at`
            // on every node anyway: each request checks the grant.)
            let leading = self.store.leading().await;
            let next = match self.expire_grants_if(leading).await {
                Ok(n) => {
                    failing = false;
                    n
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "grant expiry failed; retrying every second");
                    }
                    failing = true;
                    Some(self.now().plus_secs(1))
                }
            };
            // Grants made on other nodes do not wake us: look again soon.
            let longest = if self.store.is_shared() {
                1_000
            } else {
                3_600_000
            };
            let wait_ms = next.map_or(longest, |t| {
                (t.millis() - self.now().millis()).clamp(0, longest)
            });
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)) => {},
                () = self.grant_wakeup.notified() => {},
            }
        }
    }
}
