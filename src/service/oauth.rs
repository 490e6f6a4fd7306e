//! RFC 7662 introspection for a tenant's service clients, and RFC 7009 revocation.

use serde_json::json;

use super::auth::{actor_of, parse_subject};
use super::sessions::{admit, parse_refresh_token, revoke_in, subject_of};
use super::{ClientMeta, Error, Result, Service};
use crate::auth::TenantScope;
use crate::auth::secret::{Secret, ct_eq};
use crate::domain::AuditAction;
use crate::domain::{Actor, AuditEvent, ClientId, RevokeReason, TenantId};
use crate::store::Space;

impl Service {
    /// `POST /v1/oauth/introspect` (RFC 7662). The client must belong to the
    /// token's tenant; anything else is exactly `{"active": false}`.
    pub async fn introspect(
        &self,
        client_id: &str,
        client_secret: Secret,
        token: &str,
    ) -> Result<serde_json::Value> {
        let tenant = self.authenticate_client(client_id, client_secret).await?;
        let inactive = json!({ "active": false });
        if token.starts_with("rt1.") {
            return Ok(self
                .introspect_refresh(&tenant, Secret::new(token))
                .await
                .unwrap_or(inactive));
        }
        let Ok(claims) = self.verify_token(token) else {
            return Ok(inactive);
        };
        if claims.tid != tenant.as_str() {
            return Ok(inactive);
        }
        match self.admit_claims(&claims).await {
            Ok(p) => Ok(json!({
                "active": true,
                "sub": p.user_id,
                "tid": claims.tid,
                "sid": p.session_id,
                "role": p.role,
                "exp": claims.exp,
                "iat": claims.iat,
                "iss": claims.iss,
                "aud": claims.aud,
                "jti": claims.jti,
                "token_type": "Bearer",
            })),
            Err(_) => Ok(inactive),
        }
    }

    async fn introspect_refresh(
        &self,
        tenant: &TenantId,
        token: Secret,
    ) -> Option<serde_json::Value> {
        let space = parse_refresh_token(&token)?;
        match &space {
            Space::Tenant(s) if s.tenant() == tenant => {}
            _ => return None,
        }
        let hash = token.sha256();
        let rs = space.clone();
        let (rec, session, user, grant, policy) = self
            .store
            .read(move |rx| {
                let ns = rs.ns();
                let Some(rec) = rx.refresh(ns, &hash)? else {
                    return Ok(None);
                };
                let Some(session) = rx.session(ns, rec.session_id)? else {
                    return Ok(None);
                };
                let (user, grant) = subject_of(rx, ns, &session)?;
                let Some(user) = user else { return Ok(None) };
                let policy = match &rs {
                    Space::Tenant(s) => {
                        rx.tenant(s.tenant())?.map(|t| t.policy).unwrap_or_default()
                    }
                    Space::Platform => return Ok(None),
                };
                Ok(Some((rec, session, user, grant, policy)))
            })
            .await
            .ok()??;
        let now = self.now();
        let last = self.last_activity(&space, &session);
        let live = rec.used_at.is_none()
            && admit(
                &session,
                last,
                policy.idle_timeout_secs,
                &user,
                grant.as_ref(),
                now,
            )
            .is_ok();
        live.then(|| {
            json!({
                "active": true,
                "sub": user.id,
                "tid": tenant,
                "sid": session.id,
                "exp": session.expires_at.unix_secs(),
                "iat": rec.created_at.unix_secs(),
                "token_type": "refresh_token",
            })
        })
    }

    /// HTTP Basic credentials of a service client → its tenant.
    pub(crate) async fn authenticate_client(
        &self,
        client_id: &str,
        secret: Secret,
    ) -> Result<TenantId> {
        let id = ClientId::parse(client_id).map_err(|_| Error::InvalidClient)?;
        let found = self
            .store
            .read(move |rx| {
                let Some(tenant) = rx.client_tenant(id)? else {
                    return Ok(None);
                };
                let scope = TenantScope::for_credential(tenant.clone());
                Ok(rx.client((&scope).into(), id)?.map(|c| (tenant, c)))
            })
            .await?;
        let presented = secret.sha256();
        match found {
            Some((tenant, c)) if ct_eq(&presented, &c.secret_hash) => Ok(tenant),
            // Compare anyway so an unknown id costs the same.
            _ => {
                let _ = ct_eq(&presented, &[0u8; 32]);
                Err(Error::InvalidClient)
            }
        }
    }

    /// `POST /v1/oauth/revoke` (RFC 7009): revokes the token's session; always succeeds.
    pub async fn oauth_revoke(&self, token: &str, meta: ClientMeta) -> Result<()> {
        let target = if token.starts_with("rt1.") {
            let t = Secret::new(token);
            let Some(space) = parse_refresh_token(&t) else {
                return Ok(());
            };
            let hash = t.sha256();
            let rs = space.clone();
            let rec = self
                .store
                .read(move |rx| rx.refresh(rs.ns(), &hash))
                .await?;
            rec.map(|r| (space, r.session_id))
        } else {
            match self.keys().verify_ignoring_expiry(token, self.now()) {
                Ok(claims) => parse_subject(&claims)
                    .ok()
                    .map(|(space, sid, _)| (space, sid)),
                Err(_) => None,
            }
        };
        let Some((space, sid)) = target else {
            return Ok(());
        };
        let now = self.now();
        self.store
            .write(move |tx| {
                let ns = space.ns();
                let Some(session) = tx.session(ns, sid)? else {
                    return Ok(());
                };
                if revoke_in(
                    tx,
                    ns,
                    sid,
                    now,
                    Some(session.user_id),
                    RevokeReason::UserLogout,
                    None,
                )? {
                    let actor = tx
                        .user(ns, session.user_id)?
                        .map(|u| actor_of(&u))
                        .unwrap_or_else(Actor::system);
                    let ev = AuditEvent::new(actor, AuditAction::Logout)
                        .target(sid)
                        .ip(meta.ip.as_deref())
                        .details(json!({ "via": "oauth_revoke", "user_id": session.user_id }));
                    tx.append_audit(ns, now, ev)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}
