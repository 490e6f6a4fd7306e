//! The Shared Signals Framework 1.0 transmitter of each tenant (the
//! receiver is a service client, HTTP Basic): discovery, streams, status,
//! verification and RFC 8936 polling.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::basic_credentials;
use super::extract::{AppJson, AppQuery};
use super::openapi::responses::{
    Conflict, NotFound, PayloadTooLarge, RateLimited, Unauthorized, ValidationFailed,
};
use super::openapi::schemas::TenantPath;
use super::state::AppState;
use crate::service::Error;
use crate::service::ssf::{PollInput, Receiver, StatusInput, StreamInput, VerifyInput};

async fn receiver(s: &AppState, t: &str, headers: &HeaderMap) -> Result<Receiver, Error> {
    let (id, secret) = basic_credentials(headers).ok_or(Error::InvalidClient)?;
    s.svc.receiver(t, &id, secret).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// The stream; without it, reading lists every stream of the receiver.
    stream_id: Option<String>,
}

impl StreamQuery {
    fn required(&self) -> Result<&str, Error> {
        self.stream_id
            .as_deref()
            .ok_or_else(|| Error::field("stream_id", "required"))
    }
}

#[utoipa::path(
    get,
    path = "/.well-known/ssf-configuration/tenants/{t}",
    operation_id = "ssfConfiguration",
    tag = "ssf",
    summary = "SSF transmitter metadata of a tenant",
    description = "SSF 1.0 §7: the issuer is `{public URL}/tenants/{t}` (`--public-url`).",
    security(()),
    params(TenantPath),
    responses(
        (status = 200, description = "Transmitter configuration metadata.", body = serde_json::Value),
        (status = 404, response = NotFound),
    ),
)]
pub async fn configuration(
    State(s): State<AppState>,
    Path(t): Path<String>,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.ssf_configuration(&t).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/ssf/stream",
    operation_id = "ssfCreateStream",
    tag = "ssf",
    summary = "Create an SSF stream",
    description = "The calling service client becomes the stream's receiver (`aud`). Without \
`delivery`, events are polled (RFC 8936); with `{method: \"urn:ietf:rfc:8935\", endpoint_url}` \
they are pushed. The stream hears of events from its creation on.",
    security(("clientBasic" = [])),
    params(TenantPath),
    request_body = StreamInput,
    responses(
        (status = 201, description = "The stream configuration.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn create_stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppJson(b): AppJson<StreamInput>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok((StatusCode::CREATED, Json(s.svc.create_stream(&r, b).await?)))
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/ssf/stream",
    operation_id = "ssfReadStream",
    tag = "ssf",
    summary = "Read one SSF stream, or list the receiver's",
    security(("clientBasic" = [])),
    params(TenantPath, StreamQuery),
    responses(
        (status = 200, description = "The stream (or, without `stream_id`, an array of them).", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
pub async fn read_stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<StreamQuery>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok(Json(s.svc.read_streams(&r, q.stream_id.as_deref()).await?))
}

#[utoipa::path(
    patch,
    path = "/v1/tenants/{t}/ssf/stream",
    operation_id = "ssfUpdateStream",
    tag = "ssf",
    summary = "Update an SSF stream",
    description = "`stream_id` and the properties to change; `iss` and `aud`, if sent, must match.",
    security(("clientBasic" = [])),
    params(TenantPath),
    request_body = StreamInput,
    responses(
        (status = 200, description = "The whole updated configuration.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn update_stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppJson(b): AppJson<StreamInput>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok(Json(s.svc.update_stream(&r, b, false).await?))
}

#[utoipa::path(
    put,
    path = "/v1/tenants/{t}/ssf/stream",
    operation_id = "ssfReplaceStream",
    tag = "ssf",
    summary = "Replace an SSF stream's configuration",
    description = "As PATCH, but receiver-supplied properties left out return to their defaults.",
    security(("clientBasic" = [])),
    params(TenantPath),
    request_body = StreamInput,
    responses(
        (status = 200, description = "The whole new configuration.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn replace_stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppJson(b): AppJson<StreamInput>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok(Json(s.svc.update_stream(&r, b, true).await?))
}

#[utoipa::path(
    delete,
    path = "/v1/tenants/{t}/ssf/stream",
    operation_id = "ssfDeleteStream",
    tag = "ssf",
    summary = "Delete an SSF stream",
    security(("clientBasic" = [])),
    params(TenantPath, StreamQuery),
    responses(
        (status = 204, description = "Deleted; nothing more is sent."),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete_stream(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<StreamQuery>,
) -> Result<StatusCode, Error> {
    let r = receiver(&s, &t, &headers).await?;
    s.svc.delete_stream(&r, q.required()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/v1/tenants/{t}/ssf/status",
    operation_id = "ssfReadStatus",
    tag = "ssf",
    summary = "Read an SSF stream's status",
    security(("clientBasic" = [])),
    params(TenantPath, StreamQuery),
    responses(
        (status = 200, description = "`{stream_id, status, reason?}`.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    ),
)]
pub async fn read_status(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<StreamQuery>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok(Json(s.svc.stream_status(&r, q.required()?).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/ssf/status",
    operation_id = "ssfUpdateStatus",
    tag = "ssf",
    summary = "Enable, pause or disable an SSF stream",
    description = "Paused: events are held (up to the outbox's 7 days) and sent once enabled. \
Disabled: events are dropped.",
    security(("clientBasic" = [])),
    params(TenantPath),
    request_body = StatusInput,
    responses(
        (status = 200, description = "The new status.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn update_status(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppJson(b): AppJson<StatusInput>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    Ok(Json(s.svc.set_stream_status(&r, b).await?))
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/ssf/verify",
    operation_id = "ssfVerify",
    tag = "ssf",
    summary = "Ask for a verification event",
    description = "The verification SET (with `state`, if given) is pushed or waits for the next \
poll. At most one request per `min_verification_interval` (10 s): more answer 429.",
    security(("clientBasic" = [])),
    params(TenantPath),
    request_body = VerifyInput,
    responses(
        (status = 204, description = "Queued."),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 429, response = RateLimited),
    ),
)]
pub async fn verify(
    State(s): State<AppState>,
    Path(t): Path<String>,
    headers: HeaderMap,
    AppJson(b): AppJson<VerifyInput>,
) -> Result<StatusCode, Error> {
    let r = receiver(&s, &t, &headers).await?;
    s.svc.verify_stream(&r, b).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/tenants/{t}/ssf/poll/{stream_id}",
    operation_id = "ssfPoll",
    tag = "ssf",
    summary = "Poll an SSF stream (RFC 8936)",
    description = "`{maxEvents?, returnImmediately?, ack?: [jti], setErrs?: {jti: {err, \
description}}}` → `{sets: {jti: SET}, moreAvailable}`. Acknowledged SETs are not sent again; \
without `returnImmediately` the call waits up to 15 s for an event.",
    security(("clientBasic" = [])),
    params(("t" = String, Path, description = "Tenant slug."), ("stream_id" = String, Path, description = "The stream.")),
    request_body = PollInput,
    responses(
        (status = 200, description = "The pending SETs.", body = serde_json::Value),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    ),
)]
pub async fn poll(
    State(s): State<AppState>,
    Path((t, id)): Path<(String, String)>,
    headers: HeaderMap,
    AppJson(b): AppJson<PollInput>,
) -> Result<impl IntoResponse, Error> {
    let r = receiver(&s, &t, &headers).await?;
    let wait = s
        .svc
        .config()
        .request_timeout
        .saturating_sub(std::time::Duration::from_secs(5))
        .min(std::time::Duration::from_secs(15));
    Ok(Json(s.svc.poll_stream(&r, &id, b, wait).await?))
}
