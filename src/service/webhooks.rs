//! Plain webhook endpoints of a tenant: create (the secret shown once),
//! list, change, delete, their deliveries and manual redelivery.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::Problems;
use super::users::{Acting, Page};
use super::{Error, Result, Service};
use crate::auth::{Secret, TenantScope};
use crate::domain::outbox::{EVENT_TYPES, EndpointKind, initiating_entity};
use crate::domain::query::List;
use crate::domain::{
    AuditAction, DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, EventKind,
    OutboxEvent, TenantId, Timestamp,
};
use crate::events::outbound::check_url;
use crate::events::sign::secret_text;
use crate::store::{Ns, StoreError};

/// Endpoints per tenant.
pub const MAX_WEBHOOKS: usize = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    pub id: EndpointId,
    pub url: String,
    /// Event types delivered (`session.revoked` only when empty).
    pub events: Vec<String>,
    pub enabled: bool,
    pub description: Option<String>,
    pub created_at: Timestamp,
}

impl From<&EndpointRecord> for WebhookView {
    fn from(w: &EndpointRecord) -> Self {
        Self {
            id: w.id,
            url: w.url.clone(),
            events: w.events.clone(),
            enabled: w.enabled,
            description: w.description.clone(),
            created_at: w.created_at,
        }
    }
}

/// Answer to creation: the only time the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookCreated)]
pub struct NewWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` + base64 of the HMAC key (Standard Webhooks); shown only here.
    #[schema(value_type = String)]
    pub secret: Secret,
}

/// The event types an endpoint may ask for.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum WebhookEventType {
    #[schema(rename = "session.revoked")]
    SessionRevoked,
    /// A user signed in (for "new sign-in from …" notices).
    #[schema(rename = "session.created")]
    SessionCreated,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https://…` (or `http://`) of the receiver (the pattern is a guide;
    /// the server checks the URL fully).
    #[schema(
        pattern = r"^https?://[a-z0-9.-]+(:[1-9][0-9]{0,3})?(/[a-zA-Z0-9._~/-]*)?$",
        max_length = 2048
    )]
    pub url: String,
    /// Event types to deliver (`session.revoked`, `session.created`); `session.revoked` only when absent or empty.
    #[serde(default)]
    #[schema(value_type = Vec<WebhookEventType>)]
    pub events: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(
        pattern = r"^https?://[a-z0-9.-]+(:[1-9][0-9]{0,3})?(/[a-zA-Z0-9._~/-]*)?$",
        max_length = 2048
    )]
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<WebhookEventType>>)]
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView {
    /// The event's `id` (as in the body and the `Webhook-Id` header).
    pub event_id: String,
    pub seq: u64,
    /// `pending`, `delivered` or `failed` (retries stop after 24 h).
    pub status: &'static str,
    pub attempts: u32,
    pub created_at: Timestamp,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's HTTP status of the last attempt.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

impl DeliveryView {
    pub fn of(tenant: &TenantId, d: &DeliveryRecord) -> Self {
        Self {
            event_id: event_id(tenant, d.seq),
            seq: d.seq,
            status: d.status.as_str(),
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_at),
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
        }
    }
}

/// An event's id: unique across tenants, the same on every retry.
pub fn event_id(tenant: &TenantId, seq: u64) -> String {
    format!("{tenant}:{seq}")
}

/// The JSON of one event, as webhooks and the live stream carry it.
pub fn event_json(tenant: &TenantId, e: &OutboxEvent) -> Value {
    let (session, user) = e.kind.subject();
    let mut v = json!({
        "id": event_id(tenant, e.seq),
        "seq": e.seq,
        "type": e.kind.type_name(),
        "tenant": tenant,
        "session_id": session,
        "user_id": user,
    });
    let more = match &e.kind {
        EventKind::SessionRevoked {
            by,
            reason,
            support,
            ..
        } => json!({
            "reason": reason.as_str(),
            "revoked_at": e.at,
            "revoked_by": by,
            "initiating_entity": initiating_entity(*reason, *by),
            "support_session": support,
        }),
        EventKind::SessionCreated { ip, user_agent, .. } => json!({
            "created_at": e.at,
            "ip": ip,
            "user_agent": user_agent,
            "device": crate::service::device::device(user_agent.as_deref()),
        }),
    };
    if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
        v.extend(more);
    }
    v
}

