//! SPEC §5: users, service clients and policy of a tenant.

use crate::domain::query::List;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{AppJson, AppQuery, Paging, TenantAdmin};
use super::openapi::responses::{
    Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::{self, ClientPath, TenantPath, UserPath};
use super::state::AppState;
use crate::auth::Secret;
use crate::domain::{ClientId, Policy, UserId};
use crate::service::clients::{ClientView, NewClient};
use crate::service::user_admin::UserPatch;
use crate::service::users::{Acting, NewUser};
use crate::service::users::{Page, UserView};
use crate::service::{ClientMeta, Error};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Matches email or display name (case-insensitive).
    #[param(max_length = 200)]
    q: Option<String>,
    /// Documented as its own parameters (`Paging`).
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/users",
    operation_id = "listUsers",
    tag = "users",
    summary = "List users",
    security(("bearerAuth" = [])),
    params(TenantPath, UserQuery, Paging),
    responses(
        (status = 200, description = "One page of users, in creation order.", body = Page<UserView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_users(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<UserQuery>,
) -> Result<impl IntoResponse, Error> {
    let limit = q.paging.limit()?;
    let cursor = q.paging.cursor(List::Users, UserId::parse)?;
    if q.q.as_ref().is_some_and(|q| q.len() > 200) {
        return Err(Error::field("q", "must be at most 200 characters"));
    }
    Ok(Json(
        s.svc.list_users(&admin.scope, q.q, cursor, limit).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/users",
    operation_id = "createUser",
    tag = "users",
    summary = "Create a user",
    security(("bearerAuth" = [])),
    params(TenantPath),
    request_body = NewUser,
    responses(
        (status = 201, description = "The new user.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewClient)]
pub struct NewClientBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// OIDC Back-Channel Logout 1.0: a `logout_token` is POSTed here for
    /// every session of the tenant that ends.
    backchannel_logout_uri: Option<String>,
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/clients",
    operation_id = "listClients",
    tag = "clients",
    summary = "List service clients",
    security(("bearerAuth" = [])),
    params(TenantPath, Paging),
    responses(
        (status = 200, description = "One page of clients in id order (secrets are never shown again).", body = Page<ClientView>),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn list_clients(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(page): AppQuery<Paging>,
) -> Result<impl IntoResponse, Error> {
    let (after, limit) = (page.cursor(List::Clients, ClientId::parse)?, page.limit()?);
    Ok(Json(s.svc.list_clients(&admin.scope, after, limit).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/clients",
    operation_id = "createClient",
    tag = "clients",
    summary = "Create a service client",
    security(("bearerAuth" = [])),
    description = "Service clients authenticate resource servers at `/v1/oauth/introspect`.",
    params(TenantPath),
    request_body = NewClientBody,
    responses(
        (status = 201, description = "The client and its secret, shown only here.", body = NewClient, headers(("Cache-Control" = String, description = "`no-store`: the answer carries a secret."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn create_client(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(b): AppJson<NewClientBody>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    Ok((
        StatusCode::CREATED,
        Json(
            s.svc
                .create_client(
                    &admin.scope,
                    by,
                    &b.name,
                    b.backchannel_logout_uri.as_deref(),
                )
                .await?,
        ),
    ))
}

#[utoipa::path(
    delete,
    path = "/v1/tenants/{t}/clients/{id}",
    operation_id = "deleteClient",
    tag = "clients",
    summary = "Delete a service client",
    security(("bearerAuth" = [])),
    params(ClientPath),
    responses(
        (status = 204, description = "Deleted; its credentials no longer work."),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/policy",
    operation_id = "getPolicy",
    tag = "policy",
    summary = "Read the session policy",
    security(("bearerAuth" = [])),
    params(TenantPath),
    responses(
        (status = 200, description = "The tenant's policy.", body = Policy),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn get_policy(
    State(s): State<AppState>,
    admin: TenantAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.get_policy(&admin.scope).await?))
}

#[utoipa::path(
    put,
    path = "/v1/tenants/{t}/policy",
    operation_id = "putPolicy",
    tag = "policy",
    summary = "Replace the session policy",
    security(("bearerAuth" = [])),
    params(TenantPath),
    request_body = Policy,
    responses(
        (status = 200, description = "The policy now in force.", body = Policy),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn put_policy(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(policy): AppJson<Policy>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(s.svc.put_policy(&admin.scope, by, policy).await?))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/users/{uid}",
    operation_id = "getUser",
    tag = "users",
    summary = "Show a user",
    security(("bearerAuth" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn show_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, uid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let uid = super::extract::user_id(&uid)?;
    Ok(Json(s.svc.get_user(&admin.scope, uid).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/tenants/{t}/users/{uid}",
    operation_id = "updateUser",
    tag = "users",
    summary = "Change a user",
    security(("bearerAuth" = [])),
    description = "At least one field. Disabling revokes all the user's sessions (`user_disabled`). The tenant's last active org admin cannot be demoted or disabled (409).",
    params(UserPath),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The user after the change.", body = UserView),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetPassword)]
pub struct PasswordBody {
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 256)]
    password: Secret,
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/users/{uid}/password",
    operation_id = "setUserPassword",
    tag = "users",
    summary = "Set a user's password",
    security(("bearerAuth" = [])),
    description = "Revokes every other session of the user (`password_changed`).",
    params(UserPath),
    request_body = PasswordBody,
    responses(
        (status = 200, description = "Password set.", body = schemas::PasswordChanged),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
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
