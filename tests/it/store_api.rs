//! One conformance suite, two engines: the store API behaves the same on
//! redb and on PostgreSQL (the latter when `SESSIOND_TEST_DATABASE_URL` is set).
//! Two handles on one PostgreSQL schema stand for two nodes.

use sessiond::auth::TenantScope;
use sessiond::domain::audit::AuditEntry;
use sessiond::domain::session::RefreshRecord;
use sessiond::domain::user::PasswordHash;
use sessiond::domain::{
    Actor, AuditAction, AuditEvent, Policy, RevokeReason, Role, SessionId, SessionRecord,
    SessionState, TenantId, TenantRecord, Timestamp, UserId, UserRecord,
};
use sessiond::store::{Ns, Store, StoreError};

use crate::support::engine::{PgSchemas, database_url, postgres_or_skip};

pub(crate) struct Engine {
    pub(crate) name: &'static str,
    pub(crate) store: Store,
    /// A second handle on the same data where the engine allows one (a node).
    pub(crate) other: Option<Store>,
    _dir: tempfile::TempDir,
    _pg: Option<PgSchemas>,
}

pub(crate) fn engines() -> Vec<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![Engine {
        name: "redb",
        store: Store::open(dir.path()).unwrap(),
        other: None,
        _dir: dir,
        _pg: None,
    }];
    match database_url() {
        Some(url) => {
            let pg = PgSchemas::fresh(&url);
            out.push(Engine {
                name: "postgres",
                store: pg.open(),
                other: Some(pg.open()),
                _dir: tempfile::tempdir().unwrap(),
                _pg: Some(pg),
            });
        }
        None => {
            postgres_or_skip("the PostgreSQL half of store_api");
        }
    }
    out
}

pub(crate) fn acme() -> TenantScope {
    TenantScope::operator(TenantId::parse("acme").unwrap())
}

pub(crate) fn tenant(slug: &str) -> TenantRecord {
    TenantRecord {
        slug: TenantId::parse(slug).unwrap(),
        name: slug.into(),
        created_at: Timestamp::from_millis(1),
        policy: Policy::default(),
    }
}

pub(crate) fn user(id: u128, email: &str, name: &str) -> UserRecord {
    UserRecord {
        id: UserId::from_u128(id),
        email: email.into(),
        display_name: name.into(),
        role: Role::Member,
        password_hash: PasswordHash("x".into()),
        disabled: false,
        sessions_valid_after: None,
        created_at: Timestamp::from_millis(1),
        updated_at: Timestamp::from_millis(1),
    }
}

pub(crate) fn session(id: u128, user: u128, last: i64) -> SessionRecord {
    SessionRecord {
        id: SessionId::from_u128(id),
        user_id: UserId::from_u128(user),
        created_at: Timestamp::from_millis(last),
        last_activity_at: Timestamp::from_millis(last),
        expires_at: Timestamp::from_millis(1_000_000),
        ip: None,
        user_agent: None,
        state: SessionState::Active,
        support: None,
    }
}

pub(crate) fn revoked(s: &SessionRecord) -> SessionRecord {
    SessionRecord {
        state: SessionState::Revoked {
            at: Timestamp::from_millis(99),
            by: None,
            reason: RevokeReason::AdminRevoked,
            note: None,
        },
        ..s.clone()
    }
}

pub(crate) fn with_tenant(store: &Store) {
    store
        .write_blocking(|tx| tx.insert_tenant(&tenant("acme")))
        .unwrap();
}

