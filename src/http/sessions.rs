//! SPEC §5: a tenant's sessions — list, show, revoke (one, bulk, a user's).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::extract::{AppJson, AppQuery, OptionalJson, Paging, TenantAdmin, session_id, user_id};
use super::state::AppState;
use crate::service::revoke::{BulkOutcome, BulkRevoke};
use crate::service::session_list::{Cursor, SessionQuery, Sort, StatusFilter};
use crate::service::users::Acting;
use crate::service::{ClientMeta, Error};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    user_id: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

impl ListQuery {
    fn parse(self) -> Result<SessionQuery, Error> {
        let status = match self.status.as_deref() {
            None | Some("active") => StatusFilter::Active,
            Some("revoked") => StatusFilter::Revoked,
            Some("all") => StatusFilter::All,
            Some(_) => return Err(Error::field("status", "must be active, revoked or all")),
        };
        let sort = match self.sort.as_deref() {
            None | Some("last_activity_desc") => Sort::LastActivityDesc,
            Some("created_desc") => Sort::CreatedDesc,
            Some(_) => {
                return Err(Error::field(
                    "sort",
                    "must be last_activity_desc or created_desc",
                ));
            }
        };
        let q = self.q.filter(|q| !q.trim().is_empty());
        if q.as_ref().is_some_and(|q| q.len() > 200) {
            return Err(Error::field("q", "must be at most 200 characters"));
        }
        Ok(SessionQuery {
            status,
            user_id: self.user_id.as_deref().map(user_id).transpose()?,
            q,
            sort,
            cursor: self
                .paging
                .cursor
                .as_deref()
                .map(|c| Cursor::decode(c, sort))
                .transpose()?,
            limit: self.paging.limit()?,
        })
    }
}

pub async fn list(
    State(s): State<AppState>,
    admin: TenantAdmin,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<impl IntoResponse, Error> {
    let q = q.parse()?;
    Ok(Json(
        s.svc
            .list_sessions(&admin.scope, q, Some(admin.principal.session_id))
            .await?,
    ))
}

pub async fn show(
    State(s): State<AppState>,
    admin: TenantAdmin,
    Path((_, sid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let sid = session_id(&sid)?;
    Ok(Json(
        s.svc
            .get_session(&admin.scope, sid, Some(admin.principal.session_id))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: Option<String>,
}

pub async fn revoke_one(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, sid)): Path<(String, String)>,
    OptionalJson(b): OptionalJson<ReasonBody>,
) -> Result<impl IntoResponse, Error> {
    let sid = session_id(&sid)?;
    let by = Acting::principal(&admin.principal, meta);
    let n = s
        .svc
        .revoke_session(&admin.scope, by, sid, b.reason)
        .await?;
    Ok(Json(json!({ "revoked": n })))
}

pub async fn revoke_bulk(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    AppJson(req): AppJson<BulkRevoke>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&admin.principal, meta);
    let current = Some(admin.principal.session_id);
    Ok(Json(
        match s.svc.bulk_revoke(&admin.scope, by, current, req).await? {
            BulkOutcome::Revoked(n) => json!({ "revoked": n }),
            BulkOutcome::WouldRevoke(n) => json!({ "would_revoke": n }),
        },
    ))
}

pub async fn revoke_user(
    State(s): State<AppState>,
    admin: TenantAdmin,
    meta: ClientMeta,
    Path((_, uid)): Path<(String, String)>,
) -> Result<impl IntoResponse, Error> {
    let uid = user_id(&uid)?;
    let by = Acting::principal(&admin.principal, meta);
    Ok(Json(
        json!({ "revoked": s.svc.force_sign_out(&admin.scope, by, uid).await? }),
    ))
}