fn is_webhook(w: &EndpointRecord) -> bool {
    matches!(w.kind, EndpointKind::Webhook)
}

/// A plain webhook of the namespace (SSF streams and logout URIs have APIs of their own).
fn webhook_in<R: crate::store::Reads + ?Sized>(
    rx: &R,
    ns: Ns<'_>,
    id: EndpointId,
) -> std::result::Result<Option<EndpointRecord>, StoreError> {
    Ok(rx.webhook(ns, id)?.filter(is_webhook))
}

fn check_events(p: &mut Problems, events: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !EVENT_TYPES.contains(&e.as_str()) {
            p.add(
                "events",
                format!("unknown event type {e:?}; known: {EVENT_TYPES:?}"),
            );
        } else if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
}

fn check_description(p: &mut Problems, d: Option<&str>) -> Option<String> {
    let d = d.map(str::trim).filter(|d| !d.is_empty())?;
    if d.chars().count() > 200 {
        p.add("description", "at most 200 characters");
    }
    Some(d.to_owned())
}

fn check_url_field(p: &mut Problems, url: &str) -> String {
    let url = url.trim();
    if let Err(why) = check_url(url) {
        p.add("url", why);
    }
    url.to_owned()
}

impl Service {
    pub async fn create_webhook(
        &self,
        scope: &TenantScope,
        by: Acting,
        input: WebhookInput,
    ) -> Result<NewWebhook> {
        let mut p = Problems::default();
        let url = check_url_field(&mut p, &input.url);
        let events = check_events(&mut p, &input.events);
        let description = check_description(&mut p, input.description.as_deref());
        p.finish()?;
        let mut key = [0u8; 32];
        crate::auth::secret::fill_random(&mut key);
        let rec = EndpointRecord {
            id: EndpointId::new_v7(),
            kind: EndpointKind::Webhook,
            url,
            key,
            enabled: input.enabled,
            events,
            description,
            created_at: self.now(),
            cursor: 0,
        };
        let scope = scope.clone();
        let now = rec.created_at;
        let stored = rec.clone();
        self.store
            .write(move |tx| {
                if tx.tenant(scope.tenant())?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let ns = Ns::from(&scope);
                let hooks = tx.webhooks(ns)?;
                if hooks.iter().filter(|w| is_webhook(w)).count() >= MAX_WEBHOOKS {
                    return Err(StoreError::Conflict(format!(
                        "a tenant has at most {MAX_WEBHOOKS} webhook endpoints"
                    )));
                }
                // A new endpoint hears of events from now on.
                let w = EndpointRecord {
                    cursor: tx.event_head(ns)?,
                    ..stored.clone()
                };
                tx.put_webhook(ns, &w)?;
                let ev = by
                    .event(AuditAction::WebhookCreated)
                    .target(w.id)
                    .details(json!({ "url": w.url, "events": w.events, "enabled": w.enabled }));
                tx.append_audit(ns, now, ev)?;
                Ok(())
            })
            .await?;
        Ok(NewWebhook {
            webhook: WebhookView::from(&rec),
            secret: Secret::new(secret_text(&rec.key)),
        })
    }

    pub async fn list_webhooks(
        &self,
        scope: &TenantScope,
        after: Option<EndpointId>,
        limit: usize,
    ) -> Result<Page<WebhookView>> {
        let scope = scope.clone();
        let all = self
            .store
            .read(move |rx| rx.webhooks(Ns::from(&scope)))
            .await?;
        let views = all.iter().filter(|w| is_webhook(w)).map(WebhookView::from);
        Ok(Page::window(
            List::Webhooks,
            views,
            |w| w.id,
            false,
            after,
            limit,
        ))
    }

    pub async fn get_webhook(&self, scope: &TenantScope, id: EndpointId) -> Result<WebhookView> {
        let scope = scope.clone();
        let w = self
            .store
            .read(move |rx| webhook_in(rx, Ns::from(&scope), id))
            .await?;
        w.as_ref().map(WebhookView::from).ok_or(Error::NotFound)
    }

