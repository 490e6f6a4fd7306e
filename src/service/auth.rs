//! Login, refresh, logout, the per-request check, introspection, RFC 7009 revocation.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::session_limit::make_room;
use super::sessions::{
    TokenPair, admit, open_session, parse_refresh_token, revoke_in, space_key, space_of_tid,
    subject_of,
};
use super::{ClientMeta, Error, Result, Service};
use crate::auth::secret::Secret;
use crate::auth::token::{Claims, TokenError};
use crate::auth::verified::token_key;
use crate::auth::{Principal, Realm, TenantScope};
use crate::domain::AuditAction;
use crate::domain::EventKind;
use crate::domain::session::{Rotation, SessionDenied};
use crate::domain::user::normalize_email;
use crate::domain::{
    Actor, ActorKind, AuditEvent, Policy, RevokeReason, Role, SessionId, SessionRecord, TenantId,
    UserId, UserRecord,
};
use crate::store::Space;

/// What one refresh transaction decided. Every variant commits what it wrote.
enum Refresh {
    /// The token rotated (or a retry within the grace period was answered).
    Rotated {
        session: Box<SessionRecord>,
        role: Role,
        policy: Policy,
    },
    /// No such token, session or subject: nothing was written.
    Unknown,
    /// The session may not continue (revoked, expired, user disabled…): nothing was written.
    Denied(SessionDenied),
    /// A used token came back: its session was revoked in this same commit.
    Reused,
}

