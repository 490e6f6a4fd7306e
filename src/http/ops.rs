//! Health, readiness, JWKS, and the JSON 404.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::AppState;
use crate::service::Error;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

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

pub async fn jwks(State(s): State<AppState>) -> Response {
    let mut res = Json(s.svc.keys().jwks().clone()).into_response();
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

/// The OpenAPI 3.1 description, embedded at build time.
const OPENAPI: &str = include_str!("openapi.json");

pub async fn openapi() -> Response {
    let mut res = OPENAPI.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
