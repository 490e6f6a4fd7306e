//! The bench's bare-engine reference on PostgreSQL: plain SQL on one table
//! of session-sized rows, nothing of sessiond in the way. Blocking: call it
//! off the async threads.

use std::time::{Duration, Instant};

use postgres::Client;

use super::schema::{Names, quote};
use super::tls::connect_url;

/// A table of `rows` 200-byte rows in schema `{prefix}_bare`, dropped on drop.
pub struct BarePg {
    client: Client,
    schema: String,
    next: i64,
    /// Deletes so far: each takes another residue class of ids.
    deletes: i64,
}

impl BarePg {
    pub fn build(url: &str, prefix: &str, rows: usize) -> Result<Self, String> {
        Names::new(prefix)?;
        let mut client = connect_url(url)?;
        let schema = quote(&format!("{prefix}_bare"));
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
                 CREATE TABLE {schema}.rows (id bigint PRIMARY KEY, rec bytea NOT NULL);
                 INSERT INTO {schema}.rows SELECT g, decode(repeat('5a', 200), 'hex')
                   FROM generate_series(1, {rows}) g;
                 ANALYZE {schema}.rows;"
            ))
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        Ok(Self {
            client,
            schema,
            next: rows as i64 + 1,
            deletes: 0,
        })
    }

    /// One durable single-row commit (autocommit, `synchronous_commit` as configured).
    pub fn commit_one(&mut self) -> Result<Duration, String> {
        let id = self.next;
        self.next += 1;
        let t = Instant::now();
        self.client
            .execute(
                &format!(
                    "INSERT INTO {}.rows VALUES ($1, decode(repeat('5a', 200), 'hex'))",
                    self.schema
                ),
                &[&id],
            )
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        Ok(t.elapsed())
    }

    /// Delete `n` rows spread over the table in one transaction.
    pub fn delete(&mut self, n: usize) -> Result<Duration, String> {
        let stride = (self.next / n.max(1) as i64).max(1);
        let class = self.deletes % stride;
        self.deletes += 1;
        let t = Instant::now();
        let gone = self
            .client
            .execute(
                &format!(
                    "DELETE FROM {}.rows WHERE id IN (SELECT id FROM {}.rows WHERE id % $1 = $2 LIMIT $3)",
                    self.schema, self.schema
                ),
                &[&stride, &class, &(n as i64)],
            )
            .map_err(|e| format!("PostgreSQL: {e}"))?;
        let took = t.elapsed();
        if gone == 0 {
            return Err("the bare table ran out of rows to delete".into());
        }
        Ok(took)
    }
}

impl Drop for BarePg {
    fn drop(&mut self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}

/// Drop the platform schema `prefix` and every `prefix_…` schema (the
/// bench's throwaway data); how many were dropped.
pub fn drop_schemas(url: &str, prefix: &str) -> Result<usize, String> {
    Names::new(prefix)?;
    let mut c = connect_url(url)?;
    let like = format!("{}\\_%", prefix.replace('_', "\\_"));
    let rows = c
        .query(
            "SELECT nspname FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2",
            &[&prefix, &like],
        )
        .map_err(|e| format!("PostgreSQL: {e}"))?;
    for r in &rows {
        let name: String = r.get(0);
        c.batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(&name)))
            .map_err(|e| format!("PostgreSQL: {e}"))?;
    }
    Ok(rows.len())
}
