//! SPEC §5: a tenant's sessions — list, show, revoke (one, bulk, a user's).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::extract::{AppJson, AppQuery, OptionalJson, Paging, TenantAdmin, session_id, user_id};
use super::openapi::responses::{
    Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::{self, SessionPath, TenantPath, UserPath};
use super::state::AppState;
use crate::domain::UserId;
use crate::domain::query::{Order, SessionQuery, Sort, StatusFilter};
use crate::service::revoke::{BulkOutcome, BulkRevoke, SignOut, SignOutOutcome};
use crate::service::session_list::{SessionPage, SessionView};
use crate::service::users::Acting;
use crate::service::{ClientMeta, Error};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Which sessions (default `active`).
    #[param(value_type = Option<schemas::StatusFilter>)]
    status: Option<String>,
    /// Only this user's sessions.
    #[param(value_type = Option<UserId>)]
    user_id: Option<String>,
    /// Matches email or display name (case-insensitive substring), or the start of an IP address or of a session id.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Order (default `last_activity_desc`).
    #[param(value_type = Option<schemas::SessionSort>)]
    sort: Option<String>,
    /// Documented as its own parameters (`Paging`).
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

impl ListQuery {
    fn parse(self) -> Result<(SessionQuery, Order), Error> {
        let status = match self.status.as_deref() {
            None | Some("active") => StatusFilter::Active,
            Some("revoked") => StatusFilter::Revoked,
            Some("all") => StatusFilter::All,
            Some(_) => return Err(Error::field("status", "must be active, revoked or all")),
        };
        let (order, cursor) = Order::parse(self.sort.as_deref(), self.paging.cursor.as_deref())
            .map_err(|field| match field {
                "sort" => Error::field(
                    "sort",
                    "must be one of last_activity_desc, last_activity_asc, created_desc, created_asc, expires_asc, expires_desc, user_asc, user_desc, ip_asc, ip_desc",
                ),
                _ => Error::field("cursor", "malformed cursor, or from a different sort"),
            })?;
        let q = self.q.filter(|q| !q.trim().is_empty());
        if q.as_ref().is_some_and(|q| q.len() > 200) {
            return Err(Error::field("q", "must be at most 200 characters"));
        }
        let sort = match order {
            Order::Indexed(s) => s,
            Order::InMemory { .. } => Sort::default(),
        };
        let query = SessionQuery {
            status,
            user_id: self.user_id.as_deref().map(user_id).transpose()?,
            q,
            sort,
            cursor,
            limit: self.paging.limit()?,
        };
        Ok((query, order))
    }
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/sessions",
    operation_id = "listSessions",
    tag = "sessions",
    summary = "List a tenant's sessions",
    security(("bearerAuth" = [])),
    params(TenantPath, ListQuery, Paging),
    responses(
        (status = 200, description = "One page of sessions, and `total` (or `total_estimate`).", body = SessionPage),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<impl IntoResponse, Error> {
    let (q, order) = q.parse()?;
    Ok(Json(
        s.svc
            .list_sessions(&admin.scope, q, order, Some(admin.principal.session_id))
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/sessions/{sid}",
    operation_id = "getSession",
    tag = "sessions",
    summary = "Show one session",
    security(("bearerAuth" = [])),
    params(SessionPath),
    responses(
        (status = 200, description = "The session.", body = SessionView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn show(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, sid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let sid = session_id(&sid)?;
    Ok(Json(
        s.svc
            .get_session(&admin.scope, sid, Some(admin.principal.session_id))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RevokeNote)]
pub struct ReasonBody {
    /// Free-text note, kept on the session and in the audit log; no control
    /// characters but newline.
    #[schema(max_length = 500)]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/sessions/{sid}/revoke",
    operation_id = "revokeSession",
    tag = "sessions",
    summary = "Revoke one session",
    security(("bearerAuth" = [])),
    description = "Reason `admin_revoked`; the session's tokens are refused on the next request.",
    params(SessionPath),
    request_body(content = Option<ReasonBody>, description = "Optional; an empty body is fine."),
    responses(
        (status = 200, description = "`revoked` is 1, or 0 if it was already revoked.", body = schemas::RevokeCount),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn revoke_one(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, sid)): Path<(String, String)>,
    OptionalJson(b): OptionalJson<ReasonBody>,
) -> Result<impl IntoResponse, Error> {
    let sid = session_id(&sid)?;
    let by = Acting::principal(&admin.principal, meta);
    let n = s
        .svc
        .revoke_session(&admin.scope, by, sid, b.reason)
        .await?;
    Ok(Json(json!({ "revoked": n })))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/sessions/revoke",
    operation_id = "bulkRevokeSessions",
    tag = "sessions",
    summary = "Revoke sessions in bulk",
    security(("bearerAuth" = [])),
    description = "Name sessions either by `session_ids` or by `filter` (not both); revoked \
sessions get `bulk_revoked`. The body may be up to 512 KiB (10,000 ids).",
    params(TenantPath),
    request_body = BulkRevoke,
    responses(
        (status = 200, description = "`{revoked: n}`, or `{would_revoke: n}` for a dry run.", body = schemas::BulkRevokeResult),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn revoke_bulk(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(req): AppJson<BulkRevoke>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    let current = Some(admin.principal.session_id);
    Ok(Json(
        match s.svc.bulk_revoke(&admin.scope, by, current, req).await? {
            BulkOutcome::Revoked(n) => json!({ "revoked": n }),
            BulkOutcome::WouldRevoke(n) => json!({ "would_revoke": n }),
        },
    ))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/users/{uid}/revoke-sessions",
    operation_id = "revokeUserSessions",
    tags = ["sessions", "users"],
    summary = "Force sign-out of a user",
    security(("bearerAuth" = [])),
    description = "Revokes every session and refresh chain of the user (`user_sessions_revoked`, \
or `user_disabled` with `disable`) and sets the user's \"sessions valid after\" mark to now. \
One transaction and one audit entry, which lists the sessions and carries the `reason`.",
    params(UserPath),
    request_body(content = Option<SignOut>, description = "Optional."),
    responses(
        (status = 200, description = "`{revoked: n, disabled}`, or `{would_revoke: n}` for a dry run.", body = schemas::SignOutResult),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn revoke_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, uid)): Path<(String, String)>,
    OptionalJson(req): OptionalJson<SignOut>,
) -> Result<impl IntoResponse, Error> {
    let uid = user_id(&uid)?;
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(
        match s.svc.force_sign_out(&admin.scope, by, uid, req).await? {
            SignOutOutcome::Revoked { revoked, disabled } => {
                json!({ "revoked": revoked, "disabled": disabled })
            }
            SignOutOutcome::WouldRevoke(n) => json!({ "would_revoke": n }),
        },
    ))
}
