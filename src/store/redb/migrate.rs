//! Schema migrations, oldest first. An older file is copied to a backup
//! beside it, then every step runs in one write transaction with the new
//! version number: a crash leaves either the old file or the migrated one.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::records::decode_legacy;
use super::tables::{
    GRANT_TENANT, KEYRING_META, Kind, META, Ns, SCHEMA_VERSION, TENANTS, table_name,
};
use super::{StoreError, decode, search};
use crate::auth::TenantScope;
use crate::auth::keyring::{KeyRing, RingKey};
use crate::auth::token::KeyMaterial;
use crate::domain::{GrantRecord, TenantRecord, UserRecord};

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
];

/// Migrate `db` (at `path`) from schema `from`; returns the backup written first.
pub(super) fn migrate(db: &Database, path: &Path, from: u32) -> Result<PathBuf, StoreError> {
    debug_assert!(STEPS.last().is_some_and(|s| s.to == SCHEMA_VERSION));
    let backup = backup_path(path, from);
    // The copy holds the signing keys: owner-only from the first byte.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&backup)
        .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", backup.display())))?;
    super::backup::copy_snapshot(&db.begin_read()?, &backup)?;
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
    let slugs: Vec<_> = {
        let t = txn.open_table(TENANTS)?;
        t.iter()?
            .map(|r| {
                let key = r?.0;
                crate::domain::TenantId::parse(key.value())
                    .map_err(|e| StoreError::Corrupt(format!("tenant key: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let scopes: Vec<TenantScope> = slugs.into_iter().map(TenantScope::system).collect();
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
mod tests {
    use super::*;
    use crate::domain::user::PasswordHash;
    use crate::domain::{Policy, Role, TenantId, Timestamp, UserId};
    use crate::store::{DB_FILE, OpenError, Store, check_file};

    fn user(id: u128, email: &str, name: &str) -> UserRecord {
        UserRecord {
            id: UserId::from_u128(id),
            email: email.into(),
            display_name: name.into(),
            role: Role::Member,
            password_hash: PasswordHash("h".into()),
            disabled: false,
            sessions_valid_after: None,
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(1),
        }
    }

    fn acme() -> TenantScope {
        TenantScope::system(TenantId::parse("acme").unwrap())
    }

    /// A file as schema 1 left it: written by this build, then its schema-2
    /// table dropped and its version set back.
    fn schema_1_fixture(dir: &Path) {
        {
            let store = Store::open(dir).unwrap();
            store
                .write_blocking(|tx| {
                    tx.insert_tenant(&TenantRecord {
                        slug: TenantId::parse("acme").unwrap(),
                        name: "Acme".into(),
                        created_at: Timestamp::from_millis(1),
                        policy: Policy::default(),
                    })?;
                    let scope = acme();
                    tx.put_user(Ns::from(&scope), &user(1, "ines@acme.test", "Inès Müller"))?;
                    tx.put_user(Ns::from(&scope), &user(2, "bob@acme.test", "Bob Kowalski"))
                })
                .unwrap();
            let closer = store.closer().unwrap();
            drop(store);
            closer.wait();
        }
        let db = Database::open(dir.join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        // Files of schema < 5 hold version-1 tenant records.
        let t = TenantRecord {
            slug: TenantId::parse("acme").unwrap(),
            name: "Acme".into(),
            created_at: Timestamp::from_millis(1),
            policy: Policy::default(),
        };
        txn.open_table(TENANTS)
            .unwrap()
            .insert(
                "acme",
                crate::store::records::encode_tenant_v1(&t).as_slice(),
            )
            .unwrap();
        for ns in [Ns::Platform, Ns::from(&acme())] {
            let name = table_name(ns, Kind::UserTrigrams);
            txn.delete_table(TableDefinition::<(u32, u128), ()>::new(&name))
                .unwrap();
        }
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", 1u32.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }

    fn search(store: &Store, q: &str) -> Vec<u128> {
        let q = q.to_owned();
        store
            .read_blocking(move |rx| rx.users_matching(Ns::from(&acme()), &q, None, 10))
            .unwrap()
            .iter()
            .map(|u| u.id.as_u128())
            .collect()
    }

    #[test]
    fn schema_1_is_backed_up_then_migrated_and_searchable() {
        let dir = tempfile::tempdir().unwrap();
        schema_1_fixture(dir.path());
        // An old file checks out (restore of an old backup), and is migrated on open.
        check_file(&dir.path().join(DB_FILE)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(search(&store, "müller"), [1]);
        assert_eq!(search(&store, "kowal"), [2]);
        assert_eq!(search(&store, "acme.test"), [1, 2]);
        let version = store.read_blocking(|rx| rx.meta("schema_version")).unwrap();
        assert_eq!(
            version.as_deref(),
            Some(SCHEMA_VERSION.to_le_bytes().as_slice())
        );

        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".schema-1."))
            .collect();
        assert_eq!(backups.len(), 1, "{backups:?}");
        let old = Database::open(&backups[0]).unwrap();
        let txn = old.begin_read().unwrap();
        let v = txn
            .open_table(META)
            .unwrap()
            .get("schema_version")
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(v, 1u32.to_le_bytes());
    }

    #[test]
    fn index_follows_renames() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (name, email) in [
            ("Ada Lovelace", "ada@acme.test"),
            ("Ada Byron", "countess@acme.test"),
        ] {
            store
                .write_blocking(move |tx| tx.put_user(Ns::from(&acme()), &user(7, email, name)))
                .unwrap();
        }
        assert_eq!(search(&store, "byron"), [7]);
        assert_eq!(search(&store, "countess"), [7]);
        assert!(search(&store, "lovelace").is_empty());
        assert!(search(&store, "ada@").is_empty());
        // Short terms walk the users instead.
        assert_eq!(search(&store, "by"), [7]);
    }

    #[test]
    fn schema_2_key_pair_becomes_a_ring_of_the_same_keys() {
        #[derive(serde::Serialize)]
        struct Legacy {
            current: KeyMaterial,
            previous: Option<KeyMaterial>,
        }
        let dir = tempfile::tempdir().unwrap();
        schema_1_fixture(dir.path());
        let old = KeyMaterial::generate(Timestamp::from_millis(1_000));
        let cur = KeyMaterial::generate(Timestamp::from_millis(2_000));
        let legacy = Legacy {
            current: cur.clone(),
            previous: Some(old.clone()),
        };
        let db = Database::open(dir.path().join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(
                "signing_keys",
                crate::store::records::encode_legacy(&legacy).as_slice(),
            )
            .unwrap();
            meta.insert("schema_version", 2u32.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        drop(db);

        let store = Store::open(dir.path()).unwrap();
        let (ring, legacy_left) = store
            .read_blocking(|rx| Ok((rx.meta(KEYRING_META)?, rx.meta("signing_keys")?)))
            .unwrap();
        assert!(legacy_left.is_none());
        let ring: KeyRing = decode(&ring.unwrap()).unwrap();
        let kids: Vec<_> = ring.keys.iter().map(|k| k.key.kid.clone()).collect();
        assert_eq!(kids, [old.kid, cur.kid.clone()]);
        // The current key still signs; the previous one is retired.
        let now = Timestamp::from_millis(3_000);
        assert_eq!(ring.keys[ring.current_index(now)].key.kid, cur.kid);
        assert_eq!(ring.keys[1].activates_at, Timestamp::from_millis(2_000));
    }

    #[test]
    fn schema_3_tenants_gain_the_password_policy_and_keep_the_rest() {
        #[derive(serde::Serialize)]
        struct V3 {
            slug: TenantId,
            name: String,
            created_at: Timestamp,
            policy: [i64; 5],
        }
        let dir = tempfile::tempdir().unwrap();
        schema_1_fixture(dir.path());
        let old = V3 {
            slug: TenantId::parse("acme").unwrap(),
            name: "Acme".into(),
            created_at: Timestamp::from_millis(5),
            policy: [60, 120, 600, 7, 900],
        };
        let db = Database::open(dir.path().join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            txn.open_table(TENANTS)
                .unwrap()
                .insert(
                    "acme",
                    crate::store::records::encode_legacy(&old).as_slice(),
                )
                .unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("schema_version", 3u32.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        drop(db);

        let store = Store::open(dir.path()).unwrap();
        let t = store
            .read_blocking(|rx| rx.tenant(&TenantId::parse("acme").unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(
            t.policy,
            Policy {
                access_token_ttl_secs: 60,
                idle_timeout_secs: 120,
                absolute_timeout_secs: 600,
                refresh_reuse_grace_secs: 7,
                max_support_grant_secs: 900,
                min_password_length: 8,
                ..Policy::default()
            }
        );
        assert_eq!(
            (t.name.as_str(), t.created_at),
            ("Acme", Timestamp::from_millis(5))
        );
        let closer = store.closer().unwrap();
        drop(store);
        closer.wait();
        check_file(&dir.path().join(DB_FILE)).unwrap();
    }

    #[test]
    fn schema_4_grants_move_into_their_tenant() {
        let dir = tempfile::tempdir().unwrap();
        schema_1_fixture(dir.path());
        let acme = TenantId::parse("acme").unwrap();
        let tenant = TenantRecord {
            slug: acme.clone(),
            name: "Acme".into(),
            created_at: Timestamp::from_millis(5),
            policy: Policy::default(),
        };
        let g = GrantRecord::request(
            acme.clone(),
            UserId::from_u128(9),
            "root@x.test".into(),
            "ticket 42",
            3600,
            Timestamp::from_millis(6),
        );
        let db = Database::open(dir.path().join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            txn.open_table(TENANTS)
                .unwrap()
                .insert(
                    "acme",
                    crate::store::records::encode_tenant_v1(&tenant).as_slice(),
                )
                .unwrap();
            txn.open_table(TableDefinition::<u128, &[u8]>::new("grants"))
                .unwrap()
                .insert(g.id.as_u128(), super::super::encode(&g).as_slice())
                .unwrap();
            txn.open_table(META)
                .unwrap()
                .insert("schema_version", 4u32.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
        drop(db);

        let store = Store::open(dir.path()).unwrap();
        let scope = TenantScope::operator(acme.clone());
        let (mine, index, all) = store
            .read_blocking(move |rx| {
                Ok((rx.grants(&scope)?, rx.grant_tenants()?, rx.all_grants()?))
            })
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!((mine[0].id, mine[0].reason.as_str()), (g.id, "ticket 42"));
        assert_eq!(index, vec![(g.id, acme)]);
        assert_eq!(all.len(), 1);
        let closer = store.closer().unwrap();
        drop(store);
        closer.wait();
        check_file(&dir.path().join(DB_FILE)).unwrap();
        // The global table is gone.
        let db = Database::open(dir.path().join(DB_FILE)).unwrap();
        let r = db.begin_read().unwrap();
        assert!(matches!(
            r.open_table(TableDefinition::<u128, &[u8]>::new("grants")),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }

    #[test]
    fn schema_0_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        schema_1_fixture(dir.path());
        let db = Database::open(dir.path().join(DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", 0u32.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
        drop(db);
        assert!(matches!(
            Store::open(dir.path()),
            Err(OpenError::Foreign(_))
        ));
    }
}
