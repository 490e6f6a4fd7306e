//! A user's own sessions ("your devices"), with their own access token.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::extract::{AppQuery, Auth, Paging, session_id};
use super::openapi::responses::{Forbidden, NotFound, Unauthorized, ValidationFailed};
use super::openapi::schemas::{self, RevokeCount};
use super::state::AppState;
use crate::domain::SessionId;
use crate::domain::query::{Cursor, Sort, StatusFilter};
use crate::service::session_list::SessionPage;
use crate::service::{ClientMeta, Error};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnQuery {
    /// Which sessions (default `active`).
    #[param(value_type = Option<schemas::StatusFilter>)]
    status: Option<String>,
    /// Documented as its own parameters (`Paging`).
    #[serde(flatten)]
    #[param(ignore)]
    paging: Paging,
}

/// `{sid}` of an own session.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OwnSessionPath {
    /// Session id.
    sid: SessionId,
}

#[utoipa::path(
    get,
    path = "/v1/auth/sessions",
    operation_id = "listOwnSessions",
    tag = "auth",
    summary = "The caller's own sessions",
    description = "The caller's devices, most recently active first, in the admin list's shape \
(`current: true` on the caller's own). Support sessions never appear; a support session itself \
answers 403.",
    security(("bearerAuth" = [])),
    params(OwnQuery, Paging),
    responses(
        (status = 200, description = "One page of the caller's sessions, and `total`.", body = SessionPage),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn list(
    State(s): State<AppState>,
    Auth(p): Auth,
    AppQuery(q): AppQuery<OwnQuery>,
) -> Result<impl IntoResponse, Error> {
    let status = match q.status.as_deref() {
        None | Some("active") => StatusFilter::Active,
        Some("revoked") => StatusFilter::Revoked,
        Some("all") => StatusFilter::All,
        Some(_) => return Err(Error::field("status", "must be active, revoked or all")),
    };
    let cursor = q
        .paging
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c, Sort::LastActivityDesc)
                .map_err(|_| Error::field("cursor", "malformed cursor"))
        })
        .transpose()?;
    let limit = q.paging.limit()?;
    Ok(Json(s.svc.own_sessions(&p, status, cursor, limit).await?))
}

#[utoipa::path(
    post,
    path = "/v1/auth/sessions/{sid}/revoke",
    operation_id = "revokeOwnSession",
    tag = "auth",
    summary = "End one of the caller's sessions",
    description = "Another device of the caller's (`user_revoked_other`), or the current one \
(`user_logout`). Anyone else's session, in any tenant, is 404.",
    security(("bearerAuth" = [])),
    params(OwnSessionPath),
    responses(
        (status = 200, description = "`{revoked: 1}`, or 0 if it had already ended.", body = RevokeCount),
        (status = 400, response = ValidationFailed),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
)]
pub async fn revoke(
    State(s): State<AppState>,
    Auth(p): Auth,
    meta: ClientMeta,
    Path(sid): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let sid = session_id(&sid)?;
    let n = s.svc.revoke_own(&p, sid, meta.ip).await?;
    Ok(Json(json!({ "revoked": n })))
}

#[utoipa::path(
    post,
    path = "/v1/auth/sessions/revoke-others",
    operation_id = "revokeOtherOwnSessions",
    tag = "auth",
    summary = "Sign out of every other device",
    description = "Ends every session of the caller but the current one (`user_revoked_other`); one audit entry lists them.",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "How many sessions ended.", body = RevokeCount),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
)]
pub async fn revoke_others(
    State(s): State<AppState>,
    Auth(p): Auth,
    meta: ClientMeta,
) -> Result<impl IntoResponse, Error> {
    let n = s.svc.revoke_others(&p, meta.ip).await?;
    Ok(Json(json!({ "revoked": n })))
}
