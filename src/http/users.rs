//! SPEC §5: users, service clients and policy of a tenant.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::extract::{AppJson, AppQuery, Paging, TenantAdmin};
use super::state::AppState;
use crate::auth::Secret;
use crate::domain::{ClientId, Policy, UserId};
use crate::service::user_admin::UserPatch;
use crate::service::users::{Acting, NewUser};
use crate::service::{ClientMeta, Error};

#[derive(Debug, Deserialize)]
pub struct UserQuery {
    q: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

pub async fn list_users(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<UserQuery>,
) -> Result<impl IntoResponse, Error> {
    let limit = q.paging.limit()?;
    let cursor = q
        .paging
        .cursor
        .as_deref()
        .map(UserId::parse)
        .transpose()
        .map_err(|_| Error::field("cursor", "malformed cursor"))?;
    if q.q.as_ref().is_some_and(|q| q.len() > 200) {
        return Err(Error::field("q", "must be at most 200 characters"));
    }
    Ok(Json(
        s.svc.list_users(&admin.scope, q.q, cursor, limit).await?,
    ))
}

pub async fn create_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(new): AppJson<NewUser>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_user(&admin.scope, by, new).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClientBody {
    name: String,
}

pub async fn list_clients(
    State(s): State<AppState>,
    admin: TenantAdmin,
) -> Result<impl IntoResponse, Error> {
    let items = s.svc.list_clients(&admin.scope).await?;
    Ok(Json(
        serde_json::json!({ "items": items, "next_cursor": null }),
    ))
}

pub async fn create_client(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(b): AppJson<NewClientBody>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_client(&admin.scope, by, &b.name).await?),
    ))
}

pub async fn delete_client(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    let id = ClientId::parse(&id).map_err(|_| Error::field("client_id", "must be a UUID"))?;
    let by = Acting::principal(&admin.principal, meta);
    s.svc.delete_client(&admin.scope, by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_policy(
    State(s): State<AppState>,
    admin: TenantAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.get_policy(&admin.scope).await?))
}

pub async fn put_policy(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(policy): AppJson<Policy>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(s.svc.put_policy(&admin.scope, by, policy).await?))
}

pub async fn show_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, uid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let uid = super::extract::user_id(&uid)?;
    Ok(Json(s.svc.get_user(&admin.scope, uid).await?))
}

pub async fn patch_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, uid)): Path<(String, String)>,
    AppJson(patch): AppJson<UserPatch>,
) -> Result<impl IntoResponse, Error> {
    let uid = super::extract::user_id(&uid)?;
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(s.svc.patch_user(&admin.scope, by, uid, patch).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: Secret,
}

pub async fn set_password(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, uid)): Path<(String, String)>,
    AppJson(b): AppJson<PasswordBody>,
) -> Result<impl IntoResponse, Error> {
    let uid = super::extract::user_id(&uid)?;
    let current = Some(admin.principal.session_id);
    let by = Acting::principal(&admin.principal, meta);
    let n = s
        .svc
        .set_password(&admin.scope, by, uid, b.password, current)
        .await?;
    Ok(Json(serde_json::json!({ "sessions_revoked": n })))
}
