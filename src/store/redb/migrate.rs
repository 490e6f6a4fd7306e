//! Schema migrations, oldest first. An older file is copied to a backup
//! beside it, then every step runs in one write transaction with the new
//! version number: a crash leaves either the old file or the migrated one.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use super::records::decode_legacy;
use super::tables::{
    GRANT_TENANT, KEYRING_META, Kind, META, Ns, SCHEMA_VERSION, TENANTS, table_name,
};
use super::{StoreError, decode, search};
use crate::auth::TenantScope;
use crate::auth::keyring::{KeyRing, RingKey};
use crate::auth::token::KeyMaterial;
use crate::domain::{GrantRecord, SessionRecord, TenantRecord, UserRecord};

/// The oldest schema this build migrates from.
pub const OLDEST_SUPPORTED: u32 = 1;

struct Step {
    /// The version this step produces.
    to: u32,
    run: fn(&WriteTransaction) -> Result<(), StoreError>,
}

/// Append only; one step per version.
const STEPS: &[Step] = &[
    Step {
        to: 2,
        run: build_user_search_index,
    },
    Step {
        to: 3,
        run: signing_keys_to_ring,
    },
    Step {
        to: 4,
        run: policy_gains_min_password_length,
    },
    Step {
        to: 5,
        run: grants_move_into_their_tenants,
    },
    Step {
        to: 6,
        run: activity_index_holds_users,
    },
    Step {
        to: 7,
        run: user_index_holds_activity,
    },
];

/// Migrate `db` (at `path`) from schema `from`; returns the backup written first.
pub(super) fn migrate(db: &Database, path: &Path, from: u32) -> Result<PathBuf, StoreError> {
    debug_assert!(STEPS.last().is_some_and(|s| s.to == SCHEMA_VERSION));
    let backup = backup_path(path, from);
    // Byte for byte (nothing writes before the migration; a typed copy
    // would need the old schema's types). The copy holds the signing keys:
    // owner-only from the first byte.
    let io =
        |e: std::io::Error| StoreError::Io(format!("cannot back up to {}: {e}", backup.display()));
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&backup)
        .map_err(io)?;
    let mut src = std::fs::File::open(path).map_err(io)?;
    std::io::copy(&mut src, &mut out).map_err(io)?;
    out.sync_all().map_err(io)?;
    let txn = db.begin_write()?;
    for step in STEPS.iter().filter(|s| s.to > from) {
        (step.run)(&txn)?;
    }
    txn.open_table(META)?
        .insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())?;
    txn.commit()?;
    Ok(backup)
}

/// `sessiond.redb` → `sessiond.redb.schema-1.<unix seconds>.bak`, never an existing name.
fn backup_path(path: &Path, from: u32) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("db");
    let mut n = 0;
    loop {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!(".{n}")
        };
        let p = path.with_file_name(format!("{name}.schema-{from}.{secs}{suffix}.bak"));
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// 1 → 2: the trigram index of every namespace's users.
fn build_user_search_index(txn: &WriteTransaction) -> Result<(), StoreError> {
    let scopes = tenant_scopes(txn)?;
    let spaces = std::iter::once(Ns::Platform).chain(scopes.iter().map(Ns::from));
    for ns in spaces {
        let users = table_name(ns, Kind::Users);
        let index = table_name(ns, Kind::UserTrigrams);
        let users = txn.open_table(TableDefinition::<u128, &[u8]>::new(&users))?;
        let mut index = txn.open_table(TableDefinition::<(u32, u128), ()>::new(&index))?;
        for row in users.iter()? {
            let (id, v) = row?;
            let u: UserRecord = decode(v.value())?;
            for t in search::user_trigrams(&u) {
                index.insert((t, id.value()), ())?;
            }
        }
    }
    Ok(())
}

/// Every tenant, as the migration's system scope.
fn tenant_scopes(txn: &WriteTransaction) -> Result<Vec<TenantScope>, StoreError> {
    let t = txn.open_table(TENANTS)?;
    t.iter()?
        .map(|r| {
            let key = r?.0;
            crate::domain::TenantId::parse(key.value())
                .map(TenantScope::system)
                .map_err(|e| StoreError::Corrupt(format!("tenant key: {e}")))
        })
        .collect()
}

