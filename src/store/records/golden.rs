//! Golden bytes: what each record looks like on disk today.

use super::{decode, encode};
use crate::domain::session::RefreshRecord;
use crate::domain::user::PasswordHash;
use crate::domain::*;
use crate::store::StoreError;

// Changing these bytes means changing the on-disk format: add a `…V2`
// stored type instead (see `mod.rs`).
#[test]
fn golden_session_record() {
    let s = SessionRecord {
        id: SessionId::from_u128(1),
        user_id: UserId::from_u128(2),
        created_at: Timestamp::from_millis(1000),
        last_activity_at: Timestamp::from_millis(2000),
        expires_at: Timestamp::from_millis(3000),
        ip: Some("10.0.0.1".into()),
        user_agent: None,
        state: SessionState::Revoked {
            at: Timestamp::from_millis(2500),
            by: None,
            reason: RevokeReason::AdminRevoked,
            note: Some("x".into()),
        },
        support: None,
    };
    let bytes = encode(&s);
    assert_eq!(
        hex::encode(&bytes),
        // id 1, user 2, then zigzag varints: 1000 ms → d00f, 2000 → a01f, 3000 → f02e
        "010102d00fa01ff02e0108\
         31302e302e302e31\
         0001882700010101780 0"
            .replace(' ', "")
    );
    assert_eq!(decode::<SessionRecord>(&bytes).unwrap(), s);
}

#[test]
fn golden_user_record() {
    let u = UserRecord {
        id: UserId::from_u128(3),
        email: "a@b.c".into(),
        display_name: "A".into(),
        role: Role::OrgAdmin,
        password_hash: PasswordHash("h".into()),
        disabled: false,
        sessions_valid_after: None,
        created_at: Timestamp::from_millis(1),
        updated_at: Timestamp::from_millis(2),
    };
    let bytes = encode(&u);
    assert_eq!(
        hex::encode(&bytes),
        "010305614062 2e63014101016800000204".replace(' ', "")
    );
    assert_eq!(decode::<UserRecord>(&bytes).unwrap(), u);
}

#[test]
fn golden_refresh_record() {
    let r = RefreshRecord {
        session_id: SessionId::from_u128(5),
        generation: 7,
        created_at: Timestamp::from_millis(10),
        used_at: Some(Timestamp::from_millis(11)),
    };
    let bytes = encode(&r);
    assert_eq!(hex::encode(&bytes), "010507140116");
    assert_eq!(decode::<RefreshRecord>(&bytes).unwrap(), r);
}

#[test]
fn golden_tenant_grant_client_audit_keyring() {
    use crate::auth::keyring::{KeyRing, RingKey};
    use crate::auth::token::KeyMaterial;
    use crate::domain::audit::AuditEntry;
    use crate::domain::grant::GrantActor;
    let t = TenantRecord {
        slug: TenantId::parse("acme").unwrap(),
        name: "Acme".into(),
        created_at: Timestamp::from_millis(1),
        policy: Policy::default(),
    };
    let g = GrantRecord {
        id: GrantId::from_u128(9),
        tenant: TenantId::parse("acme").unwrap(),
        grantee_id: UserId::from_u128(4),
        grantee_email: "g@x.y".into(),
        reason: "r".into(),
        duration_secs: 60,
        status: GrantStatus::Revoked,
        requested_at: Timestamp::from_millis(1),
        requested_by_grantee: true,
        decided_at: Some(Timestamp::from_millis(2)),
        decided_by: Some(GrantActor {
            id: Some(UserId::from_u128(5)),
            email: None,
        }),
        starts_at: Some(Timestamp::from_millis(3)),
        expires_at: Some(Timestamp::from_millis(4)),
        ended_at: None,
        ended_by: None,
        sessions: vec![SessionId::from_u128(6)],
    };
    let c = ClientRecord {
        id: ClientId::from_u128(10),
        name: "api".into(),
        secret_hash: [0xab; 32],
        created_at: Timestamp::from_millis(5),
    };
    let a = AuditEntry {
        seq: 2,
        at: Timestamp::from_millis(6),
        actor: Actor {
            kind: ActorKind::GlobalAdmin,
            id: Some(UserId::from_u128(1)),
            email: Some("e".into()),
        },
        action: "login".into(),
        target: Some("t".into()),
        reason: None,
        ip: Some("i".into()),
        grant_id: Some(GrantId::from_u128(2)),
        details: "{}".into(),
        prev_hash: [1; 32],
        hash: [2; 32],
    };
    let k = KeyRing {
        keys: vec![RingKey {
            key: KeyMaterial {
                kid: "k".into(),
                seed: [3; 32],
                created_at: Timestamp::from_millis(7),
            },
            activates_at: Timestamp::from_millis(8),
        }],
    };
    let got = [
        hex::encode(encode(&t)),
        hex::encode(encode(&g)),
        hex::encode(encode(&c)),
        hex::encode(encode(&a)),
        hex::encode(encode(&k)),
    ];
    let want = [
        "020461636d650441636d6502d804901cc0b2040080c203100000",
        "01090461636d6504056740782e790172780302010104010105000106010800000106",
        "010a03617069abababababababababababababababababababababababababababababababab0a",
        "01020c010101010165056c6f67696e010174000101690102027b7d01010101010101010101010101010101010101010101010101010101010101010202020202020202020202020202020202020202020202020202020202020202",
        "0101016b03030303030303030303030303030303030303030303030303030303030303030e10",
    ];
    assert_eq!(got, want);
    assert_eq!(decode::<TenantRecord>(&encode(&t)).unwrap(), t);
    // What builds before session limits wrote still reads: no limit.
    let v1 = hex::decode("010461636d650441636d6502d804901cc0b2040080c20310").unwrap();
    assert_eq!(decode::<TenantRecord>(&v1).unwrap(), t);
    assert_eq!(super::tenant::DbTenantV1::encode_v1(&t), v1);
    let limited = TenantRecord {
        policy: Policy {
            max_sessions_per_user: 3,
            session_limit_action: crate::domain::policy::SessionLimitAction::Refuse,
            ..Policy::default()
        },
        ..t.clone()
    };
    assert!(hex::encode(encode(&limited)).ends_with("0601"));
    assert_eq!(decode::<TenantRecord>(&encode(&limited)).unwrap(), limited);
    assert_eq!(decode::<GrantRecord>(&encode(&g)).unwrap(), g);
    assert_eq!(decode::<ClientRecord>(&encode(&c)).unwrap(), c);
    assert_eq!(decode::<AuditEntry>(&encode(&a)).unwrap(), a);
    let k2 = decode::<KeyRing>(&encode(&k)).unwrap();
    assert_eq!(k2.keys[0].key.seed, [3; 32]);
    assert_eq!(k2.keys[0].activates_at, Timestamp::from_millis(8));
}

