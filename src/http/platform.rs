//! SPEC §6: the platform side (global admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::extract::{AppJson, GlobalAdmin};
use super::state::AppState;
use crate::service::tenants::NewTenant;
use crate::service::users::Acting;
use crate::service::{ClientMeta, Error};

pub async fn create_tenant(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    AppJson(new): AppJson<NewTenant>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&p, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_tenant(by, new).await?),
    ))
}

pub async fn list_tenants(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.list_tenants_for(Some(p.user_id)).await?))
}
