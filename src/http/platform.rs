//! SPEC §6: the platform side (global admins).

use crate::domain::query::List;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::{AppJson, AppQuery, GlobalAdmin, Paging};
use super::openapi::responses::{
    Conflict, Forbidden, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::state::AppState;
use crate::domain::TenantId;
use crate::service::tenants::NewTenant;
use crate::service::tenants::{TenantSummary, TenantView};
use crate::service::users::{Acting, Page};
use crate::service::{ClientMeta, Error};

#[utoipa::path(
    post,
    path = "/v1/platform/tenants",
    operation_id = "createTenant",
    tag = "platform",
    summary = "Create a tenant and its first org admin",
    security(("bearerAuth" = [])),
    request_body = NewTenant,
    responses(
        (status = 201, description = "The new tenant.", body = TenantView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
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

/// SPEC §6 fixes this answer as an array: without `limit` it holds every
/// tenant; with `limit` (and `cursor`) it is one page, and a `Link:
/// <…>; rel="next"` header (RFC 8288) points at the next.
#[utoipa::path(
    get,
    path = "/v1/platform/tenants",
    operation_id = "listTenants",
    tag = "platform",
    summary = "List tenants (metadata only)",
    security(("bearerAuth" = [])),
    description = "An array (SPEC §6). Without `limit`, every tenant; with `limit` (and `cursor`, \
a slug), one page in slug order, and `Link: <…>; rel=\"next\"` names the next page.",
    params(Paging),
    responses(
        (status = 200, description = "Tenants, with the caller's active grant on each.", body = Vec<TenantSummary>,
            headers(("Link" = String, description = "RFC 8288 `rel=\"next\"` link, when there is a next page."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list_tenants(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    AppQuery(page): AppQuery<Paging>,
) -> Result<Response, Error> {
    let after = page.cursor(List::Tenants, |c| TenantId::parse(c).map_err(|_| ()))?;
    let all = s.svc.list_tenants_for(Some(p.user_id)).await?;
    if page.limit.is_none() && after.is_none() {
        return Ok(Json(all).into_response());
    }
    let limit = page.limit()?;
    let page = Page::window(List::Tenants, all, |t| t.slug.clone(), false, after, limit);
    let mut res = Json(page.items).into_response();
    if let Some(next) = page.next_cursor {
        let link = format!("</v1/platform/tenants?limit={limit}&cursor={next}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}
