//! sessiond's client library for resource servers and apps.
//!
//! - [`Verifier`]: verify access tokens offline (JWKS, with key rotation)
//!   and refuse revoked sessions within a second, from the tenant's
//!   revocation stream.
//! - [`SessiondClient`]: call the API as a user, following the 401 contract:
//!   `Expired` → refresh and retry once; `Revoked` / `SessionExpired` →
//!   sign in again.

mod api;
mod http;
mod verify;

pub use api::{ApiError, SessiondClient};
pub use verify::{Claims, Verifier, VerifierConfig, VerifyError};

/// Setting up or reaching sessiond failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Http(String),
}
