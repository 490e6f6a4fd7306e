//! Who is calling, and the capability to touch a tenant's tables.

use crate::domain::{Actor, GrantId, Role, SessionId, TenantId, UserId};

/// Where a session lives: inside a tenant, or on the platform (global admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Realm {
    Tenant(TenantId),
    Platform,
}

/// An authenticated caller: built only after every SPEC §4 check passed.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub realm: Realm,
    pub session_id: SessionId,
    pub role: Role,
    /// Set for a global admin's support session inside a tenant.
    pub grant_id: Option<GrantId>,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        Actor::person(self.user_id, &self.email, self.role)
    }

    pub fn is_global_admin_on_platform(&self) -> bool {
        self.realm == Realm::Platform && self.role == Role::GlobalAdmin
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not allowed in this tenant")]
pub struct ScopeDenied;

/// The capability to read and write one tenant's tables. Its field is
/// private and it is built only here, after the check that the caller may act
/// in that tenant; the store accepts nothing else for tenant data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    tenant: TenantId,
}

impl TenantScope {
    /// An org admin of `t`, or a support session inside `t` (its grant is
    /// checked on every request before a `Principal` exists).
    pub fn admin_of(p: &Principal, t: &TenantId) -> Result<Self, ScopeDenied> {
        match (&p.realm, p.role) {
            (Realm::Tenant(own), Role::OrgAdmin) if own == t => Ok(Self { tenant: t.clone() }),
            (Realm::Tenant(own), Role::GlobalAdmin) if own == t && p.grant_id.is_some() => {
                Ok(Self { tenant: t.clone() })
            }
            _ => Err(ScopeDenied),
        }
    }

    /// The caller's own tenant, for acting on their own account and session.
    pub fn own(p: &Principal) -> Option<Self> {
        match &p.realm {
            Realm::Tenant(t) => Some(Self { tenant: t.clone() }),
            Realm::Platform => None,
        }
    }

    /// The tenant a presented credential names (login body, refresh token,
    /// access token, service client). The credential is then verified inside
    /// that tenant only, so it can never reach another one.
    pub(crate) fn for_credential(t: TenantId) -> Self {
        Self { tenant: t }
    }

    /// The service acting on its own schedule for a tenant it already holds
    /// a record about: activity flushes, grant expiry.
    pub(crate) fn system(t: TenantId) -> Self {
        Self { tenant: t }
    }

    /// The operator holding the database: CLI commands, `--demo`, `seed`,
    /// `migrate` (public for store-level tests and benches, which hold it too).
    pub fn operator(t: TenantId) -> Self {
        Self { tenant: t }
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(realm: Realm, role: Role, grant: Option<GrantId>) -> Principal {
        Principal {
            user_id: UserId::new_v7(),
            email: "x@y.z".into(),
            realm,
            session_id: SessionId::new_v7(),
            role,
            grant_id: grant,
        }
    }

    #[test]
    fn admin_scope_only_for_own_tenant_admins_and_support_sessions() {
        let acme = TenantId::parse("acme").unwrap();
        let globex = TenantId::parse("globex").unwrap();
        let admin = principal(Realm::Tenant(acme.clone()), Role::OrgAdmin, None);
        assert!(TenantScope::admin_of(&admin, &acme).is_ok());
        assert_eq!(TenantScope::admin_of(&admin, &globex), Err(ScopeDenied));

        let member = principal(Realm::Tenant(acme.clone()), Role::Member, None);
        assert_eq!(TenantScope::admin_of(&member, &acme), Err(ScopeDenied));

        let platform = principal(Realm::Platform, Role::GlobalAdmin, None);
        assert_eq!(TenantScope::admin_of(&platform, &acme), Err(ScopeDenied));

        let support = principal(
            Realm::Tenant(acme.clone()),
            Role::GlobalAdmin,
            Some(GrantId::new_v7()),
        );
        assert!(TenantScope::admin_of(&support, &acme).is_ok());
        assert_eq!(TenantScope::admin_of(&support, &globex), Err(ScopeDenied));
    }
}
