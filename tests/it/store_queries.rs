//! The store's domain queries (session lists, bulk targets, active counts,
//! id batches) answer the same on both engines, with this node's unflushed
//! activity merged in: redb walks its indexes, PostgreSQL runs one query.

use std::collections::HashMap;

use sessiond::auth::TenantScope;
use sessiond::domain::query::{Activity, BulkFilter, Cursor, SessionQuery, Sort, StatusFilter};
use sessiond::domain::{SessionId, SessionRecord, TenantId, Timestamp, UserId};
use sessiond::store::{Ns, Store};

use crate::store_api::{acme, engines, revoked, session, tenant, user, with_tenant};

fn sid(n: u128) -> SessionId {
    SessionId::from_u128(n)
}

/// Users 1 (Ann), 2 (Bob Stone), 3 (Cy); sessions 10..=15, 13 revoked.
/// At `now` = 10.2 s with a 10 s idle timeout, 11 and 15 are idle-expired,
/// and 10 is active only through its fresh (unflushed) activity.
fn seed(store: &Store) {
    with_tenant(store);
    store
        .write_blocking(|tx| {
            tx.insert_tenant(&tenant("globex"))?;
            let scope = acme();
            let ns = Ns::from(&scope);
            tx.put_user(ns, &user(1, "ann@x.test", "Ann"))?;
            tx.put_user(ns, &user(2, "bob@x.test", "Bob Stone"))?;
            tx.put_user(ns, &user(3, "cy@x.test", "Cy"))?;
            for (id, u, last) in [
                (10, 1, 100),
                (11, 1, 200),
                (12, 2, 300),
                (14, 3, 500),
                (15, 3, 50),
            ] {
                tx.put_session(ns, &session(id, u, last))?;
            }
            tx.put_session(ns, &revoked(&session(13, 2, 400)))
        })
        .unwrap();
}

fn fresh() -> HashMap<SessionId, Timestamp> {
    HashMap::from([(sid(10), Timestamp::from_millis(9_500))])
}

fn at(fresh: &HashMap<SessionId, Timestamp>) -> Activity<'_> {
    Activity {
        now: Timestamp::from_millis(10_200),
        idle_timeout_secs: 10,
        fresh,
    }
}

fn ids(rows: &[SessionRecord]) -> Vec<u128> {
    rows.iter().map(|s| s.id.as_u128()).collect()
}

fn sorted(mut v: Vec<SessionId>) -> Vec<u128> {
    v.sort_unstable();
    v.into_iter().map(|s| s.as_u128()).collect()
}

fn query(status: StatusFilter, sort: Sort, limit: usize) -> SessionQuery {
    SessionQuery {
        status,
        sort,
        limit,
        ..SessionQuery::default()
    }
}

