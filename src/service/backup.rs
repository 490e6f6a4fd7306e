//! `sessiond backup`: a consistent copy of the database, taken live. An
//! operator act on the host (control socket or offline), never an HTTP route:
//! the copy holds every tenant's data and the signing keys.

use std::path::PathBuf;

use serde_json::json;

use super::users::Acting;
use super::{Error, Result, Service};
use crate::domain::AuditAction;
use crate::store::Ns;

/// A finished backup file; removed when dropped.
#[derive(Debug)]
pub struct BackupFile {
    pub path: PathBuf,
    pub rows: u64,
}

impl Drop for BackupFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Service {
    pub async fn backup(&self, by: Acting) -> Result<BackupFile> {
        let store = self.store.clone();
        let (path, rows) = tokio::task::spawn_blocking(move || store.backup())
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let file = BackupFile { path, rows };
        // Every log that the copy holds records that it left: the platform's
        // and each tenant's, in one commit, before a byte is handed out.
        let now = self.now();
        self.store
            .write(move |tx| {
                let ev = || {
                    by.event(AuditAction::BackupTaken)
                        .details(json!({ "rows": rows }))
                };
                tx.append_audit(Ns::Platform, now, ev())?;
                for t in tx.tenants()? {
                    let scope = crate::auth::TenantScope::system(t.slug);
                    tx.append_audit(Ns::from(&scope), now, ev())?;
                }
                Ok(())
            })
            .await?;
        Ok(file)
    }
}
