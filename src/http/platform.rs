//! SPEC §6: the platform side (global admins).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::{AppJson, GlobalAdmin};
use super::state::AppState;
use crate::service::tenants::NewTenant;
use crate::service::users::Acting;
use crate::service::{ClientMeta, Error};

pub async fn create_tenant(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
    AppJson(new): AppJson<NewTenant>,
) -> Result<impl IntoResponse, Error> {
    let by = Acting::principal(&p, meta);
    Ok((
        StatusCode::CREATED,
        Json(s.svc.create_tenant(by, new).await?),
    ))
}

pub async fn list_tenants(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
) -> Result<impl IntoResponse, Error> {
    Ok(Json(s.svc.list_tenants_for(Some(p.user_id)).await?))
}

/// Streams a consistent copy of the database; the temporary file goes when the stream ends.
pub async fn backup(
    State(s): State<AppState>,
    GlobalAdmin(p): GlobalAdmin,
    meta: ClientMeta,
) -> Result<Response, Error> {
    use tokio::io::AsyncReadExt;
    let file = s.svc.backup(Acting::principal(&p, meta)).await?;
    let f = tokio::fs::File::open(&file.path)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    let len = f.metadata().await.map(|m| m.len()).ok();
    let stream = futures_util::stream::unfold(Some((f, file)), |state| async move {
        let (mut f, file) = state?;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), Some((f, file))))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let name = format!(
        "attachment; filename=\"sessiond-backup-{}.redb\"",
        s.svc.now().unix_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(res)
}