/// 5 → 6: the activity index keeps each session's user as its value, so a
/// search walking it skips other users' sessions without reading them.
fn activity_index_holds_users(txn: &WriteTransaction) -> Result<(), StoreError> {
    let scopes = tenant_scopes(txn)?;
    let spaces = std::iter::once(Ns::Platform).chain(scopes.iter().map(Ns::from));
    for ns in spaces {
        let index = table_name(ns, Kind::SessionsByActivity);
        txn.delete_table(TableDefinition::<(u8, i64, u128), ()>::new(&index))?;
        let sessions = table_name(ns, Kind::Sessions);
        let sessions = match txn.open_table(TableDefinition::<u128, &[u8]>::new(&sessions)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut index = txn.open_table(TableDefinition::<(u8, i64, u128), u128>::new(&index))?;
        for row in sessions.iter()? {
            let (id, v) = row?;
            let s: SessionRecord = decode(v.value())?;
            let key = (
                u8::from(!s.is_active()),
                s.last_activity_at.millis(),
                id.value(),
            );
            index.insert(key, s.user_id.as_u128())?;
        }
    }
    Ok(())
}

/// 6 → 7: the by-user index keeps each session's last activity, so a
/// user's sessions are ordered without reading them.
fn user_index_holds_activity(txn: &WriteTransaction) -> Result<(), StoreError> {
    let scopes = tenant_scopes(txn)?;
    let spaces = std::iter::once(Ns::Platform).chain(scopes.iter().map(Ns::from));
    for ns in spaces {
        let index = table_name(ns, Kind::SessionsByUser);
        // By name: schema 6's values were `()`.
        txn.delete_table(TableDefinition::<(u128, u128), ()>::new(&index))?;
        let sessions = table_name(ns, Kind::Sessions);
        let sessions = match txn.open_table(TableDefinition::<u128, &[u8]>::new(&sessions)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut index = txn.open_table(TableDefinition::<(u128, u128), i64>::new(&index))?;
        for row in sessions.iter()? {
            let (id, v) = row?;
            let s: SessionRecord = decode(v.value())?;
            index.insert(
                (s.user_id.as_u128(), id.value()),
                s.last_activity_at.millis(),
            )?;
        }
    }
    Ok(())
}

/// Schema ≤ 2 kept two keys in meta `signing_keys` (postcard, positional).
#[derive(serde::Deserialize)]
struct SigningKeysV1 {
    current: KeyMaterial,
    previous: Option<KeyMaterial>,
}

/// 2 → 3: the key pair becomes a ring, each key active from its creation.
fn signing_keys_to_ring(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    let Some(old) = meta.remove("signing_keys")?.map(|v| v.value().to_vec()) else {
        return Ok(());
    };
    let old: SigningKeysV1 = decode_legacy(&old)?;
    let mut keys: Vec<RingKey> = old
        .previous
        .into_iter()
        .chain([old.current])
        .map(|key| RingKey {
            activates_at: key.created_at,
            key,
        })
        .collect();
    keys.sort_by_key(|k| k.activates_at);
    let ring = super::encode(&KeyRing { keys });
    meta.insert(KEYRING_META, ring.as_slice())?;
    Ok(())
}

/// A tenant as schema ≤ 3 stored it: the policy had five fields.
#[derive(serde::Deserialize)]
struct TenantRecordV3 {
    slug: crate::domain::TenantId,
    name: String,
    created_at: crate::domain::Timestamp,
    policy: PolicyV3,
}

#[derive(serde::Deserialize)]
struct PolicyV3 {
    access_token_ttl_secs: i64,
    idle_timeout_secs: i64,
    absolute_timeout_secs: i64,
    refresh_reuse_grace_secs: i64,
    max_support_grant_secs: i64,
}

/// 3 → 4: every tenant's policy gains `min_password_length` (the default).
fn policy_gains_min_password_length(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut t = txn.open_table(TENANTS)?;
    let old: Vec<(String, Vec<u8>)> = t
        .iter()?
        .map(|r| r.map(|(k, v)| (k.value().to_owned(), v.value().to_vec())))
        .collect::<Result<_, _>>()?;
    for (slug, bytes) in old {
        let v3: TenantRecordV3 = decode_legacy(&bytes)?;
        let p = v3.policy;
        let rec = TenantRecord {
            slug: v3.slug,
            name: v3.name,
            created_at: v3.created_at,
            policy: crate::domain::Policy {
                access_token_ttl_secs: p.access_token_ttl_secs,
                idle_timeout_secs: p.idle_timeout_secs,
                absolute_timeout_secs: p.absolute_timeout_secs,
                refresh_reuse_grace_secs: p.refresh_reuse_grace_secs,
                max_support_grant_secs: p.max_support_grant_secs,
                ..crate::domain::Policy::default()
            },
        };
        t.insert(slug.as_str(), super::encode(&rec).as_slice())?;
    }
    Ok(())
}

/// 4 → 5: each grant moves from the global `grants` table into its
/// tenant's namespace; the platform keeps an index (grant → tenant).
fn grants_move_into_their_tenants(txn: &WriteTransaction) -> Result<(), StoreError> {
    const OLD: TableDefinition<u128, &[u8]> = TableDefinition::new("grants");
    let old: Vec<(u128, Vec<u8>)> = match txn.open_table(OLD) {
        Ok(t) => t
            .iter()?
            .map(|r| r.map(|(k, v)| (k.value(), v.value().to_vec())))
            .collect::<Result<_, _>>()?,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let mut index = txn.open_table(GRANT_TENANT)?;
    for (id, bytes) in old {
        let g: GrantRecord = decode(&bytes)?;
        let scope = TenantScope::system(g.tenant.clone());
        let name = table_name(Ns::from(&scope), Kind::Grants);
        txn.open_table(TableDefinition::<u128, &[u8]>::new(&name))?
            .insert(id, bytes.as_slice())?;
        index.insert(id, g.tenant.as_str())?;
    }
    drop(index);
    txn.delete_table(OLD)?;
    Ok(())
}

#[cfg(test)]
mod tests;
