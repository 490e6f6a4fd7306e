//! Service clients: resource servers that introspect a tenant's tokens.

use crate::domain::query::List;
use serde::Serialize;
use serde_json::json;

use super::error::Problems;
use super::users::{Acting, Page};
use super::{Error, Result, Service};
use crate::auth::{Secret, TenantScope};
use crate::domain::AuditAction;
use crate::domain::outbox::EndpointKind;
use crate::domain::{ClientId, ClientRecord, EndpointId, EndpointRecord, Timestamp};
use crate::events::outbound::check_url;
use std::collections::HashMap;

/// A client's back-channel logout endpoint, hearing of events from `cursor` on.
fn logout_endpoint(client: ClientId, url: &str, now: Timestamp, cursor: u64) -> EndpointRecord {
    EndpointRecord {
        id: EndpointId::new_v7(),
        kind: EndpointKind::Logout { client },
        url: url.to_owned(),
        key: [0; 32],
        enabled: true,
        events: Vec::new(),
        description: None,
        created_at: now,
        cursor,
    }
}
use crate::store::{Ns, StoreError};

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    pub client_id: ClientId,
    pub name: String,
    pub created_at: Timestamp,
    /// Where logout tokens go (OIDC Back-Channel Logout), if registered.
    pub backchannel_logout_uri: Option<String>,
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
    pub backchannel_logout_uri: Option<String>,
}

/// The back-channel logout endpoint of each client (at most one per client).
fn logout_uris(endpoints: &[EndpointRecord]) -> HashMap<ClientId, String> {
    endpoints
        .iter()
        .filter_map(|e| match e.kind {
            EndpointKind::Logout { client } => Some((client, e.url.clone())),
            _ => None,
        })
        .collect()
}

impl Service {
    pub async fn create_client(
        &self,
        scope: &TenantScope,
        by: Acting,
        name: &str,
        backchannel_logout_uri: Option<&str>,
    ) -> Result<NewClient> {
        let mut p = Problems::default();
        let name = super::users::check_display_name(&mut p, "name", name);
        let logout = backchannel_logout_uri.map(str::trim).map(|u| {
            if let Err(why) = check_url(u) {
                p.add("backchannel_logout_uri", why);
            }
            u.to_owned()
        });
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
        let uri = logout.clone();
        self.store
            .write(move |tx| {
                if tx.tenant(scope.tenant())?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let ns = Ns::from(&scope);
                tx.insert_client(ns, scope.tenant(), &stored)?;
                if let Some(url) = &uri {
                    tx.put_webhook(
                        ns,
                        &logout_endpoint(stored.id, url, now, tx.event_head(ns)?),
                    )?;
                }
                let ev = by
                    .event(AuditAction::ClientCreated)
                    .target(stored.id)
                    .details(json!({ "name": stored.name, "backchannel_logout_uri": uri }));
                tx.append_audit(ns, now, ev)?;
                Ok(())
            })
            .await?;
        Ok(NewClient {
            client_id: rec.id,
            client_secret: secret,
            name: rec.name,
            created_at: rec.created_at,
            backchannel_logout_uri: logout,
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
        let (all, endpoints) = self
            .store
            .read(move |rx| {
                let ns = Ns::from(&scope);
                Ok((rx.clients(ns)?, rx.webhooks(ns)?))
            })
            .await?;
        let mut uris = logout_uris(&endpoints);
        let views = all.into_iter().map(|c| ClientView {
            client_id: c.id,
            backchannel_logout_uri: uris.remove(&c.id),
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
                // Its SSF streams and logout endpoint end with it.
                for e in tx.webhooks(ns)? {
                    if e.client() == Some(id) {
                        tx.remove_webhook(ns, e.id)?;
                    }
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
