//! Health, readiness, JWKS, the OpenAPI document, and the JSON 405.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::openapi::schemas;
use super::state::AppState;
use crate::service::Error;

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "The process serves.", body = schemas::Health)),
)]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    summary = "Readiness",
    security(()),
    responses(
        (status = 200, description = "Database open, keys loaded (`ready`).", body = schemas::Readiness),
        (status = 503, description = "Not ready: `storage_unavailable` while writes cannot be committed \
(disk full, I/O error); `Retry-After` says when to look again.", body = schemas::Readiness,
            headers(("Retry-After" = u32, description = "Seconds to wait."))),
    ),
)]
pub async fn readyz(State(s): State<AppState>) -> Response {
    match s.svc.ready().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(why) => {
            let mut res = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": why })),
            )
                .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "getJwks",
    tags = ["ops", "auth"],
    summary = "Public signing keys (JWKS)",
    security(()),
    responses((status = 200, description = "The next (pre-published), current and retired Ed25519 keys.",
        body = schemas::Jwks, headers(("Cache-Control" = String, description = "`public, max-age=300`.")))),
)]
pub async fn jwks(State(s): State<AppState>) -> Response {
    let mut res = Json(s.svc.keys().jwks(s.svc.now())).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// The router answers a wrong method on a known path 405 with `Allow` and
/// no body; give it SPEC's JSON.
pub async fn json_method_not_allowed(res: Response) -> Response {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED
        || res.headers().contains_key(header::CONTENT_TYPE)
    {
        return res;
    }
    let allow = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Error::MethodNotAllowed { allow }.into_response()
}

/// Every request (reading its body included) gets `config.request_timeout`.
pub async fn request_timeout(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limit = s.svc.config().request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(timeout = ?limit, "request timed out");
            Error::RequestTimeout.into_response()
        }
    }
}

/// The OpenAPI 3.1 description, generated from the handlers' annotations
/// (`super::openapi`) and serialized once.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "ops",
    summary = "This OpenAPI description",
    description = "Generated from the server's code; rendered for people at `/api-docs`.",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document.", content_type = "application/json", body = Object)),
)]
pub async fn openapi() -> Response {
    let mut res = super::openapi::json().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
