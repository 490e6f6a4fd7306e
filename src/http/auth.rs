//! SPEC §4: authentication endpoints.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{AppForm, AppJson, Auth};
use super::openapi::responses::{
    PayloadTooLarge, RateLimited, SessionLimit, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::Introspection;
use super::state::AppState;
use crate::auth::{Realm, Secret};
use crate::domain::{Role, SessionId, UserId};
use crate::service::auth::Me;
use crate::service::sessions::TokenPair;
use crate::service::{ClientMeta, Error};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LoginRequest)]
pub struct LoginBody {
    /// Tenant slug.
    pub(super) tenant: String,
    pub(super) email: String,
    #[schema(value_type = String, format = Password)]
    pub(super) password: Secret,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PlatformLoginRequest)]
pub struct PlatformLoginBody {
    pub(super) email: String,
    #[schema(value_type = String, format = Password)]
    pub(super) password: Secret,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RefreshRequest)]
pub struct RefreshBody {
    /// `rt1.` + tenant (or `_platform`) + `.` + 256 random bits, base64url.
    #[schema(value_type = String)]
    refresh_token: Secret,
}

/// RFC 7662 / RFC 7009 form; other fields (`token_type_hint`) are accepted and ignored.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    /// Access or refresh token (required; missing → 400).
    #[schema(required = true, nullable = false)]
    token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    summary = "Sign in to a tenant",
    description = "Records IP and User-Agent on the session. Unknown tenant, unknown user, wrong \
password and disabled user all answer 401 `invalid_credentials`. Past the policy's \
`max_sessions_per_user`, the least recently active session ends (`session_limit`) or the login \
answers 409 `session_limit_reached`, as the policy's `session_limit_action` says.",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "A new session and its token pair.", body = TokenPair,
            headers(("Cache-Control" = String, description = "`no-store`: the answer carries tokens."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 409, response = SessionLimit),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn login(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<LoginBody>,
) -> Result<impl IntoResponse, Error> {
    let pair = s.svc.login(&b.tenant, &b.email, b.password, meta).await?;
    Ok(Json(pair))
}

#[utoipa::path(
    post,
    path = "/v1/platform/auth/login",
    operation_id = "platformLogin",
    tags = ["auth", "platform"],
    summary = "Sign in as a global admin",
    description = "401 `invalid_credentials` on any failure.",
    security(()),
    request_body = PlatformLoginBody,
    responses(
        (status = 200, description = "A platform session (`tid` = `_platform`).", body = TokenPair,
            headers(("Cache-Control" = String, description = "`no-store`: the answer carries tokens."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn platform_login(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<PlatformLoginBody>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(
        s.svc.platform_login(&b.email, b.password, meta).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    operation_id = "refresh",
    tag = "auth",
    summary = "Rotate a refresh token",
    description = "401 codes: `refresh_token_invalid` (unknown/malformed), `refresh_token_reused` \
(a rotated token replayed: the whole chain is revoked), `session_revoked`, `session_expired`. Of \
concurrent refreshes with the same token exactly one succeeds.",
    security(()),
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is spent.",
            body = TokenPair, headers(("Cache-Control" = String, description = "`no-store`: the answer carries tokens."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn refresh(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<RefreshBody>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.refresh(b.refresh_token, meta).await?))
}

#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    summary = "Sign out (revoke the caller's session)",
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Signed out; the session is revoked (`user_logout`)."),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn logout(
    State(s): State<AppState>,
    Auth(p): Auth,
    meta: ClientMeta,
) -> Result<StatusCode, Error> {
    s.svc.logout(&p, meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/auth/me",
    operation_id = "getMe",
    tag = "auth",
    summary = "The caller's identity",
    description = "The reference protected resource: runs the full SPEC §4 check.",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The authenticated user and session.", body = Me),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn me(State(s): State<AppState>, Auth(p): Auth) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.me(&p).await?))
}

/// Forward-auth (nginx `auth_request`, Traefik, Caddy): 200 with identity headers.
#[utoipa::path(
    get,
    path = "/v1/auth/verify",
    operation_id = "verifyForwardAuth",
    tag = "auth",
    summary = "Forward-auth check",
    description = "For nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`.",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Authenticated; identity in headers, empty body.", headers(
            ("X-Session-User" = UserId, description = "User id."),
            ("X-Session-Tenant" = String, description = "Tenant slug, or `_platform`."),
            ("X-Session-Id" = SessionId, description = "Session id."),
            ("X-Session-Role" = Role, description = "Role."),
        )),
        (status = 401, response = Unauthorized),
    ),
)]
pub async fn verify(Auth(p): Auth) -> Result<impl IntoResponse, Error> {
    let tenant = match &p.realm {
        Realm::Tenant(t) => t.to_string(),
        Realm::Platform => crate::auth::token::PLATFORM_TID.to_owned(),
    };
    let mut h = HeaderMap::new();
    for (name, value) in [
        ("x-session-user", p.user_id.to_string()),
        ("x-session-tenant", tenant),
        ("x-session-id", p.session_id.to_string()),
        ("x-session-role", p.role.as_str().to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok((StatusCode::OK, h))
}

pub(super) fn basic_credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some((id.to_owned(), Secret::new(secret)))
}

/// RFC 7662, for a tenant's service clients.
#[utoipa::path(
    post,
    path = "/v1/oauth/introspect",
    operation_id = "introspectToken",
    tag = "oauth",
    summary = "Token introspection (RFC 7662)",
    description = "The caller authenticates with HTTP Basic as a service client \
(client_id:client_secret) of a tenant; a bad or missing client answers 401 `invalid_client`.",
    security(("clientBasic" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`{active:false}` for unknown, expired, revoked or another \
tenant's tokens.", body = Introspection),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    AppForm(f): AppForm<TokenForm>,
) -> Result<impl IntoResponse, Error> {
    let (id, secret) = basic_credentials(&headers).ok_or(Error::InvalidClient)?;
    let token = f.token.ok_or_else(|| Error::field("token", "required"))?;
    Ok(Json(s.svc.introspect(&id, secret, &token).await?))
}

/// RFC 7009: always 200.
#[utoipa::path(
    post,
    path = "/v1/oauth/revoke",
    operation_id = "revokeToken",
    tag = "oauth",
    summary = "Token revocation (RFC 7009)",
    description = "Accepts an access token (even expired) or a refresh token.",
    security(()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Always, once `token` is given: the token's session (if \
any) is revoked (`user_logout`). Empty body."),
        (status = 400, response = ValidationFailed),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn oauth_revoke(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppForm(f): AppForm<TokenForm>,
) -> Result<StatusCode, Error> {
    let token = f.token.ok_or_else(|| Error::field("token", "required"))?;
    s.svc.oauth_revoke(&token, meta).await?;
    Ok(StatusCode::OK)
}
