//! Changing users: patch (name, role, disabled) and set password, with the
//! revocations they imply.

use super::error::Checked::{Done, Refused};
use serde::Deserialize;
use serde_json::json;

use super::error::Problems;
use super::sessions::revoke_user_in;
use super::users::{Acting, UserView, check_display_name};
use super::{Error, Result, Service};
use crate::auth::password::check_strength;
use crate::auth::{Secret, TenantScope};
use crate::domain::AuditAction;
use crate::domain::{RevokeReason, Role, SessionId, UserId, UserRecord};
use crate::store::{Ns, StoreError, Tx};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UserPatch {
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    pub display_name: Option<String>,
    #[schema(value_type = Option<crate::http::openapi::schemas::TenantRole>, nullable = false)]
    pub role: Option<Role>,
    /// true revokes every session of the user (`user_disabled`).
    #[schema(nullable = false)]
    pub disabled: Option<bool>,
}

pub(super) fn is_active_admin(u: &UserRecord) -> bool {
    u.role == Role::OrgAdmin && !u.disabled
}

/// Another active org admin exists besides `except`.
pub(super) fn other_active_admin(
    tx: &Tx<'_>,
    ns: Ns<'_>,
    except: UserId,
) -> Result<bool, StoreError> {
    let mut after = None;
    loop {
        let batch = tx.users(ns, after, 1024)?;
        if batch.iter().any(|u| u.id != except && is_active_admin(u)) {
            return Ok(true);
        }
        match batch.last() {
            Some(u) if batch.len() == 1024 => after = Some(u.id),
            _ => return Ok(false),
        }
    }
}

impl Service {
    pub async fn get_user(&self, scope: &TenantScope, uid: UserId) -> Result<UserView> {
        let scope = scope.clone();
        let u = self
            .store
            .read(move |rx| rx.user(Ns::from(&scope), uid))
            .await?;
        u.as_ref().map(UserView::from).ok_or(Error::NotFound)
    }

    /// `PATCH /v1/tenants/{t}/users/{uid}`. Disabling revokes every session
    /// (`user_disabled`); the last active org admin cannot be demoted or disabled.
    pub async fn patch_user(
        &self,
        scope: &TenantScope,
        by: Acting,
        uid: UserId,
        patch: UserPatch,
    ) -> Result<UserView> {
        let mut p = Problems::default();
        let display_name = patch
            .display_name
            .as_deref()
            .map(|n| check_display_name(&mut p, "display_name", n));
        if let Some(r) = patch.role {
            p.check(
                matches!(r, Role::Member | Role::OrgAdmin),
                "role",
                "must be member or org_admin",
            );
        }
        p.check(
            patch.display_name.is_some() || patch.role.is_some() || patch.disabled.is_some(),
            "body",
            "give at least one of display_name, role, disabled",
        );
        p.finish()?;
        let scope = scope.clone();
        let now = self.now();
        let outcome = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(old) = tx.user(ns, uid)? else { return Ok(Refused(Error::NotFound)) };
                let mut u = old.clone();
                if let Some(n) = &display_name {
                    u.display_name.clone_from(n);
                }
                if let Some(r) = patch.role {
                    u.role = r;
                }
                if let Some(d) = patch.disabled {
                    u.disabled = d;
                }
                if is_active_admin(&old) && !is_active_admin(&u) && !other_active_admin(tx, ns, uid)? {
                    return Ok(Refused(Error::Conflict(
                        "this is the tenant's last active org admin: promote another user first".into(),
                    )));
                }
                if u == old {
                    return Ok(Done(u));
                }
                u.updated_at = now;
                tx.put_user(ns, &u)?;
                let revoked = if u.disabled && !old.disabled {
                    revoke_user_in(tx, ns, uid, None, now, by.actor.id, RevokeReason::UserDisabled)?
                } else {
                    0
                };
                let ev = by.event(AuditAction::UserUpdated).target(uid).details(json!({
                    "email": u.email,
                    "changes": {
                        "display_name": (old.display_name != u.display_name).then_some(&u.display_name),
                        "role": (old.role != u.role).then_some(u.role),
                        "disabled": (old.disabled != u.disabled).then_some(u.disabled),
                    },
                    "sessions_revoked": revoked,
                }));
                tx.append_audit(ns, now, ev)?;
                Ok(Done(u))
            })
            .await?
            .into_result()?;
        Ok(UserView::from(&outcome))
    }

    /// `POST /v1/tenants/{t}/users/{uid}/password`: revokes the user's other
    /// sessions (`password_changed`); the caller's own session survives.
    pub async fn set_password(
        &self,
        scope: &TenantScope,
        by: Acting,
        uid: UserId,
        password: Secret,
        current: Option<SessionId>,
    ) -> Result<usize> {
        let s = scope.clone();
        let (user, tenant) = self
            .store
            .read(move |rx| Ok((rx.user(Ns::from(&s), uid)?, rx.tenant(s.tenant())?)))
            .await?;
        let (Some(user), Some(tenant)) = (user, tenant) else {
            return Err(Error::NotFound);
        };
        check_strength(&password, user.role, tenant.policy.min_password_length)
            .map_err(|e| Error::field("password", e))?;
        let hash = self.hash_password(&password).await?;
        let scope = scope.clone();
        let now = self.now();
        self.store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(mut u) = tx.user(ns, uid)? else {
                    return Err(StoreError::NotFound);
                };
                u.password_hash = hash.clone();
                u.updated_at = now;
                tx.put_user(ns, &u)?;
                let n = revoke_user_in(
                    tx,
                    ns,
                    uid,
                    current,
                    now,
                    by.actor.id,
                    RevokeReason::PasswordChanged,
                )?;
                let ev = by
                    .event(AuditAction::PasswordChanged)
                    .target(uid)
                    .details(json!({ "email": u.email, "sessions_revoked": n }));
                tx.append_audit(ns, now, ev)?;
                Ok(n)
            })
            .await
            .map_err(Error::from)
    }
}
