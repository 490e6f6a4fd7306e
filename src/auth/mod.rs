//! Tokens, passwords, and the `TenantScope` capability.

pub mod password;
pub mod principal;
pub mod secret;
pub mod token;
pub mod verified;

pub use principal::{Principal, Realm, TenantScope};
pub use secret::Secret;
