//! SPEC §5: a tenant's audit log — query, export (NDJSON, streamed), verify.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::extract::{AppQuery, GlobalAdmin, Paging, TenantAdmin};
use super::state::AppState;
use crate::domain::{Timestamp, UserId};
use crate::service::Error;
use crate::service::audit::AuditFilter;
use crate::store::Space;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    action: Option<String>,
    actor_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

fn time(field: &str, v: Option<String>) -> Result<Option<Timestamp>, Error> {
    v.map(|s| {
        Timestamp::parse_rfc3339(&s).ok_or_else(|| Error::field(field, "must be an RFC 3339 time"))
    })
    .transpose()
}

impl AuditQuery {
    fn parse(self) -> Result<AuditFilter, Error> {
        let before_seq = self
            .paging
            .cursor
            .as_deref()
            .map(|c| {
                c.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::field("cursor", "malformed cursor"))
            })
            .transpose()?;
        Ok(AuditFilter {
            action: self.action.filter(|a| !a.is_empty()),
            actor_id: self
                .actor_id
                .filter(|a| !a.is_empty())
                .map(|a| UserId::parse(&a).map_err(|_| Error::field("actor_id", "must be a UUID")))
                .transpose()?,
            since: time("since", self.since)?,
            until: time("until", self.until)?,
            before_seq,
            limit: self.paging.limit()?,
        })
    }
}

pub async fn query(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<impl IntoResponse, Error> {
    let f = q.parse()?;
    Ok(Json(
        s.svc.query_audit(&Space::Tenant(admin.scope), f).await?,
    ))
}

pub async fn platform_query(
    State(s): State<AppState>,
    GlobalAdmin(_): GlobalAdmin,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<impl IntoResponse, Error> {
    let f = q.parse()?;
    Ok(Json(s.svc.query_audit(&Space::Platform, f).await?))
}

pub async fn verify(
    State(s): State<AppState>,
    admin: TenantAdmin,
) -> Result<impl IntoResponse, Error> {
    let r = s
        .svc
        .verify_audit(&Space::Tenant(admin.scope.clone()))
        .await?;
    Ok(Json(r))
}

pub async fn export(State(s): State<AppState>, admin: TenantAdmin) -> Result<Response, Error> {
    // Checked before streaming: once the body starts, the status is sent.
    s.svc.ensure_tenant(&admin.scope).await?;
    let rx = s.svc.stream_audit(&admin.scope);
    let stream = tokio_stream_from(rx);
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    let name = format!(
        "attachment; filename=\"audit-{}.ndjson\"",
        admin.scope.tenant()
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
) -> impl futures_core::Stream<Item = std::io::Result<Vec<u8>>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
