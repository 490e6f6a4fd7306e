//! Schemas and migrations. The platform schema (`{prefix}`) holds the global
//! tables and the platform namespace; each tenant has its own schema
//! (`{prefix}_t_{slug}`) with the namespace tables, created with the tenant.
//! Identifiers are validated, then always double-quoted.

use postgres::Client;

use super::pg_error;
use crate::domain::audit::GENESIS;
use crate::store::Ns;

/// The newest migration this build applies (the length of [`MIGRATIONS`]).
pub const VERSION: i32 = 4;

/// Migrations that also add to every namespace: [`namespace_ddl`] (all
/// `IF NOT EXISTS`) runs again on each existing one.
const NAMESPACE_MIGRATIONS: &[i32] = &[2, 3, 4];

/// Ordered, append-only: each entry runs once, in one transaction, under
/// the migration lock. `{p}` is the quoted platform schema.
const MIGRATIONS: &[&str] = &[
    // 1: the global tables (each namespace's tables come from `namespace_ddl`).
    "CREATE TABLE {p}.meta (key text PRIMARY KEY, value bytea NOT NULL);
     CREATE TABLE {p}.tenants (slug text PRIMARY KEY, rec bytea NOT NULL);
     CREATE TABLE {p}.grant_tenant (id uuid PRIMARY KEY, tenant text NOT NULL);
     CREATE TABLE {p}.client_tenant (id uuid PRIMARY KEY, tenant text NOT NULL);",
    // 2: trigram indexes for `q` (pg_trgm ships with PostgreSQL and is a
    // trusted extension; where it cannot be created, searches scan).
    "DO $m$ BEGIN
         CREATE EXTENSION IF NOT EXISTS pg_trgm;
     EXCEPTION WHEN OTHERS THEN
         RAISE WARNING 'pg_trgm unavailable (%): q= searches will scan users', SQLERRM;
     END $m$;",
    // 3: per namespace only: the index of revoked sessions by id.
    "",
    // 4: per namespace only: the revocation outbox, webhooks, deliveries.
    "",
];

/// The trigram index on a namespace's users, if pg_trgm is installed
/// (PL/pgSQL: the operator class lives in whichever schema holds the extension).
fn trgm_index(schema: &str) -> String {
    format!(
        "DO $t$ DECLARE ext name; BEGIN
             SELECT n.nspname INTO ext FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                 WHERE e.extname = 'pg_trgm';
             IF ext IS NOT NULL THEN
                 EXECUTE format('CREATE INDEX IF NOT EXISTS users_search ON %I.users USING gin (search %I.gin_trgm_ops)',
                     '{schema}', ext);
             END IF;
         END $t$;"
    )
}

