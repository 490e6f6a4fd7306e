//! argon2id hashing off the async workers, behind a semaphore sized to the cores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use super::secret::{Secret, fill_random};
use crate::domain::Role;
use crate::domain::user::PasswordHash;

/// NIST SP 800-63B: a minimum length, a deny-list of common passwords, no
/// composition rules. Admins (org and global) need longer ones.
pub const MIN_LEN: usize = 8;
pub const MIN_ADMIN_LEN: usize = 12;
pub const MAX_LEN: usize = 256;

/// The 10,000 most common passwords of 8 or more characters, lower-cased and
/// sorted (from the zxcvbn frequency lists, MIT licence).
const COMMON: &str = include_str!("common-passwords.txt");

fn is_common(pw: &str) -> bool {
    static SORTED: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| COMMON.lines().collect());
    SORTED.binary_search(&pw.to_lowercase().as_str()).is_ok()
}

/// The shortest password `role` may have.
pub fn min_len(role: Role) -> usize {
    match role {
        Role::Member => MIN_LEN,
        Role::OrgAdmin | Role::GlobalAdmin => MIN_ADMIN_LEN,
    }
}

/// Problems with a proposed password for a user with `role` under a
/// policy asking for `policy_min` characters, for `details`.
pub fn check_strength(pw: &Secret, role: Role, policy_min: i64) -> Result<(), String> {
    let min = min_len(role).max(usize::try_from(policy_min).unwrap_or(0));
    let n = pw.expose().chars().count();
    if n < min {
        return Err(format!("must be at least {min} characters"));
    }
    if pw.expose().len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} bytes"));
    }
    if is_common(pw.expose()) {
        return Err("is one of the most common passwords; choose another".into());
    }
    Ok(())
}

/// argon2id, OWASP parameters (m = 19 MiB, t = 2, p = 1).
fn argon() -> Argon2<'static> {
    Argon2::default()
}

pub fn hash_blocking(pw: &Secret) -> Result<PasswordHash, String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    argon()
        .hash_password_with_salt(pw.expose().as_bytes(), &salt)
        .map(|h| PasswordHash(h.to_string()))
        .map_err(|e| e.to_string())
}

pub fn verify_blocking(pw: &Secret, hash: &PasswordHash) -> bool {
    argon()
        .verify_password(pw.expose().as_bytes(), hash.0.as_str())
        .is_ok()
}

/// The login queue is full: answer 503 `overloaded` instead of queueing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

/// Verifications that may wait for a core, per core, before logins are shed.
const WAITING_PER_CORE: usize = 32;

/// A place in the queue, given back on drop (also when the caller goes away).
struct Queued<'a> {
    count: &'a AtomicUsize,
    ahead: usize,
}

impl<'a> Queued<'a> {
    fn join(count: &'a AtomicUsize) -> Self {
        let ahead = count.fetch_add(1, Ordering::AcqRel);
        Self { count, ahead }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

type Work = Box<dyn FnOnce() + Send>;

/// Long-lived threads that only hash, at a lower CPU priority than the
/// request workers: a login flood waits for them while token checks keep
/// their cores, and each thread reuses its own argon2 memory (a hash on an
/// arbitrary blocking thread left ≈ 19 MiB behind in each malloc arena).
struct Pool(mpsc::Sender<Work>);

impl Pool {
    fn start(threads: usize) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel::<Work>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let next = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(work) => work(),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| format!("cannot start a password thread: {e}"))?;
        }
        Ok(Self(tx))
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        });
        self.0.send(work).ok()?;
        rx.await.ok()
    }
}

/// nice +10 for the calling thread (Linux nice values are per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(error = %e, "cannot lower the password threads' priority");
    }
}

