//! Online backup: copy every table from one read snapshot into a new database
//! file. The copy is consistent (MVCC snapshot) and taken without stopping writers.

use std::path::Path;

use redb::{Database, Key, ReadableTable, TableDefinition, Value, WriteTransaction};

use super::tables::{CLIENT_TENANT, GRANTS, Kind, META, Ns, TENANTS, table_name};
use super::{Store, StoreError, decode};
use crate::auth::TenantScope;
use crate::domain::TenantRecord;

fn copy<K: Key + 'static, V: Value + 'static>(
    src: &redb::ReadTransaction,
    dst: &WriteTransaction,
    def: TableDefinition<'_, K, V>,
) -> Result<u64, StoreError> {
    let from = match src.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut to = dst.open_table(def)?;
    let mut n = 0;
    for row in from.iter()? {
        let (k, v) = row?;
        to.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

fn copy_namespace(
    src: &redb::ReadTransaction,
    dst: &WriteTransaction,
    ns: Ns<'_>,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for kind in Kind::ALL {
        let name = table_name(ns, kind);
        n += match kind {
            Kind::Users | Kind::Sessions | Kind::Clients => {
                copy(src, dst, TableDefinition::<u128, &[u8]>::new(&name))?
            }
            Kind::UsersByEmail => copy(src, dst, TableDefinition::<&str, u128>::new(&name))?,
            Kind::SessionsByUser => {
                copy(src, dst, TableDefinition::<(u128, u128), ()>::new(&name))?
            }
            Kind::SessionsByActivity => {
                copy(src, dst, TableDefinition::<(u8, i64, u128), ()>::new(&name))?
            }
            Kind::Refresh => copy(src, dst, TableDefinition::<&[u8; 32], &[u8]>::new(&name))?,
            Kind::RefreshBySession => copy(
                src,
                dst,
                TableDefinition::<(u128, &[u8; 32]), ()>::new(&name),
            )?,
            Kind::Audit => copy(src, dst, TableDefinition::<u64, &[u8]>::new(&name))?,
        };
    }
    Ok(n)
}

impl Store {
    /// Write a consistent copy of the database to `dest` (must not exist).
    /// Returns the number of rows copied.
    pub fn backup_to(&self, dest: &Path) -> Result<u64, StoreError> {
        let snapshot = self.begin_read()?;
        let out = Database::builder().create(dest)?;
        let txn = out.begin_write()?;
        let mut n = 0;
        n += copy(&snapshot, &txn, META)?;
        n += copy(&snapshot, &txn, CLIENT_TENANT)?;
        n += copy(&snapshot, &txn, GRANTS)?;
        n += copy(&snapshot, &txn, TENANTS)?;
        n += copy_namespace(&snapshot, &txn, Ns::Platform)?;
        let tenants: Vec<TenantRecord> = match snapshot.open_table(TENANTS) {
            Ok(t) => t
                .iter()?
                .map(|r| decode(r?.1.value()))
                .collect::<Result<_, _>>()?,
            Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for t in tenants {
            let scope = TenantScope::system(t.slug);
            n += copy_namespace(&snapshot, &txn, Ns::from(&scope))?;
        }
        txn.commit()?;
        Ok(n)
    }
}
