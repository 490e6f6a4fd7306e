//! `sessiond check`: redb's own page check (offline only), every record
//! decodes, every audit chain verifies. A panic inside the storage engine
//! is reported as a corrupt database, never as a stack trace.

use std::path::Path;

use redb::{Database, Key, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, Value};

use super::records::decode;
use super::tables::{EachTable, Record, each_table};
use super::{DB_FILE, StoreError};
use crate::domain::audit::ChainVerifier;
use crate::domain::session::{RefreshRecord, SessionRecord};
use crate::domain::{AuditEntry, ClientRecord, GrantRecord, TenantRecord, UserRecord};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub tables: u64,
    pub records: u64,
    pub audit_entries: u64,
    /// Offline only: redb verified every page's checksum.
    pub pages_checked: bool,
    /// The newest audit entry in any log: when the file last recorded a change.
    pub last_change: Option<crate::domain::Timestamp>,
}

/// Reads every row of each table it is shown, decoding records.
struct Walk {
    report: CheckReport,
}

fn decodes(record: Record, bytes: &[u8]) -> Result<Option<AuditEntry>, StoreError> {
    match record {
        Record::None => {}
        Record::Tenant => _ = decode::<TenantRecord>(bytes)?,
        Record::Grant => _ = decode::<GrantRecord>(bytes)?,
        Record::User => _ = decode::<UserRecord>(bytes)?,
        Record::Session => _ = decode::<SessionRecord>(bytes)?,
        Record::Refresh => _ = decode::<RefreshRecord>(bytes)?,
        Record::Client => _ = decode::<ClientRecord>(bytes)?,
        Record::Audit => return Ok(Some(decode::<AuditEntry>(bytes)?)),
        Record::Event => _ = decode::<crate::domain::OutboxEvent>(bytes)?,
        Record::Webhook => _ = decode::<crate::domain::EndpointRecord>(bytes)?,
        Record::Delivery => _ = decode::<crate::domain::DeliveryRecord>(bytes)?,
    }
    Ok(None)
}

struct Snapshot<'a> {
    rx: &'a redb::ReadTransaction,
    walk: &'a mut Walk,
}

impl EachTable for Snapshot<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'_, K, V>,
        record: Record,
    ) -> Result<(), StoreError> {
        let name = def.name().to_owned();
        let t = match self.rx.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(named(&name, e.into())),
        };
        self.walk.report.tables += 1;
        let mut chain = ChainVerifier::default();
        for row in t.iter().map_err(|e| named(&name, e.into()))? {
            let (_, v) = row.map_err(|e| named(&name, e.into()))?;
            let value = v.value();
            let bytes = V::as_bytes(&value);
            let entry = decodes(record, bytes.as_ref()).map_err(|e| named(&name, e))?;
            if let Some(e) = entry {
                chain
                    .feed(&e)
                    .map_err(|c| StoreError::Corrupt(format!("audit chain {name}: {c}")))?;
                self.walk.report.audit_entries += 1;
                let last = &mut self.walk.report.last_change;
                *last = (*last).max(Some(e.at));
            }
            self.walk.report.records += 1;
        }
        Ok(())
    }
}

fn named(table: &str, e: StoreError) -> StoreError {
    StoreError::Corrupt(format!("table {table}: {e}"))
}

/// Every record of a snapshot decodes and every chain verifies (online or offline).
pub(crate) fn check_snapshot(rx: &redb::ReadTransaction) -> Result<CheckReport, StoreError> {
    let meta = rx
        .open_table(super::tables::META)
        .map_err(|e| StoreError::Corrupt(format!("no meta table: {e}")))?;
    let version = meta
        .get("schema_version")?
        .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
        .map(u32::from_le_bytes);
    // An older file is fine: it is migrated when it is next opened.
    if !version
        .is_some_and(|v| (super::migrate::OLDEST_SUPPORTED..=super::SCHEMA_VERSION).contains(&v))
    {
        return Err(StoreError::Corrupt(format!(
            "not a sessiond database this version can open (schema_version {version:?}, supported {}–{})",
            super::migrate::OLDEST_SUPPORTED,
            super::SCHEMA_VERSION
        )));
    }
    if let Some(ring) = meta.get(super::tables::KEYRING_META)? {
        decode::<crate::auth::keyring::KeyRing>(ring.value())
            .map_err(|e| StoreError::Corrupt(format!("meta signing_keyring: {e}")))?;
    }
    let mut walk = Walk {
        report: CheckReport::default(),
    };
    each_table(
        rx,
        &mut Snapshot {
            rx,
            walk: &mut walk,
        },
    )?;
    Ok(walk.report)
}

/// The full check of a stopped database in `dir`; `Err` names the first problem.
pub fn check_offline(dir: &Path) -> Result<CheckReport, String> {
    check_file(&dir.join(DB_FILE))
}

/// [`check_offline`] of one file.
pub fn check_file(path: &Path) -> Result<CheckReport, String> {
    let path = path.to_owned();
    if !path.exists() {
        return Err(format!("no database at {}", path.display()));
    }
    let shown = path.display().to_string();
    let outcome = crate::telemetry::quietly(|| -> Result<CheckReport, String> {
        let mut db = Database::builder().open(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                format!("{shown} is in use by another process")
            }
            e => format!("{shown} cannot be opened: {e}"),
        })?;
        match db.check_integrity() {
            Ok(_) => {}
            Err(e) => return Err(format!("{shown} is corrupt: {e}")),
        }
        let rx = db.begin_read().map_err(|e| e.to_string())?;
        let mut report = check_snapshot(&rx).map_err(|e| format!("{shown}: {e}"))?;
        report.pages_checked = true;
        Ok(report)
    });
    outcome.unwrap_or_else(|why| {
        Err(format!(
            "{shown} is corrupt (the storage engine failed: {why})"
        ))
    })
}

impl super::Store {
    /// The record and chain check on a live snapshot (the page check needs
    /// the file to itself: `sessiond check` on a stopped server, and start-up).
    pub fn check_online(&self) -> Result<CheckReport, StoreError> {
        crate::telemetry::quietly(|| {
            let rx = self.begin_read()?;
            check_snapshot(&rx)
        })
        .unwrap_or_else(|why| {
            Err(StoreError::Corrupt(format!(
                "the storage engine failed: {why}"
            )))
        })
    }
}