#[derive(Clone)]
pub struct Passwords {
    /// As many permits as `pool` has threads: a holder's work starts at once.
    permits: Arc<Semaphore>,
    pool: Arc<Pool>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    /// Verified against for unknown users, so timing does not reveal who exists.
    dummy: Arc<PasswordHash>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new() -> Result<Self, String> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let dummy = hash_blocking(&Secret::random(16))?;
        // Half the cores hash passwords: a login flood must not starve token checks.
        let hashers = cores.div_ceil(2);
        Ok(Self {
            permits: Arc::new(Semaphore::new(hashers)),
            pool: Arc::new(Pool::start(hashers)?),
            waiting: Arc::default(),
            max_waiting: cores * WAITING_PER_CORE,
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, pw: Secret) -> Result<PasswordHash, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        self.pool
            .run(move || hash_blocking(&pw))
            .await
            .ok_or("the password threads stopped")?
    }

    /// `hash` = `None` for an unknown user: verifies against the dummy and fails.
    /// Refuses at once when too many verifications already wait.
    pub async fn verify(&self, pw: Secret, hash: Option<PasswordHash>) -> Result<bool, Overloaded> {
        let queued = Queued::join(&self.waiting);
        if queued.ahead >= self.max_waiting {
            metrics::counter!("sessiond_logins_shed_total").increment(1);
            return Err(Overloaded);
        }
        let permit = self.permits.acquire().await;
        drop(queued);
        let Ok(_permit) = permit else {
            return Ok(false);
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        let ok = self
            .pool
            .run(move || verify_blocking(&pw, &hash))
            .await
            .unwrap_or(false);
        Ok(ok && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_with_owasp_params_and_verifies() {
        let pw = Secret::new("correct horse");
        let h = hash_blocking(&pw).unwrap();
        assert!(
            h.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            h.0
        );
        assert!(verify_blocking(&pw, &h));
        assert!(!verify_blocking(&Secret::new("wrong horse"), &h));
        assert!(!format!("{h:?}").contains("argon2"));
    }

    #[tokio::test]
    async fn a_full_queue_sheds_logins_and_abandoned_waiters_leave_it() {
        let mut p = Passwords::new().unwrap();
        p.permits = Arc::new(Semaphore::new(0));
        p.max_waiting = 2;
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.verify(Secret::new("pw"), None).await })
            })
            .collect();
        while p.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(p.verify(Secret::new("pw"), None).await, Err(Overloaded));
        for w in waiters {
            w.abort();
            let _ = w.await;
        }
        assert_eq!(
            p.waiting.load(Ordering::Acquire),
            0,
            "aborted waiters left the queue"
        );
        p.permits.add_permits(1);
        let h = hash_blocking(&Secret::new("pw")).unwrap();
        assert_eq!(p.verify(Secret::new("pw"), Some(h)).await, Ok(true));
    }

    #[test]
    fn strength_follows_nist_length_and_deny_list() {
        let check = |pw: &str, role| check_strength(&Secret::new(pw), role, 8);
        assert!(check("short", Role::Member).is_err());
        assert!(check("long enough", Role::Member).is_ok());
        assert!(check(&"x".repeat(300), Role::Member).is_err());
        // Admins need 12; no composition rules.
        assert!(check("long enough", Role::OrgAdmin).is_err());
        assert!(check("long enough!", Role::OrgAdmin).is_ok());
        assert!(check("eleven chars", Role::GlobalAdmin).is_ok());
        // Common passwords are refused whatever their case.
        for pw in ["password", "PassWord", "12345678", "qwertyuiop", "iloveyou"] {
            let e = check(pw, Role::Member).unwrap_err();
            assert!(e.contains("common"), "{pw}: {e}");
        }
        let e = check("password1234", Role::OrgAdmin).unwrap_err();
        assert!(e.contains("common"), "{e}");
        // A tenant may ask for more, never for less.
        let pw = Secret::new("fourteen chars");
        assert!(check_strength(&pw, Role::Member, 15).is_err());
        assert!(check_strength(&pw, Role::Member, 14).is_ok());
        assert!(check_strength(&Secret::new("nine char"), Role::OrgAdmin, 8).is_err());
    }

    #[test]
    fn the_deny_list_is_sorted_lower_case_and_one_per_line() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.len() >= 10_000);
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
        assert!(
            lines
                .iter()
                .all(|l| !l.is_empty() && *l == l.to_lowercase())
        );
    }
}
