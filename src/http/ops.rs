//! Health, readiness, JWKS, and the JSON 404.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::AppState;
use crate::service::Error;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(s): State<AppState>) -> Response {
    if s.svc.ready().await {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "starting" })),
        )
            .into_response()
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

pub async fn not_found() -> Error {
    Error::NotFound
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
