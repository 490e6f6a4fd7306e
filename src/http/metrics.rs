//! Prometheus metrics: request counts and latency by route and status, plus
//! the service's own counters (logins, refreshes, revocations by reason) and
//! an active-sessions gauge.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::state::AppState;

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

pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let secs = started.elapsed().as_secs_f64();
    metrics::counter!("sessiond_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status.clone())
        .increment(1);
    metrics::histogram!("sessiond_http_request_duration_seconds", "route" => route, "method" => method, "status" => status)
        .record(secs);
    res
}

pub async fn render(State(s): State<AppState>) -> Response {
    match s.svc.active_sessions_cached().await {
        Ok(counts) => {
            for (tenant, n) in counts {
                metrics::gauge!("sessiond_active_sessions", "tenant" => tenant).set(n as f64);
            }
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
