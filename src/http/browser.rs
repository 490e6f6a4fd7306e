//! Cookie-based session endpoints for the embedded admin UI.
//!
//! The browser never sees a refresh token: sign-in answers only the access
//! token and puts the refresh token in an `HttpOnly; Secure; SameSite=Strict`
//! `__Host-` cookie. Two cookie slots exist: `main` (the signed-in admin) and
//! `support` (a global admin's support session inside a tenant, adopted from
//! `POST /v1/platform/tenants/{t}/support-sessions`).
//!
//! CSRF: every endpoint here requires the header `X-Sessiond-Csrf: 1` (a
//! cross-site form cannot set it, and we answer no CORS preflight), refuses
//! `Sec-Fetch-Site: cross-site`, and, when an `Origin` header is present,
//! requires it to name the same host as `Host`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{LoginBody, PlatformLoginBody};
use super::extract::{AppJson, OptionalJson};
use super::openapi::responses::{
    Forbidden, PayloadTooLarge, RateLimited, SessionLimit, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::CsrfHeader;
use super::state::AppState;
use crate::auth::{Realm, Secret, TenantScope};
use crate::domain::SessionId;
use crate::service::sessions::TokenPair;
use crate::service::{ClientMeta, Error};

/// The custom header every cookie endpoint requires.
pub const CSRF_HEADER: &str = "x-sessiond-csrf";
const MAIN_COOKIE: &str = "__Host-sessiond_rt";
const SUPPORT_COOKIE: &str = "__Host-sessiond_support_rt";
/// Cookie lifetime when the session's policy cannot be read.
const FALLBACK_MAX_AGE: i64 = 7 * 86_400;

/// The cookie endpoints; each handler's `#[utoipa::path]` gives its path and
/// documentation (see `http::api`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(platform_login))
        .routes(routes!(refresh))
        .routes(routes!(adopt))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// The console's "who am I": `/v1/auth/me`, which names the tenant too.
#[utoipa::path(
    get,
    path = "/v1/browser/me",
    operation_id = "browserMe",
    tag = "browser",
    summary = "The signed-in console user",
    description = "The same answer as `GET /v1/auth/me`: user, tenant slug and display name, session.",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The authenticated user and session.", body = crate::service::auth::Me),
        (status = 401, response = super::openapi::responses::Unauthorized),
    ),
)]
async fn me(
    state: State<AppState>,
    auth: super::extract::Auth,
) -> Result<impl IntoResponse, crate::service::Error> {
    super::auth::me(state, auth).await
}

/// Which cookie: `main` (the signed-in admin) or `support` (a support session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    #[default]
    Main,
    Support,
}

impl Slot {
    fn cookie(self) -> &'static str {
        match self {
            Slot::Main => MAIN_COOKIE,
            Slot::Support => SUPPORT_COOKIE,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CookieSlot)]
pub struct SlotBody {
    /// Default `main`.
    #[serde(default)]
    slot: Slot,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdoptRequest)]
pub struct AdoptBody {
    #[schema(value_type = String)]
    refresh_token: Secret,
    /// Default `support`.
    #[serde(default = "support_slot")]
    slot: Slot,
}

fn support_slot() -> Slot {
    Slot::Support
}

/// What the browser gets: the token pair minus the refresh token, which
/// goes into an HttpOnly cookie.
#[derive(Serialize, ToSchema)]
#[schema(as = AccessToken)]
struct AccessOnly {
    #[schema(value_type = String)]
    access_token: Secret,
    /// Always `Bearer`.
    #[schema(value_type = String, pattern = "^Bearer$")]
    token_type: &'static str,
    expires_in: i64,
    session_id: SessionId,
}