#[test]
fn session_queries_merge_fresh_activity_and_page_by_cursor() {
    for e in engines() {
        let name = e.name;
        seed(&e.store);
        let fresh = fresh();
        let check = |rx: &sessiond::store::Rx<'_>| -> Result<(), sessiond::store::StoreError> {
            let at = at(&fresh);
            let scope = acme();
            let ns = Ns::from(&scope);
            let q = |q: &SessionQuery| rx.query_sessions(ns, q, &at);
            use {Sort::*, StatusFilter::*};

            // limit + 1 rows, the fresh session first by its fresh activity.
            let first = q(&query(Active, LastActivityDesc, 2))?;
            assert_eq!(ids(&first), [10, 14, 12], "{name}");
            // Past the fresh session's key: it does not come back.
            let cursor = Some(at.key(&first[1], LastActivityDesc));
            assert_eq!(cursor, Some(Cursor::Activity(500, sid(14))), "{name}");
            let next = q(&SessionQuery {
                cursor,
                ..query(Active, LastActivityDesc, 2)
            })?;
            assert_eq!(ids(&next), [12], "{name}");
            // A cursor at the fresh key itself continues behind it.
            let cursor = Some(Cursor::Activity(9_500, sid(10)));
            let behind = q(&SessionQuery {
                cursor,
                ..query(Active, LastActivityDesc, 5)
            })?;
            assert_eq!(ids(&behind), [14, 12], "{name}");

            let all = q(&query(All, LastActivityDesc, 10))?;
            assert_eq!(ids(&all), [10, 14, 13, 12, 11, 15], "{name}");
            let all_page = q(&SessionQuery {
                cursor: Some(Cursor::Activity(400, sid(13))),
                ..query(All, LastActivityDesc, 2)
            })?;
            assert_eq!(ids(&all_page), [12, 11, 15], "{name}");

            assert_eq!(
                ids(&q(&query(Active, CreatedDesc, 10))?),
                [14, 12, 10],
                "{name}"
            );
            assert_eq!(ids(&q(&query(Revoked, CreatedDesc, 10))?), [13], "{name}");
            assert_eq!(
                ids(&q(&query(Revoked, LastActivityDesc, 10))?),
                [13],
                "{name}"
            );
            let created_page = q(&SessionQuery {
                cursor: Some(Cursor::Created(sid(14))),
                ..query(All, CreatedDesc, 10)
            })?;
            assert_eq!(ids(&created_page), [13, 12, 11, 10], "{name}");

            let of = |u: u128, status| SessionQuery {
                user_id: Some(UserId::from_u128(u)),
                ..query(status, LastActivityDesc, 10)
            };
            assert_eq!(ids(&q(&of(1, Active))?), [10], "{name}");
            assert_eq!(ids(&q(&of(1, All))?), [10, 11], "{name}");
            assert_eq!(ids(&q(&of(2, Revoked))?), [13], "{name}");
            // One user's list pages by cursor in either order.
            let of_page = |u, sort, cursor| SessionQuery {
                cursor: Some(cursor),
                sort,
                ..of(u, All)
            };
            let past_fresh = of_page(1, LastActivityDesc, Cursor::Activity(9_500, sid(10)));
            assert_eq!(ids(&q(&past_fresh)?), [11], "{name}");
            let created = of_page(2, CreatedDesc, Cursor::Created(sid(13)));
            assert_eq!(ids(&q(&created)?), [12], "{name}");
            let text = |t: &str, status| SessionQuery {
                q: Some(t.into()),
                ..query(status, LastActivityDesc, 10)
            };
            assert_eq!(ids(&q(&text("stone", Active))?), [12], "{name}");
            assert_eq!(ids(&q(&text("STONE", All))?), [13, 12], "{name}");
            assert_eq!(ids(&q(&text("ann@x", All))?), [10, 11], "{name}");
            // LIKE wildcards are literal text, not patterns.
            assert!(q(&text("%", All))?.is_empty(), "{name}");
            assert!(q(&text("b_b", All))?.is_empty(), "{name}");
            // The user filter and the text must both hold.
            assert!(
                q(&SessionQuery {
                    q: Some("stone".into()),
                    ..of(1, All)
                })?
                .is_empty()
            );

            // Another tenant's namespace holds none of them.
            let globex = TenantScope::operator(TenantId::parse("globex").unwrap());
            let other =
                rx.query_sessions(Ns::from(&globex), &query(All, LastActivityDesc, 10), &at)?;
            assert!(other.is_empty(), "{name}");
            Ok(())
        };
        e.store.read_blocking(check).unwrap();
        if let Some(node) = &e.other {
            node.read_blocking(check).unwrap();
        }
    }
}

#[test]
fn by_user_keys_follow_activity_and_outlive_revocation() {
    use sessiond::store::IndexedSession;
    for e in engines() {
        let name = e.name;
        seed(&e.store);
        let keys = |store: &Store| {
            let mut k = store
                .read_blocking(|rx| {
                    rx.session_keys_of_users(Ns::from(&acme()), &[UserId::from_u128(2)])
                })
                .unwrap();
            k.sort_unstable_by_key(|k| k.id);
            k
        };
        let key = |id: u128, at: i64| IndexedSession {
            id: sid(id),
            last_activity_ms: at,
        };
        assert_eq!(keys(&e.store), [key(12, 300), key(13, 400)], "{name}");
        e.store
            .write_blocking(|tx| {
                let scope = acme();
                tx.update_sessions(Ns::from(&scope), &[sid(12)], &mut |old: &SessionRecord| {
                    Some(SessionRecord {
                        last_activity_at: Timestamp::from_millis(700),
                        ..old.clone()
                    })
                })
            })
            .unwrap();
        assert_eq!(keys(&e.store), [key(12, 700), key(13, 400)], "{name}");
        // Revoked, the session keeps its activity and its place.
        e.store
            .write_blocking(|tx| {
                let scope = acme();
                tx.put_session(Ns::from(&scope), &revoked(&session(12, 2, 700)))
            })
            .unwrap();
        assert_eq!(keys(&e.store), [key(12, 700), key(13, 400)], "{name}");
        let of_bob = |status| SessionQuery {
            user_id: Some(UserId::from_u128(2)),
            ..query(status, Sort::LastActivityDesc, 10)
        };
        let fresh = HashMap::new();
        let (active, ended) = e
            .store
            .read_blocking(move |rx| {
                let scope = acme();
                let (ns, at) = (Ns::from(&scope), at(&fresh));
                Ok((
                    rx.query_sessions(ns, &of_bob(StatusFilter::All), &at)?,
                    rx.query_sessions(ns, &of_bob(StatusFilter::Revoked), &at)?,
                ))
            })
            .unwrap();
        assert_eq!(ids(&active), [12, 13], "{name}");
        assert_eq!(ids(&ended), [12, 13], "{name}");
    }
}

