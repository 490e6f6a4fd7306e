//! Secrets that never print: passwords, refresh tokens, client secrets.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The raw value; call only where it is used (hashing, the one response that shows it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// `len` random bytes, base64url without padding.
    pub fn random(len: usize) -> Self {
        use base64::Engine;
        let mut buf = vec![0u8; len];
        fill_random(&mut buf);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Fill from the OS CSPRNG. Failure means the OS cannot give randomness, and
/// continuing would mint guessable secrets, so we abort the process.
pub fn fill_random(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        tracing::error!("the operating system's random number generator failed");
        std::process::abort();
    }
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn random_secrets_differ_and_carry_enough_bits() {
        let a = Secret::random(32);
        let b = Secret::random(32);
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }
}
