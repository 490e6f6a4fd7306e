//! argon2id hashing off the async workers, behind a semaphore sized to the cores.

use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::Semaphore;

use super::secret::{Secret, fill_random};
use crate::domain::user::PasswordHash;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Problems with a proposed password, for `details`.
pub fn check_strength(pw: &Secret) -> Result<(), String> {
    let n = pw.expose().chars().count();
    if n < MIN_LEN {
        return Err(format!("must be at least {MIN_LEN} characters"));
    }
    if pw.expose().len() > MAX_LEN {
        return Err(format!("must be at most {MAX_LEN} bytes"));
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

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
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
        Ok(Self {
            permits: Arc::new(Semaphore::new(cores)),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, pw: Secret) -> Result<PasswordHash, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        tokio::task::spawn_blocking(move || hash_blocking(&pw))
            .await
            .map_err(|e| e.to_string())?
    }

    /// `hash` = `None` for an unknown user: verifies against the dummy and fails.
    pub async fn verify(&self, pw: Secret, hash: Option<PasswordHash>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&pw, &hash))
            .await
            .unwrap_or(false);
        ok && known
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

    #[test]
    fn strength_rules() {
        assert!(check_strength(&Secret::new("short")).is_err());
        assert!(check_strength(&Secret::new("long enough")).is_ok());
        assert!(check_strength(&Secret::new("x".repeat(300))).is_err());
    }
}
