//! Reading the audit logs: verify, query, export. Appending happens only
//! inside the use cases' write transactions.

use std::io::Write;

use serde::Serialize;

use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::Timestamp;
use crate::domain::audit::{ChainError, ChainVerifier};
use crate::store::{Ns, Reads, Space, StoreError};

#[derive(Debug, Serialize)]
pub struct AuditVerify {
    pub ok: bool,
    pub entries: u64,
    pub head_hash: String,
    /// The first bad entry, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_seq: Option<u64>,
}

fn verify_in(rx: &impl Reads, ns: Ns<'_>) -> Result<AuditVerify, StoreError> {
    let mut v = ChainVerifier::default();
    let mut failure: Option<ChainError> = None;
    rx.audit_scan(ns, 1..=u64::MAX, false, &mut |e| {
        let r = match e {
            Ok(e) => v.feed(&e),
            Err(seq) => Err(ChainError::Unreadable { seq }),
        };
        match r {
            Ok(()) => true,
            Err(err) => {
                failure = Some(err);
                false
            }
        }
    })?;
    let bad_seq = failure.as_ref().map(|f| match f {
        ChainError::HashMismatch { seq } | ChainError::Broken { seq, .. } | ChainError::Gap { seq } | ChainError::Unreadable { seq } => *seq,
    });
    Ok(AuditVerify {
        ok: failure.is_none(),
        entries: v.entries,
        head_hash: hex::encode(v.head_hash()),
        error: failure.map(|f| f.to_string()),
        bad_seq,
    })
}

impl Service {
    /// Recompute a namespace's whole hash chain, oldest first.
    pub async fn verify_audit(&self, space: &Space) -> Result<AuditVerify> {
        let space = space.clone();
        Ok(self.store.read(move |rx| verify_in(rx, space.ns())).await?)
    }

    /// NDJSON, oldest first, one entry in memory at a time.
    pub fn export_audit_blocking(&self, scope: &TenantScope, since: Option<Timestamp>, out: &mut dyn Write) -> Result<u64> {
        let mut n = 0u64;
        let mut io_err = None;
        self.store.read_blocking(|rx| {
            if rx.tenant(scope.tenant())?.is_none() {
                return Err(StoreError::NotFound);
            }
            rx.audit_scan(Ns::from(scope), 1..=u64::MAX, false, &mut |e| {
                let Ok(e) = e else { return true };
                if since.is_some_and(|s| e.at < s) {
                    return true;
                }
                let line = e.to_json().to_string();
                match writeln!(out, "{line}") {
                    Ok(()) => {
                        n += 1;
                        true
                    }
                    Err(err) => {
                        io_err = Some(err);
                        false
                    }
                }
            })
        })?;
        match io_err {
            Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Internal(e.to_string())),
            _ => Ok(n),
        }
    }
}
