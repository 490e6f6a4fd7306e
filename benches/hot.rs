//! Micro-benchmarks of the hot pieces (`cargo bench`); the end-to-end
//! figures are `sessiond bench`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use sessiond::auth::TenantScope;
use sessiond::auth::token::{AUDIENCE, Claims, KeyMaterial, Keys};
use sessiond::auth::verified::{VerifiedTokens, token_key};
use sessiond::clock::{Clock, SystemClock};
use sessiond::domain::{RevokeReason, Role, SessionId, SessionRecord, SessionState, TenantId};
use sessiond::store::{Ns, Store, decode, encode};

fn session(now: sessiond::domain::Timestamp) -> SessionRecord {
    SessionRecord {
        id: SessionId::new_v7(),
        user_id: sessiond::domain::UserId::new_v7(),
        created_at: now,
        last_activity_at: now,
        expires_at: now.plus_secs(86_400),
        ip: Some("203.0.113.7".into()),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0".into(),
        ),
        state: SessionState::Active,
        support: None,
    }
}

fn codec(c: &mut Criterion) {
    let s = session(SystemClock.now());
    let bytes = encode(&s);
    c.bench_function("codec/encode session", |b| b.iter(|| encode(black_box(&s))));
    c.bench_function("codec/decode session", |b| {
        b.iter(|| decode::<SessionRecord>(black_box(&bytes)).unwrap())
    });
}

fn tokens(c: &mut Criterion) {
    let now = SystemClock.now();
    let keys = Keys::single(&KeyMaterial::generate(now), "sessiond");
    let claims = Claims {
        iss: "sessiond".into(),
        aud: AUDIENCE.into(),
        sub: sessiond::domain::UserId::new_v7().to_string(),
        tid: "acme".into(),
        sid: SessionId::new_v7().to_string(),
        role: Role::Member,
        iat: now.unix_secs(),
        exp: now.unix_secs() + 900,
        jti: "bench".into(),
        gid: None,
    };
    let token = keys.sign(&claims, now).unwrap();
    c.bench_function("token/verify cold (Ed25519 + claims)", |b| {
        b.iter(|| keys.verify(black_box(&token), now).unwrap())
    });
    let cache = VerifiedTokens::new(32_768);
    let verified = Arc::new(keys.verify(&token, now).unwrap());
    cache.insert(token_key(&token), verified, now.unix_secs());
    c.bench_function("token/verify cached (SHA-256 + lookup)", |b| {
        b.iter(|| cache.get(&token_key(black_box(&token))).unwrap())
    });
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let slug = TenantId::parse("bench").unwrap();
    sessiond::seed::seed(&store, &slug, 2_000, 100_000, SystemClock.now()).unwrap();
    let scope = TenantScope::operator(slug);
    let ids: Vec<SessionId> = store
        .read_blocking(|rx| rx.sessions_page(Ns::from(&scope), None, 20_000))
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let sid = ids[ids.len() / 2];
    c.bench_function("store/point read of a session", |b| {
        b.iter(|| {
            store
                .read_blocking(|rx| rx.session(Ns::from(&scope), black_box(sid)))
                .unwrap()
                .unwrap()
        })
    });
    c.bench_function("store/page of 50 sessions", |b| {
        b.iter(|| {
            store
                .read_blocking(|rx| rx.sessions_page(Ns::from(&scope), None, 50))
                .unwrap()
        })
    });
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let mut g = c.benchmark_group("store");
    g.sample_size(20);
    g.bench_function("revoke one session (durable commit)", |b| {
        b.iter(|| {
            let i = next.fetch_add(1, Ordering::Relaxed) % ids.len();
            let (sid, scope) = (ids[i], scope.clone());
            store
                .write_blocking(move |tx| {
                    let ns = Ns::from(&scope);
                    let Some(old) = tx.session(ns, sid)? else {
                        return Ok(());
                    };
                    let mut s = old.clone();
                    s.state = SessionState::Revoked {
                        at: SystemClock.now(),
                        by: None,
                        reason: RevokeReason::AdminRevoked,
                        note: None,
                    };
                    tx.replace_session(ns, &old, &s)
                })
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, codec, tokens, store);
criterion_main!(benches);
