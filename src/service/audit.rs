//! Reading the audit logs: verify, query, export. Appending happens only
//! inside the use cases' write transactions.

use crate::domain::query::List;
use std::io::Write;

use serde::Serialize;

use super::{Error, Result, Service};
use crate::auth::TenantScope;
use crate::domain::audit::{ChainError, ChainVerifier};
use crate::domain::{AuditEntry, SessionId, Timestamp, UserId};
use crate::store::{Ns, Reads, Space, StoreError};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditVerify {
    pub ok: bool,
    pub entries: u64,
    /// hash of the newest entry (hex).
    pub head_hash: String,
    /// The first bad entry, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub bad_seq: Option<u64>,
}

/// A tenant's log exists only while the tenant does: `NotFound` otherwise.
fn known(rx: &(impl Reads + ?Sized), space: &Space) -> Result<(), StoreError> {
    match space {
        Space::Tenant(s) if rx.tenant(s.tenant())?.is_none() => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

fn verify_in(rx: &(impl Reads + ?Sized), ns: Ns<'_>) -> Result<AuditVerify, StoreError> {
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
        ChainError::HashMismatch { seq }
        | ChainError::Broken { seq, .. }
        | ChainError::Gap { seq }
        | ChainError::Unreadable { seq } => *seq,
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
        Ok(self
            .store
            .read(move |rx| {
                known(rx, &space)?;
                verify_in(rx, space.ns())
            })
            .await?)
    }

    /// Entries matching `f`, oldest first, one in memory at a time, as
    /// NDJSON or CSV.
    pub fn export_audit_blocking(
        &self,
        scope: &TenantScope,
        f: &AuditFilter,
        format: ExportFormat,
        out: &mut (dyn Write + Send),
    ) -> Result<u64> {
        let mut n = 0u64;
        let mut io_err = None;
        if format == ExportFormat::Csv
            && let Err(e) = writeln!(out, "{CSV_HEADER}")
        {
            return Err(Error::Internal(e.to_string()));
        }
        self.store.read_blocking(|rx| {
            if rx.tenant(scope.tenant())?.is_none() {
                return Err(StoreError::NotFound);
            }
            rx.audit_scan(Ns::from(scope), 1..=u64::MAX, false, &mut |e| {
                let Ok(e) = e else { return true };
                // Oldest first: past `until`, nothing further matches.
                if f.until.is_some_and(|u| e.at >= u) {
                    return false;
                }
                if !f.matches(&e) {
                    return true;
                }
                let line = match format {
                    ExportFormat::Ndjson => e.to_json().to_string(),
                    ExportFormat::Csv => csv_row(&e),
                };
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
            Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::Internal(e.to_string()))
            }
            _ => Ok(n),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    #[default]
    Ndjson,
    Csv,
}

const CSV_HEADER: &str = "seq,at,actor_kind,actor_id,actor_email,action,target,reason,ip,grant_id,details,prev_hash,hash";

/// One RFC 4180 row; a field that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`) is prefixed with `'`.
fn csv_row(e: &AuditEntry) -> String {
    fn field(v: &str) -> String {
        let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{v}")
        } else {
            v.to_owned()
        };
        if v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v
        }
    }
    let opt = |v: &Option<String>| v.as_deref().map(field).unwrap_or_default();
    let kind = serde_json::to_value(e.actor.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    [
        e.seq.to_string(),
        e.at.to_rfc3339(),
        kind,
        e.actor.id.map(|i| i.to_string()).unwrap_or_default(),
        opt(&e.actor.email),
        field(&e.action),
        opt(&e.target),
        opt(&e.reason),
        opt(&e.ip),
        e.grant_id.map(|g| g.to_string()).unwrap_or_default(),
        field(&e.details),
        hex::encode(e.prev_hash),
        hex::encode(e.hash),
    ]
    .join(",")
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor_id: Option<crate::domain::UserId>,
    /// Entries about this user: its target, one of its sessions, or named in the details.
    pub target_user_id: Option<UserId>,
    /// Entries about this session: its target, or listed in the details.
    pub session_id: Option<SessionId>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Entries with `seq` below this (the cursor).
    pub before_seq: Option<u64>,
    pub limit: usize,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.action.as_deref().is_none_or(|a| e.action == a)
            && self.actor_id.is_none_or(|id| e.actor.id == Some(id))
            && self.since.is_none_or(|s| e.at >= s)
            && self.until.is_none_or(|u| e.at < u)
            && (self.target_user_id.is_none() && self.session_id.is_none() || self.about(e))
    }

    /// The target filters; the details are parsed only when one is set.
    fn about(&self, e: &AuditEntry) -> bool {
        let details: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
        let names = |key: &str, id: &str| {
            details.get(key).and_then(|v| v.as_str()) == Some(id)
                || details
                    .get(format!("{key}s"))
                    .and_then(|v| v.as_array())
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(id)))
        };
        let target = e.target.as_deref();
        self.target_user_id.is_none_or(|u| {
            let u = u.to_string();
            target == Some(&u)
                || names("user_id", &u)
                // Entries from before details named the user: one's own login or logout.
                || (matches!(e.action.as_str(), "login" | "logout")
                    && e.actor.id.is_some_and(|a| a.to_string() == u))
        }) && self.session_id.is_none_or(|s| {
            let s = s.to_string();
            target == Some(&s) || names("session_id", &s)
        })
    }
}