    pub async fn update_webhook(
        &self,
        scope: &TenantScope,
        by: Acting,
        id: EndpointId,
        patch: WebhookPatch,
    ) -> Result<WebhookView> {
        let mut p = Problems::default();
        let url = patch.url.as_deref().map(|u| check_url_field(&mut p, u));
        let events = patch.events.as_deref().map(|e| check_events(&mut p, e));
        let description = patch
            .description
            .as_deref()
            .map(|d| check_description(&mut p, Some(d)));
        p.finish()?;
        let (scope, now, enabled) = (scope.clone(), self.now(), patch.enabled);
        let w = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(old) = webhook_in(tx, ns, id)? else {
                    return Err(StoreError::NotFound);
                };
                let mut w = old.clone();
                if let Some(u) = &url {
                    w.url = u.clone();
                }
                if let Some(e) = &events {
                    w.events = e.clone();
                }
                if let Some(d) = &description {
                    w.description = d.clone();
                }
                if let Some(on) = enabled {
                    if on && !old.enabled {
                        // Re-enabled: events from now on (redeliver older ones by hand).
                        w.cursor = tx.event_head(ns)?;
                    }
                    w.enabled = on;
                }
                if w == old {
                    return Ok(w);
                }
                tx.put_webhook(ns, &w)?;
                let ev = by
                    .event(AuditAction::WebhookUpdated)
                    .target(w.id)
                    .details(json!({ "url": w.url, "events": w.events, "enabled": w.enabled }));
                tx.append_audit(ns, now, ev)?;
                Ok(w)
            })
            .await?;
        Ok(WebhookView::from(&w))
    }

    pub async fn delete_webhook(
        &self,
        scope: &TenantScope,
        by: Acting,
        id: EndpointId,
    ) -> Result<()> {
        let (scope, now) = (scope.clone(), self.now());
        let removed = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&scope);
                let Some(w) = webhook_in(tx, ns, id)? else {
                    return Ok(false);
                };
                tx.remove_webhook(ns, id)?;
                let ev = by
                    .event(AuditAction::WebhookDeleted)
                    .target(id)
                    .details(json!({ "url": w.url }));
                tx.append_audit(ns, now, ev)?;
                Ok(true)
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Newest first, `limit` per page before the cursor (a seq).
    pub async fn list_deliveries(
        &self,
        scope: &TenantScope,
        id: EndpointId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Page<DeliveryView>> {
        let s = scope.clone();
        let (found, rows) = self
            .store
            .read(move |rx| {
                let ns = Ns::from(&s);
                let found = webhook_in(rx, ns, id)?.is_some();
                Ok((found, rx.deliveries(ns, id, before, limit + 1)?))
            })
            .await?;
        if !found {
            return Err(Error::NotFound);
        }
        let tenant = scope.tenant();
        let views = rows.iter().map(|d| DeliveryView::of(tenant, d));
        Ok(Page::window(
            List::Deliveries,
            views,
            |d| d.seq,
            true,
            None,
            limit,
        ))
    }

    /// Send one event again now, with a fresh 24 h of retries.
    pub async fn redeliver(
        &self,
        scope: &TenantScope,
        by: Acting,
        id: EndpointId,
        seq: u64,
    ) -> Result<DeliveryView> {
        let (s, now) = (scope.clone(), self.now());
        let d = self
            .store
            .write(move |tx| {
                let ns = Ns::from(&s);
                if webhook_in(tx, ns, id)?.is_none() {
                    return Err(StoreError::NotFound);
                }
                let Some(old) = tx.delivery(ns, id, seq)? else {
                    return Err(StoreError::NotFound);
                };
                let d = old.redeliver(now);
                tx.put_delivery(ns, &d)?;
                let ev = by
                    .event(AuditAction::WebhookRedelivered)
                    .target(id)
                    .details(json!({ "seq": seq, "was": old.status.as_str() }));
                tx.append_audit(ns, now, ev)?;
                Ok(d)
            })
            .await?;
        self.wake_deliveries();
        Ok(DeliveryView::of(scope.tenant(), &d))
    }
}
