//! SPEC §5: a tenant's audit log — query, export (NDJSON, streamed), verify.

use crate::domain::query::List;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::extract::{AppQuery, GlobalAdmin, Paging, TenantAdmin};
use super::openapi::responses::{Forbidden, NotFound, Unauthorized, ValidationFailed};
use super::openapi::schemas::{self, AuditEntryJson, AuditPage, TenantPath};
use super::state::AppState;
use crate::domain::{SessionId, Timestamp, UserId};
use crate::service::Error;
use crate::service::audit::AuditVerify;
use crate::service::audit::{AuditFilter, ExportFormat};
use crate::store::Space;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries with this action.
    action: Option<String>,
    /// Only entries by this actor (a user id; empty means every actor).
    #[param(value_type = Option<String>, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    actor_id: Option<String>,
    /// Only entries about this user: its target is the user or one of the user's sessions, or its details name the user.
    #[param(value_type = Option<String>, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    target_user_id: Option<String>,
    /// Only entries about this session: its target, or listed in the details (bulk revocations).
    #[param(value_type = Option<String>, pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    session_id: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[param(value_type = Option<Timestamp>)]
    since: Option<String>,
    /// Entries at or before this time (RFC 3339).
    #[param(value_type = Option<Timestamp>)]
    until: Option<String>,
    /// Documented as its own parameters (`Paging`).
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson` (default) or `csv`.
    #[param(value_type = Option<schemas::AuditExportFormat>)]
    format: Option<String>,
    /// The query's filters (`action`, `actor_id`, `target_user_id`, `session_id`, `since`, `until`); paging is ignored.
    #[serde(flatten)]
    #[param(ignore)]
    filter: AuditQuery,
}

fn time(field: &str, v: Option<String>) -> Result<Option<Timestamp>, Error> {
    v.map(|s| {
        Timestamp::parse_rfc3339(&s).ok_or_else(|| Error::field(field, "must be an RFC 3339 time"))
    })
    .transpose()
}

/// An id filter: empty means none.
fn id_filter<T>(
    field: &str,
    v: Option<String>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Error> {
    v.filter(|a| !a.is_empty())
        .map(|a| parse(&a).ok_or_else(|| Error::field(field, "must be a UUID")))
        .transpose()
}

impl AuditQuery {
    fn parse(self) -> Result<AuditFilter, Error> {
        let before_seq = self
            .paging
            .cursor
            .as_deref()
            .map(|c| {
                List::Audit
                    .key(c)
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::field("cursor", "malformed cursor"))
            })
            .transpose()?;
        let since = time("since", self.since)?;
        let until = time("until", self.until)?;
        if let (Some(s), Some(u)) = (since, until)
            && u < s
        {
            return Err(Error::field("until", "must not be before since"));
        }
        Ok(AuditFilter {
            action: self.action.filter(|a| !a.is_empty()),
            actor_id: id_filter("actor_id", self.actor_id, |a| UserId::parse(a).ok())?,
            target_user_id: id_filter("target_user_id", self.target_user_id, |a| {
                UserId::parse(a).ok()
            })?,
            session_id: id_filter("session_id", self.session_id, |a| SessionId::parse(a).ok())?,
            since,
            until,
            before_seq,
            limit: self.paging.limit()?,
        })
    }
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/audit",
    operation_id = "queryAudit",
    tag = "audit",
    summary = "Query a tenant's audit log",
    security(("bearerAuth" = [])),
    params(TenantPath, AuditQuery, Paging),
    responses(
        (status = 200, description = "Entries, newest first.", body = AuditPage),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/v1/platform/audit",
    operation_id = "queryPlatformAudit",
    tags = ["audit", "platform"],
    summary = "Query the platform audit log",
    security(("bearerAuth" = [])),
    description = "Tenants created, access requested, support sessions started, grants expired, backups taken …",
    params(AuditQuery, Paging),
    responses(
        (status = 200, description = "Entries, newest first.", body = AuditPage),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn platform_query(
    State(s): State<AppState>,
    GlobalAdmin(_): GlobalAdmin,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<impl IntoResponse, Error> {
    let f = q.parse()?;
    Ok(Json(s.svc.query_audit(&Space::Platform, f).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/audit/verify",
    operation_id = "verifyAudit",
    tag = "audit",
    summary = "Verify a tenant's audit hash chain",
    security(("bearerAuth" = [])),
    params(TenantPath),
    responses(
        (status = 200, description = "The chain's state; `ok: false` names the first bad entry.", body = AuditVerify),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/audit/export",
    operation_id = "exportAudit",
    tag = "audit",
    summary = "Export a tenant's audit log",
    security(("bearerAuth" = [])),
    params(TenantPath, ExportQuery, AuditQuery),
    responses(
        (status = 200, description = "The entries the filters name, oldest first, streamed. NDJSON: one AuditEntry (see the schema) per line. CSV: a header row, then one row per entry (`details` as JSON text).", content(
            (AuditEntryJson = "application/x-ndjson"),
            (String = "text/csv"),
        ), headers(("Content-Disposition" = String, description = "attachment with a file name."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn export(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<ExportQuery>,
) -> Result<Response, Error> {
    let (format, content_type, ext) = match q.format.as_deref() {
        None | Some("ndjson") => (ExportFormat::Ndjson, "application/x-ndjson", "ndjson"),
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        Some(_) => return Err(Error::field("format", "must be ndjson or csv")),
    };
    let f = q.filter.parse()?;
    // Checked before streaming: once the body starts, the status is sent.
    s.svc.ensure_tenant(&admin.scope).await?;
    let rx = s.svc.stream_audit(&admin.scope, f, format);
    let stream = tokio_stream_from(rx);
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let name = format!(
        "attachment; filename=\"audit-{}.{ext}\"",
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
