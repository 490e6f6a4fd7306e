//! Revocation events: a tenant's webhook endpoints and their deliveries
//! (org admins), and the live stream of the outbox (service clients).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::basic_credentials;
use super::extract::{AppJson, AppQuery, Paging, TenantAdmin};
use super::openapi::responses::{
    Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::{DeliveryPath, TenantPath, WebhookPath};
use super::state::AppState;
use crate::auth::TenantScope;
use crate::domain::EndpointId;
use crate::domain::query::List;
use crate::service::users::{Acting, Page};
use crate::service::webhooks::{
    DeliveryView, NewWebhook, WebhookInput, WebhookPatch, WebhookView, event_json,
};
use crate::service::{ClientMeta, Error, Service};

fn webhook_id(s: &str) -> Result<EndpointId, Error> {
    EndpointId::parse(s).map_err(|_| Error::field("id", "must be a UUID"))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    summary = "Create a webhook endpoint",
    security(("bearerAuth" = [])),
    description = "The endpoint receives a signed POST per event (Standard Webhooks: `Webhook-Id`, \
`Webhook-Timestamp`, `Webhook-Signature`), from the moment it is created. The secret is shown \
only in this answer.",
    params(TenantPath),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "The endpoint and its secret, shown only here.", body = NewWebhook),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn create(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(b): AppJson<WebhookInput>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    let created = s.svc.create_webhook(&admin.scope, by, b).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    summary = "List webhook endpoints",
    security(("bearerAuth" = [])),
    params(TenantPath, Paging),
    responses(
        (status = 200, description = "One page of endpoints, oldest first (secrets are never shown again).", body = Page<WebhookView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(page): AppQuery<Paging>,
) -> Result<impl IntoResponse, Error> {
    let (after, limit) = (
        page.cursor(List::Webhooks, EndpointId::parse)?,
        page.limit()?,
    );
    Ok(Json(s.svc.list_webhooks(&admin.scope, after, limit).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    summary = "Show a webhook endpoint",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn show(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(
        s.svc.get_webhook(&admin.scope, webhook_id(&id)?).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/v1/tenants/{t}/webhooks/{id}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    summary = "Change a webhook endpoint",
    security(("bearerAuth" = [])),
    description = "Any of `url`, `events`, `enabled`, `description`. A disabled endpoint gets \
nothing; once enabled again it hears of events from then on (redeliver older ones by hand).",
    params(WebhookPath),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The endpoint as changed.", body = WebhookView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn update(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, id)): Path<(String, String)>,
    AppJson(b): AppJson<WebhookPatch>,
) -> Result<impl IntoResponse, Error> {
    let id = webhook_id(&id)?;
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(s.svc.update_webhook(&admin.scope, by, id, b).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/tenants/{t}/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    summary = "Delete a webhook endpoint",
    security(("bearerAuth" = [])),
    params(WebhookPath),
    responses(
        (status = 204, description = "Deleted, with its deliveries; nothing more is sent."),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    let id = webhook_id(&id)?;
    let by = Acting::principal(&admin.principal, meta);
    s.svc.delete_webhook(&admin.scope, by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/webhooks/{id}/deliveries",
    operation_id = "listDeliveries",
    tag = "webhooks",
    summary = "List an endpoint's deliveries",
    security(("bearerAuth" = [])),
    description = "Newest first: status (`pending`, `delivered`, `failed`), attempts, the last \
answer or error. Retries back off exponentially with jitter for 24 h, then the delivery fails.",
    params(WebhookPath, Paging),
    responses(
        (status = 200, description = "One page of deliveries.", body = Page<DeliveryView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn deliveries(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, id)): Path<(String, String)>,
    AppQuery(page): AppQuery<Paging>,
) -> Result<impl IntoResponse, Error> {
    let id = webhook_id(&id)?;
    let (before, limit) = (
        page.cursor(List::Deliveries, str::parse::<u64>)?,
        page.limit()?,
    );
    Ok(Json(
        s.svc
            .list_deliveries(&admin.scope, id, before, limit)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/webhooks/{id}/deliveries/{seq}/redeliver",
    operation_id = "redeliver",
    tag = "webhooks",
    summary = "Send a delivery again",
    security(("bearerAuth" = [])),
    description = "Pending again, due now, with a fresh 24 h of retries.",
    params(DeliveryPath),
    responses(
        (status = 202, description = "Queued.", body = DeliveryView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn redeliver(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, id, seq)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, Error> {
    let id = webhook_id(&id)?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| Error::field("seq", "must be an event seq (an integer)"))?;
    let by = Acting::principal(&admin.principal, meta);
    let d = s.svc.redeliver(&admin.scope, by, id, seq).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Start after this event seq (as `Last-Event-ID`, which wins). Without
    /// either, the stream starts with the next event.
    after: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/revocations/stream",
    operation_id = "revocationStream",
    tag = "webhooks",
    summary = "Live stream of revocations (Server-Sent Events)",
    security(("clientBasic" = [])),
    description = "For resource servers that keep a local deny-list. HTTP Basic with a service \
client of the tenant (a bad client, or one of another tenant, answers 401 `invalid_client`). \
Each event is `event: session.revoked`, `id: {seq}`, `data:` the same JSON \
as a webhook body. Reconnect with `Last-Event-ID` to resume without a gap; the outbox keeps \
events for 7 days.",
    params(TenantPath, StreamQuery),
    responses(
        (status = 200, description = "`text/event-stream`, until the client disconnects or is deleted.", content_type = "text/event-stream", body = String),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let (client, secret) = basic_credentials(&headers).ok_or(Error::InvalidClient)?;
    let scope = s.svc.receiver(&t, &client, secret.clone()).await?.scope;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::field("Last-Event-ID", "must be an event seq"))?,
        ),
        None => q.after,
    };
    let from = match resume {
        Some(n) => n,
        None => s.svc.event_head(&scope).await?,
    };
    let st = Live {
        svc: s.svc.clone(),
        scope,
        client,
        secret,
        cursor: from,
        buffer: std::collections::VecDeque::new(),
        checked: tokio::time::Instant::now(),
    };
    let events = futures_util::stream::unfold(st, |mut st| async move {
        let ev = st.next().await?;
        Some((Ok(ev), st))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One live stream's place in the outbox.
struct Live {
    svc: std::sync::Arc<Service>,
    scope: TenantScope,
    client: String,
    secret: crate::auth::Secret,
    cursor: u64,
    buffer: std::collections::VecDeque<crate::domain::OutboxEvent>,
    checked: tokio::time::Instant,
}

impl Live {
    /// The next event; `None` ends the stream (the client reconnects and resumes).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                self.cursor = e.seq;
                // The revocations stream: logins are for webhooks and SSF.
                if !matches!(e.kind, crate::domain::EventKind::SessionRevoked { .. }) {
                    continue;
                }
                let data = event_json(self.scope.tenant(), &e).to_string();
                return Some(
                    Event::default()
                        .id(e.seq.to_string())
                        .event(e.kind.type_name())
                        .data(data),
                );
            }
            // Access ends when authorization ends: a deleted client's stream stops.
            if self.checked.elapsed() >= Duration::from_secs(10) {
                let t = self.scope.tenant().as_str().to_owned();
                self.svc
                    .receiver(&t, &self.client, self.secret.clone())
                    .await
                    .ok()?;
                self.checked = tokio::time::Instant::now();
            }
            let deliveries = self.svc.deliveries().clone();
            let committed = deliveries.committed();
            tokio::pin!(committed);
            committed.as_mut().enable();
            let batch = self
                .svc
                .outbox_after(&self.scope, self.cursor, 256)
                .await
                .ok()?;
            if batch.is_empty() {
                // Other nodes' commits are seen by polling.
                let _ = tokio::time::timeout(Duration::from_secs(1), committed).await;
            }
            self.buffer.extend(batch);
        }
    }
}
