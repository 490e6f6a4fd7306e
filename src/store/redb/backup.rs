//! Online backup: copy every table from one read snapshot into a new database
//! file. The copy is consistent (MVCC snapshot) and taken without stopping writers.

use std::path::Path;

use redb::{Database, Key, ReadableTable, TableDefinition, Value, WriteTransaction};

use super::tables::{EachTable, Record, each_table};
use super::{Store, StoreError};

/// Copies each table it is shown from a snapshot into the new file.
struct Copy<'a> {
    src: &'a redb::ReadTransaction,
    dst: &'a WriteTransaction,
    rows: u64,
}

impl EachTable for Copy<'_> {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'_, K, V>,
        _: Record,
    ) -> Result<(), StoreError> {
        let from = match self.src.open_table(def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut to = self.dst.open_table(def)?;
        for row in from.iter()? {
            let (k, v) = row?;
            to.insert(k.value(), v.value())?;
            self.rows += 1;
        }
        Ok(())
    }
}

impl Store {
    /// Write a consistent copy of the database to `dest` (must not exist).
    /// Returns the number of rows copied.
    pub fn backup_to(&self, dest: &Path) -> Result<u64, StoreError> {
        copy_snapshot(&self.begin_read()?, dest)
    }
}

/// Copy every table of `snapshot` into a new database at `dest`; rows copied.
pub(super) fn copy_snapshot(
    snapshot: &redb::ReadTransaction,
    dest: &Path,
) -> Result<u64, StoreError> {
    let out = Database::builder().create(dest)?;
    let txn = out.begin_write()?;
    let mut copy = Copy {
        src: snapshot,
        dst: &txn,
        rows: 0,
    };
    each_table(snapshot, &mut copy)?;
    let n = copy.rows;
    txn.commit()?;
    Ok(n)
}
