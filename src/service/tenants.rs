//! Tenants and their policy.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::Problems;
use super::users::{Acting, NewUser, UserView, new_record, user_created_event};
use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::AuditAction;
use crate::domain::{GrantId, Policy, Role, TenantId, TenantRecord, Timestamp};
use crate::store::{Ns, StoreError};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(value_type = TenantId)]
    pub slug: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The first org admin (`role` may be omitted).
    pub first_admin: NewUser,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Tenant)]
pub struct TenantView {
    pub slug: TenantId,
    pub name: String,
    pub created_at: Timestamp,
    pub policy: Policy,
    #[schema(required = true)]
    pub first_admin: Option<UserView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActiveGrant {
    pub id: GrantId,
    pub expires_at: Timestamp,
}

/// Tenant metadata as global admins see it: never the tenant's data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TenantSummary {
    pub slug: TenantId,
    pub name: String,
    pub created_at: Timestamp,
    /// The caller's active support grant on this tenant.
    #[schema(required = true)]
    pub active_grant: Option<ActiveGrant>,
}

impl Service {
    /// Create a tenant and its first org admin, recorded in the tenant's and the platform's audit logs.
    pub async fn create_tenant(&self, by: Acting, mut new: NewTenant) -> Result<TenantView> {
        // A tenant's first user is always its org admin; `role` may be omitted.
        new.first_admin.role = Role::OrgAdmin;
        let mut p = Problems::default();
        let slug = TenantId::parse(&new.slug);
        if let Err(e) = &slug {
            p.add("slug", e.to_string());
        }
        let name = super::users::check_display_name(&mut p, "name", &new.name);
        let email = match new.first_admin.validate(
            "first_admin.",
            &[Role::OrgAdmin],
            Policy::default().min_password_length,
        ) {
            Ok(e) => Some(e),
            Err(Error::Validation(v)) => {
                v.into_iter().for_each(|(f, m)| p.add(&f, m));
                None
            }
            Err(e) => return Err(e),
        };
        p.finish()?;
        let (Ok(slug), Some(email)) = (slug, email) else {
            return Err(Error::field("slug", "invalid"));
        };

        let hash = self.hash_password(&new.first_admin.password).await?;
        let now = self.now();
        let tenant = TenantRecord {
            slug: slug.clone(),
            name,
            created_at: now,
            policy: Policy::default(),
        };
        let admin = new_record(&new.first_admin, email, hash, now);
        let scope = TenantScope::operator(slug);
        let (t, a) = (tenant.clone(), admin.clone());
        self.store
            .write(move |tx| {
                tx.insert_tenant(&t)?;
                let ns = Ns::from(&scope);
                tx.put_user(ns, &a)?;
                let created = by
                    .event(AuditAction::TenantCreated)
                    .target(&t.slug)
                    .details(json!({ "name": t.name }));
                tx.append_audit(ns, now, created.clone())?;
                tx.append_audit(ns, now, user_created_event(&by, &a))?;
                tx.append_audit(Ns::Platform, now, created)?;
                Ok(())
            })
            .await?;
        Ok(TenantView {
            slug: tenant.slug,
            name: tenant.name,
            created_at: tenant.created_at,
            policy: tenant.policy,
            first_admin: Some(UserView::from(&admin)),
        })
    }

    /// Tenant metadata, with the caller's active grant in each (if any).
    pub async fn list_tenants_for(
        &self,
        admin: Option<crate::domain::UserId>,
    ) -> Result<Vec<TenantSummary>> {
        let all = self.store.read(|rx| rx.tenants()).await?;
        let grants = match admin {
            Some(a) => self.active_grants_of(a).await?,
            None => Vec::new(),
        };
        Ok(all
            .into_iter()
            .map(|t| {
                let active_grant = grants
                    .iter()
                    .filter(|g| g.tenant == t.slug)
                    .max_by_key(|g| g.expires_at)
                    .and_then(|g| {
                        Some(ActiveGrant {
                            id: g.id,
                            expires_at: g.expires_at?,
                        })
                    });
                TenantSummary {
                    slug: t.slug,
                    name: t.name,
                    created_at: t.created_at,
                    active_grant,
                }
            })
            .collect())
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>> {
        self.list_tenants_for(None).await
    }

    /// `NotFound` unless the scope's tenant exists (a cheap single read).
    pub async fn ensure_tenant(&self, scope: &TenantScope) -> Result<()> {
        self.get_policy(scope).await.map(|_| ())
    }

    pub async fn get_policy(&self, scope: &TenantScope) -> Result<Policy> {
        let scope = scope.clone();
        let t = self.store.read(move |rx| rx.tenant(scope.tenant())).await?;
        t.map(|t| t.policy).ok_or(Error::NotFound)
    }

    pub async fn put_policy(
        &self,
        scope: &TenantScope,
        by: Acting,
        policy: Policy,
    ) -> Result<Policy> {
        let bad = policy.validate();
        if !bad.is_empty() {
            return Err(Error::Validation(
                bad.into_iter().map(|(f, m)| (f.to_owned(), m)).collect(),
            ));
        }
        let scope = scope.clone();
        let now = self.now();
        self.store
            .write(move |tx| {
                let Some(mut t) = tx.tenant(scope.tenant())? else {
                    return Err(StoreError::NotFound);
                };
                let old = t.policy;
                t.policy = policy;
                tx.update_tenant(&t)?;
                let ev = by
                    .event(AuditAction::PolicyUpdated)
                    .target(scope.tenant())
                    .details(json!({ "old": old, "new": policy }));
                tx.append_audit(Ns::from(&scope), now, ev)?;
                Ok(policy)
            })
            .await
            .map_err(Error::from)
    }
}
