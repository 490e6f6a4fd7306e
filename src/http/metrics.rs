//! Prometheus metrics: request counts and latency by route and status, plus
//! the service's own counters (logins, refreshes, revocations by reason) and
//! an active-sessions gauge.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::state::AppState;
use crate::auth::secret::ct_eq;
use crate::service::Error;

/// The process-wide recorder (the `metrics` facade is global by design).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &buckets)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Install the recorder early so counters from start-up are kept.
pub fn init() {
    let _ = handle();
}

/// The route template that answered a request (a response extension; never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(pub String);

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let mut res = next.run(req).await;
    // Which route answered, for tests checking the router against /openapi.json.
    if route != "unmatched" {
        res.extensions_mut().insert(RouteTemplate(route.clone()));
    }
    let status = res.status().as_u16().to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::counter!("sessiond_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("sessiond_http_request_duration_seconds", "route" => route, "method" => method, "status" => status)
        .record(secs);
    res
}

/// `GET /metrics` on the API port: 404 when metrics have their own
/// listener; behind the bearer token when one is configured.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    summary = "Prometheus metrics",
    security((), ("bearerAuth" = [])),
    description = "Open by default, naming no tenant (`--metrics-tenant-labels` adds per-tenant gauges). \
With `--metrics-token` it needs `Authorization: Bearer <token>`; with `--metrics-listen` it is served \
only on that address and this port answers 404.",
    responses(
        (status = 200, description = "Prometheus text exposition: request counts and latency \
histograms by route and status, logins, refreshes, revocations by reason, active sessions.",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 401, response = super::openapi::responses::Unauthorized),
        (status = 404, response = super::openapi::responses::NotFound),
    ),
)]
pub async fn render_guarded(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let access = &s.svc.config().metrics;
    if access.separate {
        return Err(Error::NotFound);
    }
    if let Some(want) = &access.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Error::TokenMissing)?;
        if !ct_eq(given.trim().as_bytes(), want.expose().as_bytes()) {
            return Err(Error::TokenInvalid);
        }
    }
    Ok(render(State(s)).await)
}

/// The `--metrics-listen` server: `/metrics` only, no token.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}

pub async fn render(State(s): State<AppState>) -> Response {
    match s.svc.active_sessions_cached().await {
        Ok(counts) if s.svc.config().metrics.tenant_labels => {
            for (tenant, n) in counts {
                metrics::gauge!("sessiond_active_sessions", "tenant" => tenant).set(n as f64);
            }
        }
        Ok(counts) => {
            let total: u64 = counts.iter().map(|(_, n)| n).sum();
            metrics::gauge!("sessiond_active_sessions").set(total as f64);
        }
        Err(e) => tracing::warn!(error = %e, "cannot count active sessions"),
    }
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}