/// The CSRF checks shared by every endpoint here.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), Error> {
    let marked = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1");
    if !marked {
        return Err(Error::Forbidden(
            "missing X-Sessiond-Csrf header (cross-site request refused)",
        ));
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if site.eq_ignore_ascii_case("cross-site") {
        return Err(Error::Forbidden("cross-site request refused"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(Error::Forbidden("cross-origin request refused"));
        }
    }
    Ok(())
}

fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn set_cookie(res: &mut Response, slot: Slot, value: &str, max_age: i64) {
    let c = format!(
        "{}={value}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={max_age}",
        slot.cookie()
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn clear_cookie(res: &mut Response, slot: Slot) {
    set_cookie(res, slot, "", 0);
}

/// How long the cookie should live: the session's absolute timeout.
async fn max_age(s: &AppState, access_token: &str) -> i64 {
    let Ok(p) = s.svc.authenticate(access_token).await else {
        return FALLBACK_MAX_AGE;
    };
    match &p.realm {
        Realm::Platform => s.svc.config().platform_policy.absolute_timeout_secs,
        Realm::Tenant(_) => match TenantScope::own(&p) {
            Some(scope) => s
                .svc
                .get_policy(&scope)
                .await
                .map_or(FALLBACK_MAX_AGE, |policy| policy.absolute_timeout_secs),
            None => FALLBACK_MAX_AGE,
        },
    }
}

/// Answer the access token and put the refresh token in `slot`'s cookie.
async fn issue(s: &AppState, pair: TokenPair, slot: Slot) -> Response {
    let age = max_age(s, pair.access_token.expose()).await;
    let refresh = pair.refresh_token;
    let mut res = Json(AccessOnly {
        access_token: pair.access_token,
        token_type: pair.token_type,
        expires_in: pair.expires_in,
        session_id: pair.session_id,
    })
    .into_response();
    set_cookie(&mut res, slot, refresh.expose(), age);
    res
}

/// `POST /v1/browser/login`: `{tenant, email, password}`.
#[utoipa::path(
    post,
    path = "/v1/browser/login",
    operation_id = "browserLogin",
    tag = "browser",
    summary = "Admin UI sign-in (cookie)",
    description = "Same as `/v1/auth/login`, but the browser never sees the refresh token. Requires `X-Sessiond-Csrf: 1` (else 403).",
    security(()),
    params(CsrfHeader),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Access token; the refresh token is set in the `main` cookie.", body = AccessOnly, headers(("Set-Cookie" = String, description = "`__Host-sessiond_rt` (slot main) or `__Host-sessiond_support_rt` (slot support) holding the refresh token: `HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=…` (Max-Age=0 clears it)."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = SessionLimit),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn login(
    State(s): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    AppJson(b): AppJson<LoginBody>,
) -> Result<Response, Error> {
    check_csrf(&headers)?;
    let pair = s.svc.login(&b.tenant, &b.email, b.password, meta).await?;
    Ok(issue(&s, pair, Slot::Main).await)
}

/// `POST /v1/browser/platform-login`: `{email, password}` for global admins.
#[utoipa::path(
    post,
    path = "/v1/browser/platform-login",
    operation_id = "browserPlatformLogin",
    tag = "browser",
    summary = "Admin UI global-admin sign-in (cookie)",
    description = "Same as `/v1/platform/auth/login`, cookie-based. Requires `X-Sessiond-Csrf: 1` (else 403).",
    security(()),
    params(CsrfHeader),
    request_body = PlatformLoginBody,
    responses(
        (status = 200, description = "Access token; the refresh token is set in the `main` cookie.", body = AccessOnly, headers(("Set-Cookie" = String, description = "`__Host-sessiond_rt` (slot main) or `__Host-sessiond_support_rt` (slot support) holding the refresh token: `HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=…` (Max-Age=0 clears it)."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn platform_login(
    State(s): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    AppJson(b): AppJson<PlatformLoginBody>,
) -> Result<Response, Error> {
    check_csrf(&headers)?;
    let pair = s.svc.platform_login(&b.email, b.password, meta).await?;
    Ok(issue(&s, pair, Slot::Main).await)
}

/// `POST /v1/browser/refresh` (optional body `{slot}`): rotate the cookie's
/// refresh token. On failure the cookie is cleared and the SPEC §3 error answered.
#[utoipa::path(
    post,
    path = "/v1/browser/refresh",
    operation_id = "browserRefresh",
    tag = "browser",
    summary = "Admin UI refresh (cookie)",
    description = "Rotates the refresh token held in the slot's cookie. On failure the cookie is cleared and the SPEC §3 error answered (401 `refresh_token_invalid` without a cookie). Requires `X-Sessiond-Csrf: 1` (else 403).",
    security(("refreshCookie" = []), ("supportRefreshCookie" = [])),
    params(CsrfHeader),
    request_body(content = Option<SlotBody>, description = "Optional; `slot` defaults to `main`."),
    responses(
        (status = 200, description = "New access token; the cookie holds the rotated refresh token.", body = AccessOnly, headers(("Set-Cookie" = String, description = "`__Host-sessiond_rt` (slot main) or `__Host-sessiond_support_rt` (slot support) holding the refresh token: `HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=…` (Max-Age=0 clears it)."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn refresh(
    State(s): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    OptionalJson(b): OptionalJson<SlotBody>,
) -> Result<Response, Error> {
    check_csrf(&headers)?;
    let Some(token) = cookie_value(&headers, b.slot.cookie()) else {
        return Err(Error::RefreshTokenInvalid);
    };
    match s.svc.refresh(Secret::new(token), meta).await {
        Ok(pair) => Ok(issue(&s, pair, b.slot).await),
        Err(e) => {
            let mut res = e.into_response();
            clear_cookie(&mut res, b.slot);
            Ok(res)
        }
    }
}

/// `POST /v1/browser/adopt` `{refresh_token, slot?}` (slot defaults to
/// `support`): exchange a refresh token the page just received (a support
/// session's) for a rotated one held in the cookie, so the token JavaScript
/// saw is already spent.
#[utoipa::path(
    post,
    path = "/v1/browser/adopt",
    operation_id = "browserAdopt",
    tag = "browser",
    summary = "Move a refresh token into a cookie",
    description = "Exchanges a refresh token the page just received (typically a support session's) for a rotated one kept in the slot's cookie (default `support`). Requires `X-Sessiond-Csrf: 1` (else 403).",
    security(()),
    params(CsrfHeader),
    request_body = AdoptBody,
    responses(
        (status = 200, description = "New access token; the cookie holds the rotated refresh token.", body = AccessOnly, headers(("Set-Cookie" = String, description = "`__Host-sessiond_rt` (slot main) or `__Host-sessiond_support_rt` (slot support) holding the refresh token: `HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=…` (Max-Age=0 clears it)."))),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn adopt(
    State(s): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    AppJson(b): AppJson<AdoptBody>,
) -> Result<Response, Error> {
    check_csrf(&headers)?;
    let pair = s.svc.refresh(b.refresh_token, meta).await?;
    Ok(issue(&s, pair, b.slot).await)
}

/// `POST /v1/browser/logout` (optional body `{slot}`): revoke the session
/// (by the bearer token if it still authenticates, else by the cookie's
/// refresh token) and clear the cookie. Always 204 once CSRF checks pass.
#[utoipa::path(
    post,
    path = "/v1/browser/logout",
    operation_id = "browserLogout",
    tag = "browser",
    summary = "Admin UI sign-out (cookie)",
    description = "Revokes the session (by the bearer token if it still authenticates, else by the cookie's refresh token) and clears the cookie. Always 204 once the CSRF checks pass and the body parses. Requires `X-Sessiond-Csrf: 1` (else 403).",
    security(("bearerAuth" = []), ("refreshCookie" = []), ("supportRefreshCookie" = []), ()),
    params(CsrfHeader),
    request_body(content = Option<SlotBody>, description = "Optional; `slot` defaults to `main`."),
    responses(
        (status = 204, description = "Signed out; the slot's cookie is cleared.", headers(("Set-Cookie" = String, description = "`__Host-sessiond_rt` (slot main) or `__Host-sessiond_support_rt` (slot support) holding the refresh token: `HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=…` (Max-Age=0 clears it)."))),
        (status = 400, response = ValidationFailed),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
    meta: ClientMeta,
    OptionalJson(b): OptionalJson<SlotBody>,
) -> Result<Response, Error> {
    check_csrf(&headers)?;
    let by_bearer = match bearer_of(&headers) {
        Some(token) => match s.svc.authenticate(token).await {
            Ok(p) => s.svc.logout(&p, meta.clone()).await.is_ok(),
            Err(_) => false,
        },
        None => false,
    };
    if !by_bearer
        && let Some(token) = cookie_value(&headers, b.slot.cookie())
        && let Err(e) = s.svc.oauth_revoke(&token, meta).await
    {
        tracing::warn!(error = %e, "browser logout: revoking by cookie failed");
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    clear_cookie(&mut res, b.slot);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn csrf_needs_the_header_and_a_same_origin() {
        assert!(check_csrf(&headers(&[])).is_err());
        assert!(check_csrf(&headers(&[(CSRF_HEADER, "1")])).is_ok());
        assert!(check_csrf(&headers(&[(CSRF_HEADER, "0")])).is_err());
        let same = [
            (CSRF_HEADER, "1"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert!(check_csrf(&headers(&same)).is_ok());
        let other = [
            (CSRF_HEADER, "1"),
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.test"),
        ];
        assert!(check_csrf(&headers(&other)).is_err());
        let null = [(CSRF_HEADER, "1"), ("host", "a:1"), ("origin", "null")];
        assert!(check_csrf(&headers(&null)).is_err());
        let cross = [(CSRF_HEADER, "1"), ("sec-fetch-site", "cross-site")];
        assert!(check_csrf(&headers(&cross)).is_err());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; __Host-sessiond_rt=rt1.x.y; b=2")]);
        assert_eq!(cookie_value(&h, MAIN_COOKIE).as_deref(), Some("rt1.x.y"));
        assert_eq!(cookie_value(&h, SUPPORT_COOKIE), None);
        let empty = headers(&[("cookie", "__Host-sessiond_rt=")]);
        assert_eq!(cookie_value(&empty, MAIN_COOKIE), None);
    }
}
