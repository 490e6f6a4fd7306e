//! Service clients: resource servers that introspect a tenant's tokens.

use crate::domain::query::List;
use serde::Serialize;
use serde_json::json;

use super::error::Problems;
use super::users::{Acting, Page};
use super::{Error, Result, Service};
use crate::auth::{Secret, TenantScope};
use crate::domain::AuditAction;
use crate::domain::{ClientId, ClientRecord, Timestamp};
use crate::store::{Ns, StoreError};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    pub client_id: ClientId,
    pub name: String,
    pub created_at: Timestamp,
}

/// Answer to creation: the only time the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ClientCreated)]
pub struct NewClient {
    pub client_id: ClientId,
    /// Shown only in this answer; stored hashed. Use with client_id as HTTP Basic
    /// credentials for introspection.
    #[schema(value_type = String)]
    pub client_secret: Secret,
    pub name: String,
    pub created_at: Timestamp,
}

impl Service {
    pub async fn create_client(
        &self,
        scope: &TenantScope,
        by: Acting,
        name: &str,
    ) -> Result<NewClient> {
        let mut p = Problems::default();
        let name = super::users::check_display_name(&mut p, "name", name);
        p.finish()?;
        let secret = Secret::random(32);
        let now = self.now();
        let rec = ClientRecord {
            id: ClientId::new_v7(),
            name,
            secret_hash: secret.sha256(),
            created_at: now,
        };
        let scope = scope.clone();
        let stored = rec.clone();
        self.store
            .write(move |tx| {
                if tx.tenant(scope.tenant())?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let ns = Ns::from(&scope);
                tx.insert_client(ns, scope.tenant(), &stored)?;
                let ev = by
                    .event(AuditAction::ClientCreated)
                    .target(stored.id)
                    .details(json!({ "name": stored.name }));
                tx.append_audit(ns, now, ev)?;
                Ok(())
            })
            .await?;
        Ok(NewClient {
            client_id: rec.id,
            client_secret: secret,
            name: rec.name,
            created_at: rec.created_at,
        })
    }

    /// Oldest first, `limit` per page after the cursor (a client id).
    pub async fn list_clients(
        &self,
        scope: &TenantScope,
        after: Option<ClientId>,
        limit: usize,
    ) -> Result<Page<ClientView>> {
        let scope = scope.clone();
        let all = self
            .store
            .read(move |rx| rx.clients(Ns::from(&scope)))
            .await?;
        let views = all.into_iter().map(|c| ClientView {
            client_id: c.id,
            name: c.name,
            created_at: c.created_at,
        });
        Ok(Page::window(
            List::Clients,
            views,
            |c| c.client_id,
            false,
            after,
            limit,
        ))
    }

    pub async fn delete_client(&self, scope: &TenantScope, by: Acting, id: ClientId) -> Result<()> {
        let scope = scope.clone();
        let now = self.now();
        let removed = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                if !tx.remove_client(ns, id)? {
                    return Ok(false);
                }
                tx.append_audit(ns, now, by.event(AuditAction::ClientDeleted).target(id))?;
                Ok(true)
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
