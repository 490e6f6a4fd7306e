//! `sessiond backup`: a consistent copy of the database, taken live. An
//! operator act on the host (control socket or offline), never an HTTP route:
//! the copy holds every tenant's data and the signing keys.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
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
        let Some(file) = self.store.file() else {
            return Err(Error::Conflict(
                "a PostgreSQL store is backed up with pg_dump (README, Running several nodes)"
                    .into(),
            ));
        };
        let dir = file.parent().map(PathBuf::from).unwrap_or_default();
        let path = dir.join(format!(".backup-{}.redb", uuid::Uuid::now_v7()));
        // The copy holds the signing keys: owner-only from the first byte.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", path.display())))?;
        let store = self.store.clone();
        let p = path.clone();
        let rows = tokio::task::spawn_blocking(move || store.backup_to(&p))
            .await
            .map_err(|e| Error::Internal(e.to_string()))
            .and_then(|r| r.map_err(Error::from));
        let file = BackupFile {
            path,
            rows: *rows.as_ref().unwrap_or(&0),
        };
        let rows = rows?;
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