/// `GET /v1/auth/me`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: MeUser,
    /// Tenant slug; null for a global admin's platform session.
    #[schema(required = true)]
    pub tenant: Option<TenantId>,
    /// The tenant's display name (`tenant` is its slug).
    pub tenant_name: Option<String>,
    pub session_id: SessionId,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeUser {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

pub(crate) fn actor_of(u: &UserRecord) -> Actor {
    Actor::person(u.id, &u.email, u.role)
}

impl Service {
    /// `POST /v1/auth/login`: the same answer for unknown tenant, unknown
    /// user, wrong password and disabled user.
    pub async fn login(
        &self,
        tenant: &str,
        email: &str,
        password: Secret,
        meta: ClientMeta,
    ) -> Result<TokenPair> {
        let space = TenantId::parse(tenant)
            .ok()
            .map(|t| Space::Tenant(TenantScope::for_credential(t)));
        self.login_in(space, tenant, email, password, meta).await
    }

    /// `POST /v1/platform/auth/login`: global admins.
    pub async fn platform_login(
        &self,
        email: &str,
        password: Secret,
        meta: ClientMeta,
    ) -> Result<TokenPair> {
        self.login_in(Some(Space::Platform), "_platform", email, password, meta)
            .await
    }

    async fn login_in(
        &self,
        space: Option<Space>,
        tenant_label: &str,
        email: &str,
        password: Secret,
        meta: ClientMeta,
    ) -> Result<TokenPair> {
        let email_norm = normalize_email(email)
            .unwrap_or_else(|_| crate::domain::text::search_key(email.trim()));
        let account = format!("{tenant_label}/{email_norm}");
        let ip = meta.ip.clone().unwrap_or_else(|| "unknown".into());
        let now = self.now();
        if let Some(secs) = self.limiter.blocked(&account, &ip, now) {
            metrics::counter!("sessiond_logins_total", "result" => "rate_limited").increment(1);
            return Err(Error::RateLimited {
                retry_after_secs: secs,
            });
        }

        let lookup = space.clone();
        let em = email_norm.clone();
        let (exists, user) = self
            .store
            .read(move |rx| {
                let Some(space) = lookup else {
                    return Ok((false, None));
                };
                let exists = match &space {
                    Space::Tenant(s) => rx.tenant(s.tenant())?.is_some(),
                    Space::Platform => true,
                };
                let user = if exists {
                    rx.user_by_email(space.ns(), &em)?
                } else {
                    None
                };
                Ok((exists, user))
            })
            .await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = self
            .passwords
            .verify(password, hash)
            .await
            .map_err(|_| Error::Overloaded)?;
        let user = match user {
            Some(u) if ok && !u.disabled => u,
            _ => {
                metrics::counter!("sessiond_logins_total", "result" => "failed").increment(1);
                self.limiter.failed(&account, &ip, self.now());
                // Unknown tenants go to the platform log: every failure costs one
                // durable write, so timing does not tell which tenants exist.
                let (log, unknown_tenant) = match (exists, space) {
                    (true, Some(space)) => (space, None),
                    _ => (Space::Platform, Some(tenant_label.to_owned())),
                };
                self.record_failed_login(log, email_norm, unknown_tenant, meta)
                    .await?;
                return Err(Error::InvalidCredentials);
            }
        };
        self.limiter.succeeded(&account, &ip);
        metrics::counter!("sessiond_logins_total", "result" => "ok").increment(1);

        let Some(space) = space else {
            return Err(Error::InvalidCredentials);
        };
        let svc_space = space.clone();
        let now = self.now();
        let uid = user.id;
        let platform_policy = self.config.platform_policy;
        let (session, refresh, user, policy) = self
            .store
            .write(move |tx| {
                let policy = match &space {
                    Space::Platform => platform_policy,
                    Space::Tenant(s) => {
                        tx.tenant(s.tenant())?.map(|t| t.policy).unwrap_or_default()
                    }
                };
                // Re-read inside the transaction: disabled since the password check?
                let Some(user) = tx.user(space.ns(), uid)?.filter(|u| !u.disabled) else {
                    return Ok(Err(Error::InvalidCredentials));
                };
                let evicted = match make_room(tx, space.ns(), &user, &policy, now)? {
                    Ok(evicted) => evicted,
                    Err(limit) => {
                        let ev = AuditEvent::new(actor_of(&user), AuditAction::LoginRefused)
                            .target(user.id)
                            .reason(Some("session_limit_reached"))
                            .ip(meta.ip.as_deref())
                            .details(json!({ "user_id": user.id, "limit": limit }));
                        tx.append_audit(space.ns(), now, ev)?;
                        return Ok(Err(Error::SessionLimitReached { limit }));
                    }
                };
                let (session, refresh) =
                    open_session(tx, &space, &user, &meta, None, &policy, now)?;
                // "New sign-in from …": webhooks and SSF streams that asked for it.
                if let Space::Tenant(_) = &space {
                    let created = EventKind::SessionCreated {
                        session: session.id,
                        user: user.id,
                        ip: session.ip.clone(),
                        user_agent: session.user_agent.clone(),
                    };
                    tx.append_event(space.ns(), now, created)?;
                }
                let ev = AuditEvent::new(actor_of(&user), AuditAction::Login)
                    .target(session.id)
                    .ip(meta.ip.as_deref())
                    .details(json!({
                        "user_id": user.id, "user_agent": session.user_agent, "evicted": evicted,
                    }));
                tx.append_audit(space.ns(), now, ev)?;
                Ok(Ok((session, refresh, user, policy)))
            })
            .await??;
        self.mint(&svc_space, &session, user.role, &policy, refresh)
    }

    async fn record_failed_login(
        &self,
        space: Space,
        email: String,
        unknown_tenant: Option<String>,
        meta: ClientMeta,
    ) -> Result<()> {
        let now = self.now();
        // Both come from the request body: keep what is logged bounded.
        let email = super::sessions::truncate(&email, 254);
        let unknown_tenant = unknown_tenant.map(|t| super::sessions::truncate(&t, 64));
        self.store
            .write(move |tx| {
                let ev = AuditEvent::new(
                    Actor {
                        kind: ActorKind::User,
                        id: None,
                        email: Some(email.clone()),
                    },
                    AuditAction::LoginFailed,
                )
                .target(email.clone())
                .ip(meta.ip.as_deref())
                .details(
                    json!({ "user_agent": meta.user_agent, "unknown_tenant": unknown_tenant }),
                );
                tx.append_audit(space.ns(), now, ev)?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// `POST /v1/auth/refresh`: rotation and reuse detection in one transaction.
    pub async fn refresh(&self, token: Secret, meta: ClientMeta) -> Result<TokenPair> {
        let space = parse_refresh_token(&token).ok_or(Error::RefreshTokenInvalid)?;
        let hash = token.sha256();
        let next = self.successor_key.successor(&space, &token);
        let next_hash = next.sha256();
        drop(token);
        let now = self.now();
        // Activity held in memory for this session is merged inside the transaction.
        let activity = self.activity.clone();
        let tx_space = space.clone();
        let platform_policy = self.config.platform_policy;
        let outcome = self
            .store
            .write(move |tx| {
                let space = tx_space.clone();
                let ns = space.ns();
                let Some(mut rec) = tx.refresh(ns, &hash)? else {
                    return Ok(Refresh::Unknown);
                };
                let Some(mut session) = tx.session(ns, rec.session_id)? else {
                    return Ok(Refresh::Unknown);
                };
                let (user, grant) = subject_of(tx, ns, &session)?;
                let Some(user) = user else {
                    return Ok(Refresh::Unknown);
                };
                let policy = match &space {
                    Space::Platform => platform_policy,
                    Space::Tenant(s) => {
                        tx.tenant(s.tenant())?.map(|t| t.policy).unwrap_or_default()
                    }
                };
                let last = activity
                    .get(&space_key(&space, session.id))
                    .map_or(session.last_activity_at, |t| {
                        t.max(session.last_activity_at)
                    });
                if let Err(denied) = admit(
                    &session,
                    last,
                    policy.idle_timeout_secs,
                    &user,
                    grant.as_ref(),
                    now,
                ) {
                    return Ok(Refresh::Denied(denied));
                }
                let successor = tx.refresh(ns, &next_hash)?;
                let rotation =
                    rec.rotation(now, policy.refresh_reuse_grace_secs, successor.as_ref());
                match rotation {
                    Rotation::Reuse => {
                        revoke_in(
                            tx,
                            ns,
                            session.id,
                            now,
                            None,
                            RevokeReason::RefreshTokenReuse,
                            None,
                        )?;
                        let ev =
                            AuditEvent::new(Actor::system(), AuditAction::RefreshReuseDetected)
                                .target(session.id)
                                .reason(Some(RevokeReason::RefreshTokenReuse.as_str()))
                                .ip(meta.ip.as_deref())
                                .details(
                                    json!({ "user_id": user.id, "generation": rec.generation }),
                                );
                        tx.append_audit(ns, now, ev)?;
                        Ok(Refresh::Reused)
                    }
                    Rotation::Rotate | Rotation::Retry => {
                        if rotation == Rotation::Rotate {
                            rec.used_at = Some(now);
                            tx.put_refresh(ns, &hash, &rec)?;
                            let next_rec = crate::domain::session::RefreshRecord {
                                session_id: session.id,
                                generation: rec.generation.saturating_add(1),
                                created_at: now,
                                used_at: None,
                            };
                            tx.put_refresh(ns, &next_hash, &next_rec)?;
                        }
                        session.last_activity_at = now;
                        tx.put_session(ns, &session)?;
                        let role = if session.support.is_some() {
                            Role::GlobalAdmin
                        } else {
                            user.role
                        };
                        Ok(Refresh::Rotated {
                            session: Box::new(session),
                            role,
                            policy,
                        })
                    }
                }
            })
            .await?;
        let result = if matches!(outcome, Refresh::Rotated { .. }) {
            "ok"
        } else {
            "refused"
        };
        metrics::counter!("sessiond_refreshes_total", "result" => result).increment(1);
        let (session, role, policy) = match outcome {
            Refresh::Rotated {
                session,
                role,
                policy,
            } => (*session, role, policy),
            Refresh::Unknown => return Err(Error::RefreshTokenInvalid),
            Refresh::Denied(denied) => return Err(denied.into()),
            Refresh::Reused => return Err(Error::RefreshTokenReused),
        };
        // Keep memory ≥ disk for tracked sessions: listings sort by the in-memory time.
        self.activity.touch(space_key(&space, session.id), now);
        self.mint(&space, &session, role, &policy, next)
    }

    /// SPEC §4's check, in order: signature and claims → session exists and
    /// active → not idle/absolute expired → user not disabled, session not
    /// before the user's "valid after" mark. Counts as activity.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal> {
        let claims = self.verify_token(bearer)?;
        self.admit_claims(&claims).await
    }

    /// Signature and claims, checked once per token while it is unexpired (then cached).
    pub(crate) fn verify_token(&self, token: &str) -> Result<Arc<Claims>> {
        let now = self.now();
        let key = token_key(token);
        // An expired token is verified again: once its key has left the
        // ring it is `token_invalid`, not `token_expired`.
        let claims = match self.verified.get(&key) {
            Some(c) if c.exp > now.unix_secs() => c,
            _ => {
                let c = self.keys().verify(token, now).map_err(|e| match e {
                    TokenError::Invalid => Error::TokenInvalid,
                    TokenError::Expired => Error::TokenExpired,
                })?;
                let c = Arc::new(c);
                self.verified.insert(key, c.clone(), now.unix_secs());
                c
            }
        };
        Ok(claims)
    }

    /// The rest of SPEC §4's check for claims whose signature already verified.
    pub(crate) async fn admit_claims(&self, claims: &Claims) -> Result<Principal> {
        let now = self.now();
        let (space, sid, uid) = parse_subject(claims)?;
        let read_space = space.clone();
        // Point reads of a few records: on this thread, not a blocking pool
        // hop, which would cost more than the reads. With the token cached
        // nothing here waits, so give the scheduler its turn when due.
        tokio::task::consume_budget().await;
        let found = self
            .store
            .read_point(move |rx| {
                let ns = read_space.ns();
                let Some(session) = rx.session(ns, sid)? else {
                    return Ok(None);
                };
                let (user, grant) = subject_of(rx, ns, &session)?;
                let policy = match &read_space {
                    Space::Tenant(s) => rx.tenant(s.tenant())?.map(|t| t.policy),
                    Space::Platform => None,
                };
                Ok(Some((session, user, grant, policy)))
            })
            .await?;
        let Some((session, Some(user), grant, policy)) = found else {
            return Err(Error::TokenInvalid);
        };
        if session.user_id != uid {
            return Err(Error::TokenInvalid);
        }
        let policy = match &space {
            Space::Platform => self.config.platform_policy,
            Space::Tenant(_) => policy.unwrap_or_default(),
        };
        let last = self.last_activity(&space, &session);
        admit(
            &session,
            last,
            policy.idle_timeout_secs,
            &user,
            grant.as_ref(),
            now,
        )?;
        self.activity.touch(space_key(&space, sid), now);
        Ok(principal(space, &session, &user))
    }

    /// `POST /v1/auth/logout`
    pub async fn logout(&self, p: &Principal, meta: ClientMeta) -> Result<()> {
        let space = space_of_principal(p);
        let (sid, actor, uid) = (p.session_id, p.actor(), p.user_id);
        let now = self.now();
        let grant = p.grant_id;
        self.store
            .write(move |tx| {
                if revoke_in(
                    tx,
                    space.ns(),
                    sid,
                    now,
                    Some(uid),
                    RevokeReason::UserLogout,
                    None,
                )? {
                    let ev = AuditEvent::new(actor.clone(), AuditAction::Logout)
                        .target(sid)
                        .ip(meta.ip.as_deref())
                        .grant(grant)
                        .details(json!({ "user_id": uid }));
                    tx.append_audit(space.ns(), now, ev)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// `GET /v1/auth/me`
    pub async fn me(&self, p: &Principal) -> Result<Me> {
        // A support session's user is the global admin, in the platform namespace.
        let space = if p.grant_id.is_some() {
            Space::Platform
        } else {
            space_of_principal(p)
        };
        let uid = p.user_id;
        let tenant = match &p.realm {
            Realm::Tenant(t) => Some(t.clone()),
            Realm::Platform => None,
        };
        let t = tenant.clone();
        let (user, tenant_name) = self
            .store
            .read(move |rx| {
                let name = match &t {
                    Some(t) => rx.tenant(t)?.map(|t| t.name),
                    None => None,
                };
                Ok((rx.user(space.ns(), uid)?, name))
            })
            .await?;
        let user = user.ok_or(Error::TokenInvalid)?;
        Ok(Me {
            user: MeUser {
                id: user.id,
                email: user.email,
                display_name: user.display_name,
                role: p.role,
            },
            tenant,
            tenant_name,
            session_id: p.session_id,
        })
    }
}

pub(crate) fn parse_subject(claims: &Claims) -> Result<(Space, SessionId, UserId)> {
    let space = space_of_tid(&claims.tid).ok_or(Error::TokenInvalid)?;
    let sid = SessionId::parse(&claims.sid).map_err(|_| Error::TokenInvalid)?;
    let uid = UserId::parse(&claims.sub).map_err(|_| Error::TokenInvalid)?;
    Ok((space, sid, uid))
}

fn principal(space: Space, session: &SessionRecord, user: &UserRecord) -> Principal {
    let realm = match space {
        Space::Tenant(s) => Realm::Tenant(s.tenant().clone()),
        Space::Platform => Realm::Platform,
    };
    // The role comes from the user record, not the token: a demotion takes effect at once.
    let role = if session.support.is_some() {
        Role::GlobalAdmin
    } else {
        user.role
    };
    Principal {
        user_id: user.id,
        email: user.email.clone(),
        realm,
        session_id: session.id,
        role,
        grant_id: session.support.as_ref().map(|s| s.grant_id),
    }
}

/// The namespace a principal's own session lives in.
pub(crate) fn space_of_principal(p: &Principal) -> Space {
    match TenantScope::own(p) {
        Some(scope) => Space::Tenant(scope),
        None => Space::Platform,
    }
}
