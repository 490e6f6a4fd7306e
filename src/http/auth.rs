//! SPEC §4: authentication endpoints.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use serde::Deserialize;

use super::extract::{AppForm, AppJson, Auth};
use super::state::AppState;
use crate::auth::{Realm, Secret};
use crate::service::{ClientMeta, Error};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub(super) tenant: String,
    pub(super) email: String,
    pub(super) password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformLoginBody {
    pub(super) email: String,
    pub(super) password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: Secret,
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: Option<String>,
}

pub async fn login(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<LoginBody>,
) -> Result<impl IntoResponse, Error> {
    let pair = s.svc.login(&b.tenant, &b.email, b.password, meta).await?;
    Ok(Json(pair))
}

pub async fn platform_login(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<PlatformLoginBody>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(
        s.svc.platform_login(&b.email, b.password, meta).await?,
    ))
}

pub async fn refresh(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppJson(b): AppJson<RefreshBody>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.refresh(b.refresh_token, meta).await?))
}

pub async fn logout(
    State(s): State<AppState>,
    Auth(p): Auth,
    meta: ClientMeta,
) -> Result<StatusCode, Error> {
    s.svc.logout(&p, meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(State(s): State<AppState>, Auth(p): Auth) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.me(&p).await?))
}

/// Forward-auth (nginx `auth_request`, Traefik, Caddy): 200 with identity headers.
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

fn basic_credentials(headers: &HeaderMap) -> Option<(String, Secret)> {
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
pub async fn oauth_revoke(
    State(s): State<AppState>,
    meta: ClientMeta,
    AppForm(f): AppForm<TokenForm>,
) -> Result<StatusCode, Error> {
    let token = f.token.ok_or_else(|| Error::field("token", "required"))?;
    s.svc.oauth_revoke(&token, meta).await?;
    Ok(StatusCode::OK)
}
