//! Each step from a fixture of the schema before it.

use super::*;
use crate::domain::user::PasswordHash;
use crate::domain::{Policy, Role, TenantId, Timestamp, UserId};
use crate::store::{DB_FILE, OpenError, Store, check_file};
use redb::ReadableDatabase;

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

fn acme_record() -> TenantRecord {
    TenantRecord {
        slug: TenantId::parse("acme").unwrap(),
        name: "Acme".into(),
        created_at: Timestamp::from_millis(1),
        policy: Policy::default(),
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
                tx.insert_tenant(&acme_record())?;
                let scope = acme();
                tx.put_user(Ns::from(&scope), &user(1, "ines@acme.test", "Inès Müller"))?;
                tx.put_user(Ns::from(&scope), &user(2, "bob@acme.test", "Bob Kowalski"))
            })
            .unwrap();
        close(store);
    }
    let db = Database::open(dir.join(DB_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    // Files of schema < 5 hold version-1 tenant records.
    let t = acme_record();
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

/// Stop `store` and wait until its file is closed.
fn close(store: Store) {
    let closer = store.closer().unwrap();
    drop(store);
    closer.wait();
}

/// Rewrite the file at `dir` as an older schema: `f` puts back what that
/// schema held, then the file is marked `version`.
fn rewrite_as(dir: &Path, version: u32, f: impl FnOnce(&WriteTransaction)) {
    let db = Database::open(dir.join(DB_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    f(&txn);
    txn.open_table(META)
        .unwrap()
        .insert("schema_version", version.to_le_bytes().as_slice())
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
    rewrite_as(dir.path(), 3, |txn| {
        txn.open_table(TENANTS)
            .unwrap()
            .insert(
                "acme",
                crate::store::records::encode_legacy(&old).as_slice(),
            )
            .unwrap();
    });

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
    close(store);
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
    rewrite_as(dir.path(), 4, |txn| {
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
    });

    let store = Store::open(dir.path()).unwrap();
    let scope = TenantScope::operator(acme.clone());
    let (mine, index, all) = store
        .read_blocking(move |rx| Ok((rx.grants(&scope)?, rx.grant_tenants()?, rx.all_grants()?)))
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].id, mine[0].reason.as_str()), (g.id, "ticket 42"));
    assert_eq!(index, vec![(g.id, acme)]);
    assert_eq!(all.len(), 1);
    close(store);
    check_file(&dir.path().join(DB_FILE)).unwrap();
    // The global table is gone.
    let db = Database::open(dir.path().join(DB_FILE)).unwrap();
    let r = db.begin_read().unwrap();
    assert!(matches!(
        r.open_table(TableDefinition::<u128, &[u8]>::new("grants")),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
}

/// Three sessions of acme, written by this build: two active (users 1
/// and 2), one revoked (user 1).
fn three_sessions(dir: &Path) -> [SessionRecord; 3] {
    use crate::domain::session::SessionState;
    use crate::domain::{RevokeReason, SessionId};
    let session = |id: u128, user: u128, at: i64, state: SessionState| SessionRecord {
        id: SessionId::from_u128(id),
        user_id: UserId::from_u128(user),
        created_at: Timestamp::from_millis(at - 1),
        last_activity_at: Timestamp::from_millis(at),
        expires_at: Timestamp::from_millis(at + 1_000_000),
        ip: None,
        user_agent: None,
        state,
        support: None,
    };
    let revoked = SessionState::Revoked {
        at: Timestamp::from_millis(40),
        by: None,
        reason: RevokeReason::AdminRevoked,
        note: None,
    };
    let all = [
        session(10, 1, 30, SessionState::Active),
        session(11, 2, 20, SessionState::Active),
        session(12, 1, 10, revoked),
    ];
    let store = Store::open(dir).unwrap();
    let rows = all.clone();
    store
        .write_blocking(move |tx| {
            tx.insert_tenant(&acme_record())?;
            let scope = acme();
            for s in &rows {
                tx.put_session(Ns::from(&scope), s)?;
            }
            Ok(())
        })
        .unwrap();
    close(store);
    all
}

/// Open the file at `dir` (migrating it), read acme's namespace, stop,
/// and check the file.
fn read_migrated<T: Send>(
    dir: &Path,
    f: impl FnOnce(&crate::store::Rx<'_>, Ns<'_>) -> Result<T, StoreError> + Send,
) -> T {
    let store = Store::open(dir).unwrap();
    let out = store.read_blocking(|rx| f(rx, Ns::from(&acme()))).unwrap();
    close(store);
    check_file(&dir.join(DB_FILE)).unwrap();
    out
}

/// Put acme's `kind` table back as an index of bare keys (values `()`),
/// as schemas before 6 (activity) and 7 (by user) kept them.
fn as_bare_keys<K>(txn: &WriteTransaction, kind: Kind, keys: impl IntoIterator<Item = K>)
where
    K: redb::Key + for<'a> redb::Value<SelfType<'a> = K> + 'static,
{
    let name = table_name(Ns::from(&acme()), kind);
    // By name: the table's value type is this build's.
    txn.delete_table(TableDefinition::<K, ()>::new(&name))
        .unwrap();
    let mut old = txn
        .open_table(TableDefinition::<K, ()>::new(&name))
        .unwrap();
    for k in keys {
        old.insert(k, ()).unwrap();
    }
}

#[test]
fn schema_5_activity_index_gains_each_sessions_user() {
    use crate::domain::SessionId;
    let dir = tempfile::tempdir().unwrap();
    let all = three_sessions(dir.path());
    // Schema 5 kept the activity index as bare keys.
    rewrite_as(dir.path(), 5, |txn| {
        let key = |s: &SessionRecord| {
            let state = u8::from(!s.is_active());
            (state, s.last_activity_at.millis(), s.id.as_u128())
        };
        as_bare_keys(txn, Kind::SessionsByActivity, all.iter().map(key));
    });

    let (active, ended) = read_migrated(dir.path(), |rx, ns| {
        Ok((
            rx.activity_page_users(ns, 0, None, 10)?,
            rx.activity_page_users(ns, 1, None, 10)?,
        ))
    });
    let id = SessionId::from_u128;
    let u = UserId::from_u128;
    assert_eq!(active, vec![(30, id(10), u(1)), (20, id(11), u(2))]);
    assert_eq!(ended, vec![(10, id(12), u(1))]);
}

#[test]
fn schema_6_by_user_index_gains_each_sessions_activity() {
    use crate::domain::SessionId;
    use crate::store::IndexedSession;
    let dir = tempfile::tempdir().unwrap();
    let all = three_sessions(dir.path());
    // Schema 6 kept the by-user index as bare keys.
    rewrite_as(dir.path(), 6, |txn| {
        let key = |s: &SessionRecord| (s.user_id.as_u128(), s.id.as_u128());
        as_bare_keys(txn, Kind::SessionsByUser, all.iter().map(key));
    });

    let of = |u| [UserId::from_u128(u)];
    let (one, two) = read_migrated(dir.path(), |rx, ns| {
        Ok((
            rx.session_keys_of_users(ns, &of(1))?,
            rx.session_keys_of_users(ns, &of(2))?,
        ))
    });
    let key = |id: u128, at: i64| IndexedSession {
        id: SessionId::from_u128(id),
        last_activity_ms: at,
    };
    assert_eq!(one, vec![key(10, 30), key(12, 10)]);
    assert_eq!(two, vec![key(11, 20)]);
}

#[test]
fn schema_0_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    schema_1_fixture(dir.path());
    rewrite_as(dir.path(), 0, |_| {});
    assert!(matches!(
        Store::open(dir.path()),
        Err(OpenError::Foreign(_))
    ));
}