/// The schema names of one store: a validated prefix.
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// `prefix`: a lowercase letter, then up to 15 lowercase letters, digits or `_`.
    pub fn new(prefix: &str) -> Result<Self, String> {
        let b = prefix.as_bytes();
        let ok = (1..=16).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if !ok {
            return Err(format!(
                "schema name {prefix:?} must be 1-16 lowercase letters, digits or _, starting with a letter"
            ));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The unquoted schema of a namespace. A slug is `[a-z0-9-]{3,32}`, so
    /// the name fits PostgreSQL's 63 bytes and needs no escaping once quoted.
    pub fn raw(&self, ns: Ns<'_>) -> String {
        match ns.tenant() {
            Some(t) => self.raw_tenant(t.as_str()),
            None => self.prefix.clone(),
        }
    }

    pub fn raw_tenant(&self, slug: &str) -> String {
        format!("{}_t_{slug}", self.prefix)
    }

    /// The quoted platform schema.
    pub fn platform(&self) -> String {
        quote(&self.prefix)
    }

    /// Every tenant schema of this store matches this `LIKE` pattern.
    pub fn tenant_pattern(&self) -> String {
        format!("{}\\_t\\_%", self.prefix.replace('_', "\\_"))
    }

    /// Advisory-lock keys: migrations, and leadership of background work.
    pub fn lock_key(&self, what: &str) -> i64 {
        // FNV-1a: stable across builds and nodes.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.prefix.bytes().chain([b'/']).chain(what.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h as i64
    }
}

pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The tables of one namespace, idempotent (`IF NOT EXISTS`).
pub fn namespace_ddl(schema: &str) -> String {
    let s = quote(schema);
    let genesis = hex::encode(GENESIS);
    format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.users (id uuid PRIMARY KEY, email text NOT NULL UNIQUE,
             search text NOT NULL, rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.sessions (id uuid PRIMARY KEY, user_id uuid NOT NULL,
             revoked boolean NOT NULL, last_active bigint NOT NULL, rec bytea NOT NULL);
         CREATE INDEX IF NOT EXISTS sessions_by_user ON {s}.sessions (user_id, id);
         CREATE INDEX IF NOT EXISTS sessions_by_activity ON {s}.sessions (revoked, last_active, id);
         CREATE INDEX IF NOT EXISTS sessions_revoked ON {s}.sessions (id) WHERE revoked;
         CREATE TABLE IF NOT EXISTS {s}.refresh (hash bytea PRIMARY KEY, session_id uuid NOT NULL,
             rec bytea NOT NULL);
         CREATE INDEX IF NOT EXISTS refresh_by_session ON {s}.refresh (session_id);
         CREATE TABLE IF NOT EXISTS {s}.clients (id uuid PRIMARY KEY, rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.grants (id uuid PRIMARY KEY, rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.audit (seq bigint PRIMARY KEY, rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.audit_head (one boolean PRIMARY KEY DEFAULT true CHECK (one),
             seq bigint NOT NULL, hash bytea NOT NULL);
         INSERT INTO {s}.audit_head VALUES (true, 0, '\\x{genesis}') ON CONFLICT DO NOTHING;
         CREATE TABLE IF NOT EXISTS {s}.events (seq bigint PRIMARY KEY, at bigint NOT NULL,
             rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.events_head (one boolean PRIMARY KEY DEFAULT true CHECK (one),
             seq bigint NOT NULL);
         INSERT INTO {s}.events_head VALUES (true, 0) ON CONFLICT DO NOTHING;
         CREATE TABLE IF NOT EXISTS {s}.webhooks (id uuid PRIMARY KEY, rec bytea NOT NULL);
         CREATE TABLE IF NOT EXISTS {s}.deliveries (webhook uuid NOT NULL, seq bigint NOT NULL,
             due bigint, rec bytea NOT NULL, PRIMARY KEY (webhook, seq));
         CREATE INDEX IF NOT EXISTS deliveries_due ON {s}.deliveries (due) WHERE due IS NOT NULL;
         {trgm}",
        trgm = trgm_index(schema)
    )
}

/// Bring the platform schema to [`VERSION`], under an advisory lock so that
/// nodes starting together migrate once. Refuses a newer schema.
pub fn migrate(client: &mut Client, names: &Names) -> Result<(), String> {
    let e = |e: postgres::Error| pg_error(&e).to_string();
    let key = names.lock_key("migrate");
    client
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .map_err(e)?;
    let out = migrate_locked(client, names);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&key]);
    out?;
    unlocked.map(|_| ()).map_err(e)
}

fn migrate_locked(client: &mut Client, names: &Names) -> Result<(), String> {
    let e = |e: postgres::Error| pg_error(&e).to_string();
    let p = names.platform();
    let mut txn = client.transaction().map_err(e)?;
    txn.batch_execute(&format!(
        "{}
         CREATE TABLE IF NOT EXISTS {p}.migrations (version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now());",
        namespace_ddl(names.prefix())
    ))
    .map_err(e)?;
    let row = txn
        .query_one(
            &format!("SELECT COALESCE(max(version), 0) FROM {p}.migrations"),
            &[],
        )
        .map_err(e)?;
    let found: i32 = row.get(0);
    if found > VERSION {
        return Err(format!(
            "the database schema {} has version {found}, newer than this sessiond supports ({VERSION}); upgrade sessiond",
            names.prefix()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        txn.batch_execute(&sql.replace("{p}", &p)).map_err(e)?;
        if NAMESPACE_MIGRATIONS.contains(&version) {
            // Namespaces created before this migration get its tables and indexes now.
            let rows = txn
                .query(
                    "SELECT nspname::text FROM pg_namespace WHERE nspname = $1 OR nspname LIKE $2",
                    &[&names.prefix(), &names.tenant_pattern()],
                )
                .map_err(e)?;
            for r in rows {
                txn.batch_execute(&namespace_ddl(r.get::<_, &str>(0)))
                    .map_err(e)?;
            }
        }
        txn.execute(
            &format!("INSERT INTO {p}.migrations (version) VALUES ($1)"),
            &[&version],
        )
        .map_err(e)?;
        tracing::info!(version, schema = names.prefix(), "applied a migration");
    }
    txn.commit().map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_validated_and_schemas_quoted() {
        assert!(Names::new("sessiond").is_ok());
        for bad in ["", "Sessiond", "1abc", "a-b", "a\"b", "abcdefghijklmnopq"] {
            assert!(Names::new(bad).is_err(), "{bad:?}");
        }
        let n = Names::new("sd").unwrap();
        assert_eq!(n.raw_tenant("acme-eu"), "sd_t_acme-eu");
        assert_eq!(quote("sd_t_acme-eu"), "\"sd_t_acme-eu\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_ne!(n.lock_key("migrate"), n.lock_key("lead"));
        assert_ne!(
            n.lock_key("migrate"),
            Names::new("other").unwrap().lock_key("migrate")
        );
    }
}
