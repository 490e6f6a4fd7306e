//! Conformance of the outbox, webhook and delivery store API on both engines.

use sessiond::domain::{
    DeliveryRecord, DeliveryStatus, EndpointId, EndpointRecord, EventKind, SessionId, Timestamp,
};
use sessiond::store::{Ns, StoreError};

use crate::store_api::{acme, engines, revoked, session, with_tenant};

fn hook(id: u128, cursor: u64) -> EndpointRecord {
    EndpointRecord {
        id: EndpointId::from_u128(id),
        kind: sessiond::domain::outbox::EndpointKind::Webhook,
        url: "https://example.org/h".into(),
        key: [1; 32],
        enabled: true,
        events: vec![],
        description: None,
        created_at: Timestamp::from_millis(1),
        cursor,
    }
}

#[test]
fn revocations_append_one_event_each_in_their_transaction() {
    for e in engines() {
        let s = &e.store;
        with_tenant(s);
        s.write_blocking(|tx| {
            let scope = acme();
            for i in 1..=4u128 {
                tx.put_session(Ns::from(&scope), &session(i, 7, 10))?;
            }
            Ok(())
        })
        .unwrap();
        let head = |s: &sessiond::store::Store| {
            s.read_blocking(|rx| rx.event_head(Ns::from(&acme())))
                .unwrap()
        };
        assert_eq!(head(s), 0, "{}: logins are not in the outbox", e.name);
        // One by one, and in bulk (a revoked one again adds nothing).
        s.write_blocking(|tx| {
            let ns_scope = acme();
            let ns = Ns::from(&ns_scope);
            let old = tx.session(ns, SessionId::from_u128(1))?.unwrap();
            tx.replace_session(ns, &old, &revoked(&old))
        })
        .unwrap();
        s.write_blocking(|tx| {
            let ids: Vec<SessionId> = [1u128, 2, 3].map(SessionId::from_u128).to_vec();
            tx.update_sessions(Ns::from(&acme()), &ids, &mut |old| {
                old.is_active().then(|| revoked(old))
            })
        })
        .unwrap();
        // A write that fails after revoking leaves no event (PostgreSQL rolls
        // back; on redb the closure checks first, so it never gets here).
        if e.name == "postgres" {
            let r = s.write_blocking(|tx| {
                let scope = acme();
                let ns = Ns::from(&scope);
                let old = tx.session(ns, SessionId::from_u128(4))?.unwrap();
                tx.replace_session(ns, &old, &revoked(&old))?;
                Err::<(), _>(StoreError::Conflict("changed my mind".into()))
            });
            assert!(r.is_err());
        }
        assert_eq!(head(s), 3, "{}", e.name);
        let events = s
            .read_blocking(|rx| rx.events_after(Ns::from(&acme()), 0, 10))
            .unwrap();
        let got: Vec<(u64, u128)> = events
            .iter()
            .map(|ev| match ev.kind {
                EventKind::SessionRevoked { session, .. } => (ev.seq, session.as_u128()),
                EventKind::SessionCreated { .. } => panic!("a stored session is no login: {ev:?}"),
            })
            .collect();
        assert_eq!(got, vec![(1, 1), (2, 2), (3, 3)], "{}", e.name);
        let later = s
            .read_blocking(|rx| rx.events_after(Ns::from(&acme()), 2, 10))
            .unwrap();
        assert_eq!(later.len(), 1);
        // The platform's own sessions have no outbox.
        s.write_blocking(|tx| {
            tx.put_session(Ns::Platform, &session(50, 1, 10))?;
            let old = tx.session(Ns::Platform, SessionId::from_u128(50))?.unwrap();
            tx.replace_session(Ns::Platform, &old, &revoked(&old))
        })
        .unwrap();
        assert_eq!(
            s.read_blocking(|rx| rx.event_head(Ns::Platform)).unwrap(),
            0
        );
        if let Some(other) = &e.other {
            assert_eq!(head(other), 3, "a second node sees the same outbox");
        }
        // Pruning keeps the newest, so seqs never restart.
        let n = s
            .write_blocking(|tx| tx.prune_events(Ns::from(&acme()), Timestamp::from_millis(1_000)))
            .unwrap();
        assert_eq!(n, 2, "{}", e.name);
        assert_eq!(head(s), 3, "{}", e.name);
    }
}

#[test]
fn deliveries_keep_a_due_index_and_go_with_their_endpoint() {
    for e in engines() {
        let s = &e.store;
        with_tenant(s);
        let t0 = Timestamp::from_millis(1_000);
        s.write_blocking(move |tx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            tx.put_webhook(ns, &hook(1, 0))?;
            tx.put_webhook(ns, &hook(2, 0))?;
            for seq in 1..=3 {
                tx.put_delivery(ns, &DeliveryRecord::new(EndpointId::from_u128(1), seq, t0))?;
            }
            tx.put_delivery(ns, &DeliveryRecord::new(EndpointId::from_u128(2), 1, t0))
        })
        .unwrap();
        // Seq 1 of endpoint 1 is delivered, seq 2 retried later.
        s.write_blocking(move |tx| {
            let scope = acme();
            let ns = Ns::from(&scope);
            let w = EndpointId::from_u128(1);
            let d1 = tx.delivery(ns, w, 1)?.unwrap();
            tx.put_delivery(ns, &d1.after_attempt(t0, Ok(202), 0.0))?;
            let d2 = tx.delivery(ns, w, 2)?.unwrap();
            tx.put_delivery(
                ns,
                &d2.after_attempt(t0, Err((Some(500), "500".into(), false)), 0.0),
            )
        })
        .unwrap();
        let due = |at: i64| {
            s.read_blocking(move |rx| {
                rx.due_deliveries(Ns::from(&acme()), Timestamp::from_millis(at), 10)
            })
            .unwrap()
            .iter()
            .map(|d| (d.webhook.as_u128(), d.seq))
            .collect::<Vec<_>>()
        };
        assert_eq!(due(1_000), vec![(1, 3), (2, 1)], "{}", e.name);
        assert_eq!(due(999), vec![], "{}", e.name);
        assert_eq!(due(6_000), vec![(1, 3), (2, 1), (1, 2)], "{}", e.name);
        let page = s
            .read_blocking(|rx| rx.deliveries(Ns::from(&acme()), EndpointId::from_u128(1), None, 2))
            .unwrap();
        assert_eq!(page.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(page[1].status, DeliveryStatus::Pending);
        let rest = s
            .read_blocking(|rx| {
                rx.deliveries(Ns::from(&acme()), EndpointId::from_u128(1), Some(2), 5)
            })
            .unwrap();
        assert_eq!(rest.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![1]);
        assert_eq!(rest[0].status, DeliveryStatus::Delivered);
        let removed = s
            .write_blocking(|tx| tx.remove_webhook(Ns::from(&acme()), EndpointId::from_u128(1)))
            .unwrap();
        assert!(removed);
        assert_eq!(
            due(10_000),
            vec![(2, 1)],
            "{}: its due entries went too",
            e.name
        );
        let again = s
            .write_blocking(|tx| tx.remove_webhook(Ns::from(&acme()), EndpointId::from_u128(1)))
            .unwrap();
        assert!(!again);
        let hooks = s
            .read_blocking(|rx| rx.webhooks(Ns::from(&acme())))
            .unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0], hook(2, 0));
    }
}