#[test]
fn tenants_users_and_email_uniqueness() {
    for e in engines() {
        let s = &e.store;
        with_tenant(s);
        let again = s.write_blocking(|tx| tx.insert_tenant(&tenant("acme")));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{}", e.name);
        s.write_blocking(|tx| {
            let scope = acme();
            tx.put_user(Ns::from(&scope), &user(1, "a@x.test", "Ann"))?;
            tx.put_user(Ns::from(&scope), &user(2, "b@x.test", "Bob Stone"))
        })
        .unwrap();
        let taken =
            s.write_blocking(|tx| tx.put_user(Ns::from(&acme()), &user(3, "a@x.test", "Other")));
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{}", e.name);
        // Renaming frees the old address.
        s.write_blocking(|tx| tx.put_user(Ns::from(&acme()), &user(1, "a2@x.test", "Ann")))
            .unwrap();
        s.read_blocking(|rx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            assert!(rx.user_by_email(ns, "a@x.test")?.is_none(), "{}", e.name);
            assert_eq!(rx.user_by_email(ns, "a2@x.test")?.unwrap().id.as_u128(), 1);
            let found = rx.users_matching(ns, "stone", None, 10)?;
            assert_eq!(found.len(), 1, "{}", e.name);
            assert_eq!(rx.users(ns, None, 10)?.len(), 2);
            assert_eq!(rx.users(ns, Some(UserId::from_u128(1)), 10)?.len(), 1);
            // Another tenant's namespace, and one that does not exist, are empty.
            let globex = TenantScope::operator(TenantId::parse("globex").unwrap());
            assert!(
                rx.users(Ns::from(&globex), None, 10)?.is_empty(),
                "{}",
                e.name
            );
            assert!(rx.users(Ns::Platform, None, 10)?.is_empty(), "{}", e.name);
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn session_pages_and_bulk_updates_keep_their_order() {
    for e in engines() {
        let s = &e.store;
        with_tenant(s);
        s.write_blocking(|tx| {
            let scope = acme();
            for i in 1..=5u128 {
                tx.put_session(Ns::from(&scope), &session(i, 7, 100 - i as i64))?;
            }
            Ok(())
        })
        .unwrap();
        let changed = s
            .write_blocking(|tx| {
                let ids: Vec<SessionId> = [4u128, 2, 9].map(SessionId::from_u128).to_vec();
                tx.update_sessions(Ns::from(&acme()), &ids, &mut |old| Some(revoked(old)))
            })
            .unwrap();
        assert_eq!(
            changed,
            vec![SessionId::from_u128(4), SessionId::from_u128(2)],
            "{}",
            e.name
        );
        s.read_blocking(|rx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            let newest: Vec<u128> = rx
                .sessions_page(ns, None, 3)?
                .iter()
                .map(|s| s.id.as_u128())
                .collect();
            assert_eq!(newest, vec![5, 4, 3], "{}", e.name);
            let next = rx.sessions_page(ns, Some(SessionId::from_u128(3)), 10)?;
            assert_eq!(next.len(), 2);
            let active = rx.activity_page(ns, 0, None, 10)?;
            let ids: Vec<u128> = active.iter().map(|(_, id)| id.as_u128()).collect();
            assert_eq!(ids, vec![1, 3, 5], "{}: most recently active first", e.name);
            let after = rx.activity_page(ns, 0, Some(active[0]), 10)?;
            assert_eq!(after.len(), 2);
            assert_eq!(rx.activity_page(ns, 1, None, 10)?.len(), 2);
            // The same keys with each session's user, after the revocations moved them.
            let with_users = rx.activity_page_users(ns, 1, None, 10)?;
            let ended: Vec<(u128, u128)> = with_users
                .iter()
                .map(|(_, id, u)| (id.as_u128(), u.as_u128()))
                .collect();
            assert_eq!(ended, vec![(2, 7), (4, 7)], "{}", e.name);
            assert_eq!(rx.session_ids_of_user(ns, UserId::from_u128(7))?.len(), 5);
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn purging_a_session_takes_its_refresh_chain() {
    for e in engines() {
        let s = &e.store;
        with_tenant(s);
        s.write_blocking(|tx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            tx.put_session(ns, &session(1, 7, 10))?;
            for g in 0..3u8 {
                let r = RefreshRecord {
                    session_id: SessionId::from_u128(1),
                    generation: u32::from(g),
                    created_at: Timestamp::from_millis(10),
                    used_at: None,
                };
                tx.put_refresh(ns, &[g; 32], &r)?;
            }
            Ok(())
        })
        .unwrap();
        let chain = s
            .read_blocking(|rx| rx.refresh_chain(Ns::from(&acme()), SessionId::from_u128(1)))
            .unwrap();
        assert_eq!(chain.len(), 3, "{}", e.name);
        let gone = s
            .write_blocking(|tx| tx.purge_session(Ns::from(&acme()), SessionId::from_u128(1)))
            .unwrap();
        assert!(gone);
        s.read_blocking(|rx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            assert!(
                rx.session(ns, SessionId::from_u128(1))?.is_none(),
                "{}",
                e.name
            );
            assert!(rx.refresh(ns, &[1; 32])?.is_none(), "{}", e.name);
            Ok(())
        })
        .unwrap();
        let again = s
            .write_blocking(|tx| tx.purge_session(Ns::from(&acme()), SessionId::from_u128(1)))
            .unwrap();
        assert!(!again, "{}", e.name);
    }
}

/// Racing writers (on PostgreSQL: two nodes) append to one chain: every
/// append lands once, the chain stays linear and verifies.
#[test]
fn concurrent_audit_appends_stay_one_linear_chain() {
    for e in engines() {
        with_tenant(&e.store);
        let writers: Vec<Store> = [Some(e.store.clone()), e.other.clone()]
            .into_iter()
            .flatten()
            .collect();
        let per = 40;
        let seqs: Vec<u64> = std::thread::scope(|sc| {
            let handles: Vec<_> = writers
                .iter()
                .flat_map(|w| (0..4).map(move |_| w.clone()))
                .map(|w| {
                    sc.spawn(move || {
                        (0..per / 4)
                            .map(|_| {
                                w.write_blocking(|tx| {
                                    tx.append_audit(
                                        Ns::from(&acme()),
                                        Timestamp::from_millis(5),
                                        AuditEvent::new(Actor::system(), AuditAction::Login),
                                    )
                                })
                                .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        let n = seqs.len() as u64;
        assert_eq!(sorted, (1..=n).collect::<Vec<_>>(), "{}", e.name);
        let report = e.store.check_online().unwrap();
        assert_eq!(report.audit_entries, n, "{}", e.name);
        let head = e
            .store
            .read_blocking(|rx| rx.audit_head(Ns::from(&acme())))
            .unwrap();
        assert_eq!(head.0, n, "{}", e.name);
    }
}

/// An imported entry must extend the chain as it stands: a gap, a wrong
/// link or an altered entry is refused and leaves the chain as it was.
#[test]
fn imported_audit_entries_must_extend_the_chain() {
    let src = tempfile::tempdir().unwrap();
    let from = Store::open(src.path()).unwrap();
    with_tenant(&from);
    for _ in 0..3 {
        from.write_blocking(|tx| {
            tx.append_audit(
                Ns::from(&acme()),
                Timestamp::from_millis(5),
                AuditEvent::new(Actor::system(), AuditAction::Login),
            )
        })
        .unwrap();
    }
    let mut entries = Vec::new();
    from.read_blocking(|rx| {
        rx.audit_scan(Ns::from(&acme()), 1..=3, false, &mut |e| {
            entries.push(e.unwrap());
            true
        })
    })
    .unwrap();
    for e in engines() {
        with_tenant(&e.store);
        let import = |entry: AuditEntry| {
            e.store
                .write_blocking(move |tx| tx.import_audit(Ns::from(&acme()), &entry))
        };
        // Out of order: entry 2 before entry 1.
        assert!(
            matches!(import(entries[1].clone()), Err(StoreError::Corrupt(_))),
            "{}",
            e.name
        );
        import(entries[0].clone()).unwrap();
        // Altered after sealing.
        let mut forged = entries[1].clone();
        forged.reason = Some("forged".into());
        assert!(
            matches!(import(forged), Err(StoreError::Corrupt(_))),
            "{}",
            e.name
        );
        import(entries[1].clone()).unwrap();
        import(entries[2].clone()).unwrap();
        let head = e
            .store
            .read_blocking(|rx| rx.audit_head(Ns::from(&acme())))
            .unwrap();
        assert_eq!(head, (3, entries[2].hash), "{}", e.name);
        assert_eq!(
            e.store.check_online().unwrap().audit_entries,
            3,
            "{}",
            e.name
        );
    }
}

/// Two nodes exchange one refresh token at once: exactly one wins.
#[test]
fn racing_refresh_rotations_have_exactly_one_winner() {
    for e in engines() {
        with_tenant(&e.store);
        e.store
            .write_blocking(|tx| {
                let scope = acme();
                let ns = Ns::from(&scope);
                tx.put_session(ns, &session(1, 7, 10))?;
                let r = RefreshRecord {
                    session_id: SessionId::from_u128(1),
                    generation: 0,
                    created_at: Timestamp::from_millis(10),
                    used_at: None,
                };
                tx.put_refresh(ns, &[1; 32], &r)
            })
            .unwrap();
        let nodes: Vec<Store> = [Some(e.store.clone()), e.other.clone()]
            .into_iter()
            .flatten()
            .collect();
        let wins: usize = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let node = nodes[i % nodes.len()].clone();
                    sc.spawn(move || {
                        node.write_blocking(move |tx| {
                            let scope = acme();
                            let ns = Ns::from(&scope);
                            let Some(mut r) = tx.refresh(ns, &[1; 32])? else {
                                return Ok(false);
                            };
                            if r.used_at.is_some() {
                                return Ok(false);
                            }
                            r.used_at = Some(Timestamp::from_millis(20));
                            tx.put_refresh(ns, &[1; 32], &r)?;
                            let next = RefreshRecord {
                                generation: 1,
                                used_at: None,
                                ..r
                            };
                            tx.put_refresh(ns, &[2 + i as u8; 32], &next)?;
                            Ok(true)
                        })
                        .unwrap()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(wins, 1, "{}", e.name);
        let chain = e
            .store
            .read_blocking(|rx| rx.refresh_chain(Ns::from(&acme()), SessionId::from_u128(1)))
            .unwrap();
        assert_eq!(chain.len(), 2, "{}: one successor only", e.name);
    }
}
