//! The product's error vocabulary: SPEC §3's codes. `http::error` maps it to responses.

use crate::domain::RevokeReason;
use crate::domain::session::SessionDenied;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no access token was sent")]
    TokenMissing,
    #[error("the access token is malformed or not valid here")]
    TokenInvalid,
    #[error("the access token has expired; refresh it and retry")]
    TokenExpired,
    #[error("the session was revoked; sign in again")]
    SessionRevoked(RevokeReason),
    #[error("the session timed out; sign in again")]
    SessionExpired,
    #[error("the refresh token is unknown or malformed")]
    RefreshTokenInvalid,
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("service client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("request validation failed")]
    Validation(Vec<(String, String)>),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "this account already has {limit} active sessions, the organization's limit: sign out of one of them (or ask an admin) first"
    )]
    SessionLimitReached { limit: i64 },
    #[error("request body is too large (64 KiB; 512 KiB for a bulk revocation)")]
    PayloadTooLarge,
    #[error("too many attempts; retry later")]
    RateLimited { retry_after_secs: u64 },
    #[error("storage is unavailable (disk full or I/O error); nothing was changed, retry later")]
    StorageUnavailable,
    #[error("too many logins are waiting; retry shortly")]
    Overloaded,
    #[error("the request took too long; retry")]
    RequestTimeout,
    #[error("method not allowed here; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    /// The cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn field(name: &str, problem: impl Into<String>) -> Self {
        Self::Validation(vec![(name.to_owned(), problem.into())])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(m) | StoreError::Unsupported(m) => Error::Conflict(m),
            StoreError::Corrupt(m) | StoreError::Io(m) => Error::Internal(m),
            StoreError::Unavailable(_) => Error::StorageUnavailable,
            StoreError::Busy(_) => Error::Overloaded,
        }
    }
}

impl From<SessionDenied> for Error {
    fn from(d: SessionDenied) -> Self {
        match d {
            SessionDenied::Revoked(r) => Error::SessionRevoked(r),
            SessionDenied::Expired => Error::SessionExpired,
        }
    }
}

/// Collects field problems, then fails once naming them all.
#[derive(Debug, Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0.push((field.to_owned(), problem.into()));
    }

    pub fn check(&mut self, ok: bool, field: &str, problem: &str) {
        if !ok {
            self.add(field, problem);
        }
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}

/// A write closure's answer besides storage failing. A closure refuses only
/// from checks made before it writes, so a refusal leaves nothing in the
/// commit it shares with other writes (and publishes no events).
pub(crate) enum Checked<T> {
    Done(T),
    Refused(Error),
}

impl<T> Checked<T> {
    pub(crate) fn into_result(self) -> Result<T, Error> {
        match self {
            Checked::Done(t) => Ok(t),
            Checked::Refused(e) => Err(e),
        }
    }
}
