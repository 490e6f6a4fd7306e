//! SPEC §6: support access — requests and sessions (platform side), grants (tenant side).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::extract::{AppJson, GlobalAdmin, TenantAdmin};
use super::state::AppState;
use crate::domain::{GrantId, TenantId};
use crate::service::grants::{AccessRequest, Decision, DirectGrant};
use crate::service::users::Acting;
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

pub async fn my_grants(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.my_grants(&p).await?))
}

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

pub async fn list(
    State(s): State<AppState>,
    admin: TenantAdmin,
) -> Result<impl IntoResponse, Error> {
    own_admin(&admin)?;
    Ok(Json(s.svc.tenant_grants(&admin.scope).await?))
}

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

pub async fn approve(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Approve).await
}

pub async fn deny(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Deny).await
}

pub async fn revoke(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, gid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    decide(s, admin, meta, gid, Decision::Revoke).await
}