#[test]
fn golden_session_created_event() {
    let e = OutboxEvent {
        seq: 3,
        at: Timestamp::from_millis(4),
        kind: EventKind::SessionCreated {
            session: SessionId::from_u128(5),
            user: UserId::from_u128(6),
            ip: Some("a".into()),
            user_agent: None,
        },
    };
    // seq 3, at 4 ms (zigzag 08), variant 1 (appended), ids, Some("a"), None.
    assert_eq!(hex::encode(encode(&e)), "01030801050601016100");
    assert_eq!(decode::<OutboxEvent>(&encode(&e)).unwrap(), e);
}

#[test]
fn golden_outbox_webhook_delivery() {
    let e = OutboxEvent {
        seq: 3,
        at: Timestamp::from_millis(4),
        kind: EventKind::SessionRevoked {
            session: SessionId::from_u128(5),
            user: UserId::from_u128(6),
            by: Some(UserId::from_u128(7)),
            reason: RevokeReason::BulkRevoked,
            support: true,
        },
    };
    let w = EndpointRecord {
        id: EndpointId::from_u128(8),
        kind: crate::domain::outbox::EndpointKind::Webhook,
        url: "h".into(),
        key: [9; 32],
        enabled: true,
        events: vec!["e".into()],
        description: None,
        created_at: Timestamp::from_millis(10),
        cursor: 11,
    };
    let d = DeliveryRecord {
        webhook: EndpointId::from_u128(8),
        seq: 3,
        status: DeliveryStatus::Failed,
        attempts: 2,
        created_at: Timestamp::from_millis(12),
        next_at: Timestamp::from_millis(13),
        last_attempt_at: Some(Timestamp::from_millis(14)),
        last_status: Some(500),
        last_error: Some("x".into()),
    };
    let got = [
        hex::encode(encode(&e)),
        hex::encode(encode(&w)),
        hex::encode(encode(&d)),
    ];
    let want = [
        // seq 3, at 4 ms (zigzag 08), variant 0, session 5, user 6, by 7, bulk_revoked (8), support
        "01030800050601070801",
        "010800016809090909090909090909090909090909090909090909090909090909090909090101016500140b",
        "0108030202181a011c01f403010178",
    ];
    assert_eq!(got, want);
    assert_eq!(decode::<OutboxEvent>(&encode(&e)).unwrap(), e);
    assert_eq!(decode::<EndpointRecord>(&encode(&w)).unwrap(), w);
    assert_eq!(decode::<DeliveryRecord>(&encode(&d)).unwrap(), d);
}

#[test]
fn unknown_version_and_garbage_are_corrupt_not_panics() {
    assert!(matches!(
        decode::<RefreshRecord>(&[]),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        decode::<RefreshRecord>(&[9, 1, 2]),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        decode::<RefreshRecord>(&[1, 0xff]),
        Err(StoreError::Corrupt(_))
    ));
}