impl Service {
    /// Entries newest first, filtered, one page.
    pub async fn query_audit(
        &self,
        space: &Space,
        f: AuditFilter,
    ) -> Result<super::users::Page<serde_json::Value>> {
        let space = space.clone();
        let (items, more) = self
            .store
            .read(move |rx| {
                known(rx, &space)?;
                let upper = f.before_seq.map_or(u64::MAX, |b| b.saturating_sub(1));
                let mut items = Vec::new();
                let mut more = false;
                rx.audit_scan(space.ns(), 1..=upper, true, &mut |e| {
                    let Ok(e) = e else { return true };
                    // Newest first: once older than `since`, nothing further matches.
                    if f.since.is_some_and(|s| e.at < s) {
                        return false;
                    }
                    if !f.matches(&e) {
                        return true;
                    }
                    if items.len() == f.limit {
                        more = true;
                        return false;
                    }
                    items.push(e);
                    true
                })?;
                Ok((items, more))
            })
            .await?;
        let next_cursor = if more {
            items.last().map(|e| List::Audit.cursor(e.seq))
        } else {
            None
        };
        Ok(super::users::Page {
            items: items.iter().map(|e| e.to_json()).collect(),
            next_cursor,
        })
    }

    /// NDJSON lines, oldest first, produced on a blocking thread into a bounded
    /// channel: the whole log is never in memory.
    pub fn stream_audit(
        self: &std::sync::Arc<Self>,
        scope: &TenantScope,
        f: AuditFilter,
        format: ExportFormat,
    ) -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let svc = self.clone();
        let scope = scope.clone();
        tokio::task::spawn_blocking(move || {
            struct ChannelWriter(tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>, Vec<u8>);
            impl Write for ChannelWriter {
                fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                    self.1.extend_from_slice(buf);
                    if self.1.len() >= 32 * 1024 {
                        self.flush()?;
                    }
                    Ok(buf.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    if self.1.is_empty() {
                        return Ok(());
                    }
                    let chunk = std::mem::take(&mut self.1);
                    self.0
                        .blocking_send(Ok(chunk))
                        .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
                }
            }
            let mut w = ChannelWriter(tx.clone(), Vec::new());
            let result = svc
                .export_audit_blocking(&scope, &f, format, &mut w)
                .and_then(|_| w.flush().map_err(|e| Error::Internal(e.to_string())));
            if let Err(e) = result {
                tracing::warn!(error = %e, "audit export stopped");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            }
        });
        rx
    }
}
