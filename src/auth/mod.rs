//! Tokens, passwords, and the `TenantScope` capability.

mod jwt_crypto;
pub mod keyring;
pub mod password;
pub mod principal;
pub mod secret;
pub mod token;
pub mod verified;

pub use principal::{Principal, Realm, TenantScope};
pub use secret::Secret;
