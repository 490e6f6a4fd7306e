//! Platform administration: global admins and the signing keys.

use crate::domain::query::List;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::extract::{AppJson, AppQuery, GlobalAdmin, OptionalJson, Paging, user_id};
use super::openapi::responses::{
    Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::AdminPath;
use super::state::AppState;
use crate::auth::keyring::KeyInfo;
use crate::auth::{Principal, Secret};
use crate::domain::UserId;
use crate::service::admins::{AdminRef, NewAdmin};
use crate::service::keys::RotateRequest;
use crate::service::users::{Acting, Page, UserView};
use crate::service::{ClientMeta, Error};

#[utoipa::path(
    get,
    path = "/v1/platform/keys",
    operation_id = "listSigningKeys",
    tag = "platform",
    summary = "The signing keys",
    description = "Every key still in the JWKS: `next` (published, not yet signing), `current`, \
and `retired` ones until every token they signed has expired (`removed_at`).",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Oldest first (one page).", body = Page<KeyInfo>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list_keys(
    State(s): State<AppState>,
    GlobalAdmin(_): GlobalAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.list_keys().await?))
}

#[utoipa::path(
    post,
    path = "/v1/platform/keys/rotate",
    operation_id = "rotateSigningKey",
    tag = "platform",
    summary = "Rotate the signing key",
    description = "Publishes a new key now; it signs after `activate_in_secs` (default the \
server's `--key-prepublish-secs`), so verifiers that cache the JWKS learn it first. One pending \
rotation at a time (409). Audited as `signing_key_rotated`. The body is optional.",
    security(("bearerAuth" = [])),
    request_body(content = Option<RotateRequest>, description = "Optional."),
    responses(
        (status = 201, description = "The new key.", body = KeyInfo),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn rotate_keys(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    OptionalJson(req): OptionalJson<RotateRequest>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&p, meta);
    Ok((StatusCode::CREATED, Json(s.svc.rotate_keys(by, req).await?)))
}

#[utoipa::path(
    get,
    path = "/v1/platform/admins",
    operation_id = "listGlobalAdmins",
    tag = "platform",
    summary = "List global admins",
    security(("bearerAuth" = [])),
    params(Paging),
    responses(
        (status = 200, description = "One page, in creation order.", body = Page<UserView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list_admins(
    State(s): State<AppState>,
    GlobalAdmin(_): GlobalAdmin,
    AppQuery(page): AppQuery<Paging>,
) -> Result<impl IntoResponse, Error> {
    let (after, limit) = (page.cursor(List::Admins, UserId::parse)?, page.limit()?);
    Ok(Json(s.svc.list_admins(after, limit).await?))
}

#[utoipa::path(
    post,
    path = "/v1/platform/admins",
    operation_id = "createGlobalAdmin",
    tag = "platform",
    summary = "Create a global admin",
    description = "Audited as `global_admin_created` in the platform log.",
    security(("bearerAuth" = [])),
    request_body = NewAdmin,
    responses(
        (status = 201, description = "The new global admin.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn create_admin(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    AppJson(new): AppJson<NewAdmin>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&p, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_admin(by, new).await?),
    ))
}

async fn set_disabled(
    s: AppState,
    p: Principal,
    meta: ClientMeta,
    id: &str,
    disabled: bool,
) -> Result<Json<UserView>, Error> {
    let who = AdminRef::Id(user_id(id)?);
    let by = Acting::principal(&p, meta);
    Ok(Json(s.svc.set_admin_disabled(by, who, disabled).await?))
}

#[utoipa::path(
    post,
    path = "/v1/platform/admins/{id}/disable",
    operation_id = "disableGlobalAdmin",
    tag = "platform",
    summary = "Disable a global admin",
    description = "Ends every session of theirs at once, support sessions included (their grants \
are revoked). The last enabled global admin cannot be disabled (409).",
    security(("bearerAuth" = [])),
    params(AdminPath),
    responses(
        (status = 200, description = "The admin, disabled.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    ),
)]
pub async fn disable_admin(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Error> {
    set_disabled(s, p, meta, &id, true).await
}

#[utoipa::path(
    post,
    path = "/v1/platform/admins/{id}/enable",
    operation_id = "enableGlobalAdmin",
    tag = "platform",
    summary = "Enable a global admin",
    security(("bearerAuth" = [])),
    params(AdminPath),
    responses(
        (status = 200, description = "The admin, enabled.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn enable_admin(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Error> {
    set_disabled(s, p, meta, &id, false).await
}

/// `POST /v1/platform/admins/{id}/password` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminPassword {
    /// At least 12 characters, not a common password.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 256)]
    password: Secret,
}

/// Sets the password and ends every session of that admin (theirs and
/// their support sessions), the caller's own included if it is theirs.
#[utoipa::path(
    post,
    path = "/v1/platform/admins/{id}/password",
    operation_id = "setGlobalAdminPassword",
    tag = "platform",
    summary = "Set a global admin's password",
    description = "Ends every session of that admin, support sessions included. Audited as \
`global_admin_password_reset`.",
    security(("bearerAuth" = [])),
    params(AdminPath),
    request_body = AdminPassword,
    responses(
        (status = 200, description = "The admin.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn set_admin_password(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    Path(id): Path<String>,
    AppJson(b): AppJson<AdminPassword>,
) -> Result<impl IntoResponse, Error> {
    let who = AdminRef::Id(user_id(&id)?);
    let by = Acting::principal(&p, meta);
    let (u, _) = s
        .svc
        .reset_admin_password(by, who, Some(b.password))
        .await?;
    Ok(Json(u))
}
