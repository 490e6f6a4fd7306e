//! SPEC §6: support access — requests and sessions (platform side), grants (tenant side).

use crate::domain::query::List;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::extract::{AppJson, AppQuery, GlobalAdmin, Paging, TenantAdmin};
use super::openapi::responses::{
    Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::{GrantPath, TenantPath};
use super::state::AppState;
use crate::domain::{GrantId, TenantId};
use crate::service::grants::GrantView;
use crate::service::grants::{AccessRequest, Decision, DirectGrant};
use crate::service::sessions::TokenPair;
use crate::service::users::{Acting, Page};
use crate::service::{ClientMeta, Error};

fn tenant(raw: &str) -> Result<TenantId, Error> {
    TenantId::parse(raw).map_err(|_| Error::NotFound)
}

/// Grants are the tenant's own decision: a support session may not manage them.
fn own_admin(admin: &TenantAdmin) -> Result<(), Error> {
    match admin.principal.grant_id {
        None => Ok(()),
        Some(_) => Err(Error::Forbidden(
            "support sessions cannot manage support access",
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/platform/tenants/{t}/access-requests",
    operation_id = "requestSupportAccess",
    tags = ["support", "platform"],
    summary = "Request support access to a tenant",
    security(("bearerAuth" = [])),
    params(TenantPath),
    request_body = AccessRequest,
    responses(
        (status = 201, description = "The request, `pending` until an org admin decides.", body = GrantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn request_access(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    Path(t): Path<String>,
    AppJson(req): AppJson<AccessRequest>,
) -> Result<impl IntoResponse, Error> {
    let t = tenant(&t)?;
    Ok((
        StatusCode::CREATED,
        Json(s.svc.request_access(&p, &t, req, meta).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/platform/grants",
    operation_id = "listMyGrants",
    tags = ["support", "platform"],
    summary = "The caller's support requests and grants",
    security(("bearerAuth" = [])),
    params(Paging),
    responses(
        (status = 200, description = "Across all tenants, newest first; one page.", body = Page<GrantView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn my_grants(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    AppQuery(page): AppQuery<Paging>,
) -> Result<impl IntoResponse, Error> {
    let (after, limit) = (page.cursor(List::Grants, GrantId::parse)?, page.limit()?);
    Ok(Json(s.svc.my_grants(&p, after, limit).await?))
}

#[utoipa::path(
    post,
    path = "/v1/platform/tenants/{t}/support-sessions",
    operation_id = "startSupportSession",
    tags = ["support", "platform"],
    summary = "Start a support session in a tenant",
    security(("bearerAuth" = [])),
    description = "Needs an active grant for the caller on this tenant (else 403). No request body. The session is listed in the tenant's sessions with `support` set and ends when the grant expires or is revoked.",
    params(TenantPath),
    responses(
        (status = 201, description = "Tokens for a session inside the tenant (`tid` = t, `role` = global_admin, `gid`).", body = TokenPair, headers(("Cache-Control" = String, description = "`no-store`: the answer carries tokens."))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn start_support_session(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    Path(t): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let t = tenant(&t)?;
    Ok((
        StatusCode::CREATED,
        Json(s.svc.start_support_session(&p, &t, meta).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/support-grants",
    operation_id = "listSupportGrants",
    tag = "support",
    summary = "List support requests and grants",
    security(("bearerAuth" = [])),
    description = "Org admins only (a support session gets 403).",
    params(TenantPath, Paging),
    responses(
        (status = 200, description = "Newest first, every status; one page.", body = Page<GrantView>),
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
    own_admin(&admin)?;
    let (after, limit) = (page.cursor(List::Grants, GrantId::parse)?, page.limit()?);
    Ok(Json(s.svc.tenant_grants(&admin.scope, after, limit).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/support-grants",
    operation_id = "grantSupportAccess",
    tag = "support",
    summary = "Grant support access directly",
    security(("bearerAuth" = [])),
    description = "`duration_secs` ≤ the policy's max_support_grant_secs. Org admins only.",
    params(TenantPath),
    request_body = DirectGrant,
    responses(
        (status = 201, description = "The active grant.", body = GrantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn grant(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(req): AppJson<DirectGrant>,
) -> Result<impl IntoResponse, Error> {
    own_admin(&admin)?;
    let by = Acting::principal(&admin.principal, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.grant_directly(&admin.scope, by, req).await?),
    ))
}

async fn decide(
    s: AppState,
    admin: TenantAdmin,
    meta: ClientMeta,
    gid: String,
    d: Decision,
) -> Result<Json<crate::service::grants::GrantView>, Error> {
    own_admin(&admin)?;
    let gid = GrantId::parse(&gid).map_err(|_| Error::field("grant_id", "must be a UUID"))?;
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(s.svc.decide_grant(&admin.scope, by, gid, d).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/support-grants/{gid}/approve",
    operation_id = "approveSupportGrant",
    tag = "support",
    summary = "Approve a pending access request",
    security(("bearerAuth" = [])),
    description = "pending → active. 409 when the grant's status does not allow it. Org admins only.",
    params(GrantPath),
    responses(
        (status = 200, description = "The grant after the decision.", body = GrantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn approve(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Approve).await
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/support-grants/{gid}/deny",
    operation_id = "denySupportGrant",
    tag = "support",
    summary = "Deny a pending access request",
    security(("bearerAuth" = [])),
    description = "pending → denied. 409 when the grant's status does not allow it. Org admins only.",
    params(GrantPath),
    responses(
        (status = 200, description = "The grant after the decision.", body = GrantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn deny(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Deny).await
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/support-grants/{gid}/revoke",
    operation_id = "revokeSupportGrant",
    tag = "support",
    summary = "Revoke a support grant",
    security(("bearerAuth" = [])),
    description = "pending/active → revoked; its support sessions are revoked (`grant_revoked`) at once. 409 when the grant's status does not allow it. Org admins only.",
    params(GrantPath),
    responses(
        (status = 200, description = "The grant after the decision.", body = GrantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn revoke(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Revoke).await
}
