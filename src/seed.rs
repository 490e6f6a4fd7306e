//! `sessiond seed`: synthetic users and sessions written straight into a
//! stopped database, fast (one password hash reused; batched transactions),
//! so anyone can reproduce the scale figures.

use std::time::Instant;

use crate::auth::password::hash_blocking;
use crate::auth::{Secret, TenantScope};
use crate::domain::user::PasswordHash;
use crate::domain::{
    Policy, Role, SessionId, SessionRecord, SessionState, TenantId, TenantRecord, Timestamp,
    UserId, UserRecord,
};
use crate::store::{Ns, Store, StoreError};

const BATCH: usize = 20_000;

const FIRST: [&str; 16] = [
    "Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jon", "Kemal", "Lena",
    "Mateo", "Nia", "Omar", "Priya",
];
const LAST: [&str; 16] = [
    "Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Müller", "Novak", "Okafor", "Petrov",
];
const AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "okhttp/4.12.0",
];

/// xorshift64*: deterministic, so two seeds of the same size look alike.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

pub struct SeedReport {
    pub users: usize,
    pub sessions: usize,
    pub secs: f64,
    pub admin_password: Option<Secret>,
}

/// Add `users` users and `sessions` sessions to `slug` (created if missing).
pub fn seed(
    store: &Store,
    slug: &TenantId,
    users: usize,
    sessions: usize,
    now: Timestamp,
) -> Result<SeedReport, String> {
    let started = Instant::now();
    let password = Secret::random(18);
    let hash: PasswordHash = hash_blocking(&password)?;
    let scope = TenantScope::operator(slug.clone());
    let existing = store
        .read_blocking(|rx| rx.tenant(slug))
        .map_err(|e| e.to_string())?;
    let mut admin_password = None;
    let policy = match existing {
        Some(t) => t.policy,
        None => {
            let t = TenantRecord {
                slug: slug.clone(),
                name: format!("Seeded {slug}"),
                created_at: now,
                policy: Policy::default(),
            };
            let admin = user_record(
                UserId::new_v7(),
                format!("admin@{slug}.test"),
                "Seed Admin".into(),
                Role::OrgAdmin,
                hash.clone(),
                now,
            );
            let sc = scope.clone();
            store
                .write_blocking(move |tx| {
                    tx.insert_tenant(&t)?;
                    tx.put_user(Ns::from(&sc), &admin)
                })
                .map_err(|e| e.to_string())?;
            admin_password = Some(password);
            Policy::default()
        }
    };

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ users as u64 ^ (sessions as u64) << 20);
    let mut ids = Vec::with_capacity(users);
    let mut made = 0;
    while made < users {
        let n = BATCH.min(users - made);
        let batch: Vec<UserRecord> = (made..made + n)
            .map(|i| {
                let name = format!("{} {}", FIRST[i % 16], LAST[(i / 16) % 16]);
                let email = format!("user{i}@{slug}.test");
                user_record(
                    UserId::new_v7(),
                    email,
                    name,
                    Role::Member,
                    hash.clone(),
                    now,
                )
            })
            .collect();
        ids.extend(batch.iter().map(|u| u.id));
        write_batch(store, &scope, move |tx, ns| {
            batch.iter().try_for_each(|u| tx.put_user(ns, u))
        })?;
        made += n;
    }
    if ids.is_empty() && sessions > 0 {
        return Err("--sessions needs at least one user (--users N)".into());
    }

    // Sessions spread over the last half of the absolute timeout, most recently active.
    let span_ms = (policy.absolute_timeout_secs * 500).max(1) as u64;
    let idle_ms = (policy.idle_timeout_secs * 1000 * 9 / 10).max(1) as u64;
    let mut made = 0;
    while made < sessions {
        let n = BATCH.min(sessions - made);
        let batch: Vec<SessionRecord> = (0..n)
            .map(|_| {
                let created = now.millis() - rng.below(span_ms) as i64;
                let last = (now.millis() - rng.below(idle_ms) as i64).max(created);
                let mut rand = [0u8; 10];
                rand.iter_mut().for_each(|b| *b = rng.next() as u8);
                let id =
                    uuid::Builder::from_unix_timestamp_millis(created as u64, &rand).into_uuid();
                let user = ids[rng.below(ids.len() as u64) as usize];
                SessionRecord {
                    id: SessionId::from_u128(id.as_u128()),
                    user_id: user,
                    created_at: Timestamp::from_millis(created),
                    last_activity_at: Timestamp::from_millis(last),
                    expires_at: Timestamp::from_millis(created)
                        .plus_secs(policy.absolute_timeout_secs),
                    ip: Some(format!(
                        "10.{}.{}.{}",
                        rng.below(256),
                        rng.below(256),
                        rng.below(256)
                    )),
                    user_agent: Some(AGENTS[rng.below(AGENTS.len() as u64) as usize].to_owned()),
                    state: SessionState::Active,
                    support: None,
                }
            })
            .collect();
        write_batch(store, &scope, move |tx, ns| {
            batch.iter().try_for_each(|s| tx.put_session(ns, s))
        })?;
        made += n;
    }
    Ok(SeedReport {
        users,
        sessions,
        secs: started.elapsed().as_secs_f64(),
        admin_password,
    })
}

fn user_record(
    id: UserId,
    email: String,
    display_name: String,
    role: Role,
    hash: PasswordHash,
    now: Timestamp,
) -> UserRecord {
    UserRecord {
        id,
        email,
        display_name,
        role,
        password_hash: hash,
        disabled: false,
        sessions_valid_after: None,
        created_at: now,
        updated_at: now,
    }
}

fn write_batch(
    store: &Store,
    scope: &TenantScope,
    f: impl Fn(&mut crate::store::Tx<'_>, Ns<'_>) -> Result<(), StoreError> + Send + 'static,
) -> Result<(), String> {
    let scope = scope.clone();
    store
        .write_blocking(move |tx| f(tx, Ns::from(&scope)))
        .map_err(|e| e.to_string())
}
