//! The bench's bare-engine reference: plain redb with nothing of sessiond
//! in the way, measured in the same run as sessiond's figures.

use std::path::Path;
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

const ROWS: TableDefinition<u128, &[u8]> = TableDefinition::new("rows");
/// Like sessiond's activity index: (state, time, id).
const INDEX: TableDefinition<(u8, i64, u128), ()> = TableDefinition::new("index");
/// Append-only logs like sessiond's audit log and event outbox.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// About the size of an encoded session record.
const VALUE: [u8; 200] = [0x5a; 200];

/// How a bare commit is made durable.
#[derive(Clone, Copy)]
pub enum Commit {
    /// redb's default: one fsync.
    Default,
    /// What sessiond's writer does: two-phase commit and quick repair.
    AsSessiond,
}

/// A bare redb file with `rows` session-sized rows.
pub struct BareRedb {
    db: Database,
    keys: Vec<u128>,
    rng: u64,
    next: u128,
}

impl BareRedb {
    pub fn build(path: &Path, rows: usize) -> Result<Self, String> {
        let db = Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut me = Self {
            db,
            keys: Vec::with_capacity(rows),
            rng: 0x9E37_79B9_7F4A_7C15,
            next: 1 << 100,
        };
        let txn = me.db.begin_write().map_err(err)?;
        {
            let mut t = txn.open_table(ROWS).map_err(err)?;
            let mut idx = txn.open_table(INDEX).map_err(err)?;
            for _ in 0..rows {
                let k = me.fresh_key();
                t.insert(k, VALUE.as_slice()).map_err(err)?;
                idx.insert(index_key(0, k), ()).map_err(err)?;
                me.keys.push(k);
            }
        }
        txn.commit().map_err(err)?;
        Ok(me)
    }

    fn fresh_key(&mut self) -> u128 {
        // Increasing like a v7 id, with random low bits.
        self.next += 1 << 64;
        self.next | u128::from(self.random())
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn begin(&self, how: Commit) -> Result<WriteTransaction, String> {
        let mut txn = self.db.begin_write().map_err(err)?;
        if let Commit::AsSessiond = how {
            txn.set_two_phase_commit(true);
            txn.set_quick_repair(true);
        }
        Ok(txn)
    }

    /// One durable commit of one new row.
    pub fn commit_one(&mut self, how: Commit) -> Result<Duration, String> {
        let k = self.fresh_key();
        let t = Instant::now();
        let txn = self.begin(how)?;
        txn.open_table(ROWS)
            .map_err(err)?
            .insert(k, VALUE.as_slice())
            .map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(t.elapsed())
    }

    fn victims(&mut self, n: usize) -> Vec<u128> {
        (0..n.min(self.keys.len()))
            .map(|_| {
                let i = (self.random() % self.keys.len() as u64) as usize;
                self.keys.swap_remove(i)
            })
            .collect()
    }

    /// Delete `n` random rows in one durable transaction.
    pub fn delete(&mut self, n: usize, how: Commit) -> Result<Duration, String> {
        let victims = self.victims(n);
        let t = Instant::now();
        let txn = self.begin(how)?;
        {
            let mut table = txn.open_table(ROWS).map_err(err)?;
            for k in &victims {
                table.remove(k).map_err(err)?;
            }
        }
        txn.commit().map_err(err)?;
        Ok(t.elapsed())
    }
}

impl BareRedb {
    /// The writes a revocation makes, for `n` random rows in one transaction:
    /// read the row, write it back changed, move its index entry.
    pub fn rewrite(&mut self, n: usize, how: Commit) -> Result<Duration, String> {
        let victims = self.victims(n);
        let changed = [0xa5u8; 220];
        let t = Instant::now();
        let txn = self.begin(how)?;
        {
            let mut table = txn.open_table(ROWS).map_err(err)?;
            let mut idx = txn.open_table(INDEX).map_err(err)?;
            for &k in &victims {
                let old = table.get(k).map_err(err)?.map(|v| v.value().len());
                if old.is_some() {
                    table.insert(k, changed.as_slice()).map_err(err)?;
                    idx.remove(index_key(0, k)).map_err(err)?;
                    idx.insert(index_key(1, k), ()).map_err(err)?;
                }
            }
        }
        txn.commit().map_err(err)?;
        Ok(t.elapsed())
    }
}

impl BareRedb {
    /// What one admin revocation writes, in one durable transaction: the
    /// session rewritten, its index entry moved, an audit-sized log entry
    /// and an outbox row appended.
    pub fn revoke_like(&mut self, how: Commit) -> Result<Duration, String> {
        let victim = self.victims(1);
        let (entry, event) = ([0x3cu8; 400], [0x7eu8; 120]);
        let seq = self.next as u64;
        let t = Instant::now();
        let txn = self.begin(how)?;
        {
            let mut table = txn.open_table(ROWS).map_err(err)?;
            let mut idx = txn.open_table(INDEX).map_err(err)?;
            for &k in &victim {
                table.insert(k, [0xa5u8; 220].as_slice()).map_err(err)?;
                idx.remove(index_key(0, k)).map_err(err)?;
                idx.insert(index_key(1, k), ()).map_err(err)?;
            }
            txn.open_table(LOG)
                .map_err(err)?
                .insert(seq, entry.as_slice())
                .map_err(err)?;
            txn.open_table(OUTBOX)
                .map_err(err)?
                .insert(seq, event.as_slice())
                .map_err(err)?;
        }
        txn.commit().map_err(err)?;
        self.next += 1 << 64;
        Ok(t.elapsed())
    }
}

fn index_key(state: u8, k: u128) -> (u8, i64, u128) {
    // Activity times follow creation order closely enough for a reference.
    (state, (k >> 64) as i64, k)
}

fn err(e: impl std::fmt::Display) -> String {
    format!("bare redb: {e}")
}