#[test]
fn bulk_targets_counts_and_id_batches() {
    for e in engines() {
        let name = e.name;
        seed(&e.store);
        let fresh = fresh();
        e.store
            .read_blocking(|rx| {
                let at = at(&fresh);
                let scope = acme();
                let ns = Ns::from(&scope);
                let bulk = |f: &BulkFilter, except| rx.bulk_targets(ns, f, except, &at);
                let all = BulkFilter {
                    all: Some(true),
                    ..BulkFilter::default()
                };
                // Every session still in the active state (idle ones too), but the spared one.
                assert_eq!(
                    sorted(bulk(&all, Some(sid(14)))?),
                    [10, 11, 12, 15],
                    "{name}"
                );
                // Idle for 9 s: fresh activity keeps session 10 out.
                let idle = BulkFilter {
                    idle_for_secs: Some(9),
                    ..BulkFilter::default()
                };
                assert_eq!(sorted(bulk(&idle, None)?), [11, 12, 14, 15], "{name}");
                let of_ann = BulkFilter {
                    user_ids: Some(vec![UserId::from_u128(1), UserId::from_u128(1)]),
                    ..idle.clone()
                };
                assert_eq!(sorted(bulk(&of_ann, None)?), [11], "{name}");
                let old = BulkFilter {
                    created_before: Some(Timestamp::from_millis(150)),
                    ..BulkFilter::default()
                };
                assert_eq!(sorted(bulk(&old, None)?), [10, 15], "{name}");
                let of_bob = BulkFilter {
                    user_ids: Some(vec![UserId::from_u128(2)]),
                    ..BulkFilter::default()
                };
                assert_eq!(sorted(bulk(&of_bob, None)?), [12], "{name}");

                // Stored activity after the idle cutoff (200 ms): 12 and 14.
                assert_eq!(rx.count_active(ns, at.idle_cutoff())?, 2, "{name}");
                assert_eq!(rx.count_active(ns, 0)?, 5, "{name}");

                let found = rx.sessions_by_ids(ns, &[sid(12), sid(99), sid(13), sid(10)])?;
                let mut got = ids(&found);
                got.sort_unstable();
                assert_eq!(got, [10, 12, 13], "{name}");
                let globex = TenantScope::operator(TenantId::parse("globex").unwrap());
                assert!(
                    rx.sessions_by_ids(Ns::from(&globex), &[sid(12)])?
                        .is_empty(),
                    "{name}"
                );
                Ok(())
            })
            .unwrap();
    }
}

/// More candidate users than the by-user path takes (600): the walk along
/// the activity index skips other users' sessions by the index's user and
/// still answers only matches, in order, on both engines.
#[test]
fn a_search_matching_many_users_walks_the_activity_index() {
    for e in engines() {
        let name = e.name;
        with_tenant(&e.store);
        e.store
            .write_blocking(|tx| {
                let scope = acme();
                let ns = Ns::from(&scope);
                // 1,400 users, every other one a Kowalski; one session each,
                // activity interleaving the two kinds.
                for i in 1..=1_400u128 {
                    let (email, who) = if i % 2 == 0 {
                        (format!("k{i}@x.test"), format!("Kowalski {i}"))
                    } else {
                        (format!("s{i}@x.test"), format!("Smith {i}"))
                    };
                    tx.put_user(ns, &user(i, &email, &who))?;
                    tx.put_session(ns, &session(10_000 + i, i, 1_000 + i as i64))?;
                }
                Ok(())
            })
            .unwrap();
        let fresh = HashMap::new();
        let at = Activity {
            now: Timestamp::from_millis(2_000),
            idle_timeout_secs: 3_600,
            fresh: &fresh,
        };
        let search = |q: &str| {
            let q = q.to_owned();
            e.store
                .read_blocking(move |rx| {
                    let scope = acme();
                    rx.query_sessions(
                        Ns::from(&scope),
                        &SessionQuery {
                            q: Some(q.clone()),
                            ..query(StatusFilter::Active, Sort::LastActivityDesc, 50)
                        },
                        &at,
                    )
                })
                .unwrap()
        };
        // The newest 51 Kowalskis: users 1400, 1398, …, 1300.
        let want: Vec<u128> = (0..51).map(|k| 10_000 + 1_400 - 2 * k).collect();
        assert_eq!(ids(&search("kowalski")), want, "{name}");
        // Fewer users (≈ 250) holding a large share: walked too, same answer.
        assert_eq!(ids(&search("kowalski 1")), want, "{name}");
        // A handful of users (98, 980…988): gathered through the by-user index.
        let few: Vec<u128> = [988u128, 986, 984, 982, 980, 98]
            .map(|u| 10_000 + u)
            .to_vec();
        assert_eq!(ids(&search("kowalski 98")), few, "{name}");
        // One snapshot asked two searches answers each its own.
        let (k, s, again) = e
            .store
            .read_blocking(|rx| {
                let scope = acme();
                let ns = Ns::from(&scope);
                Ok((
                    rx.user_candidates(ns, "kowalski 98")?,
                    rx.user_candidates(ns, "smith 9")?,
                    rx.user_candidates(ns, "kowalski 98")?,
                ))
            })
            .unwrap();
        assert!(k.contains(&UserId::from_u128(988)), "{name}");
        assert!(s.contains(&UserId::from_u128(999)), "{name}");
        assert!(k.iter().all(|u| !s.contains(u)), "{name}");
        assert_eq!(k, again, "{name}");
    }
}
