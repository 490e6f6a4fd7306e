//! Namespaces: the platform's, or one tenant's. Every engine keeps them
//! physically apart (redb tables `t/{slug}/…`, PostgreSQL schemas).

use crate::auth::TenantScope;

/// The meta key of the signing key ring (`auth::keyring::KeyRing`).
pub const KEYRING_META: &str = "signing_keyring";
/// The meta key of the key that derives each refresh token's successor.
pub const SUCCESSOR_META: &str = "refresh_successor_key";
/// Every meta key a store carries besides its engine's own (schema version).
pub const DATA_META: [&str; 2] = [KEYRING_META, SUCCESSOR_META];

/// A namespace: one tenant's tables, or the platform's.
///
/// A tenant namespace can only be made from a [`TenantScope`], the capability
/// the auth layer hands out after checking the caller may act in that tenant.
#[derive(Debug, Clone, Copy)]
pub enum Ns<'a> {
    Tenant(&'a TenantScope),
    Platform,
}

impl Ns<'_> {
    /// The tenant, or `None` for the platform.
    pub fn tenant(&self) -> Option<&crate::domain::TenantId> {
        match self {
            Ns::Tenant(s) => Some(s.tenant()),
            Ns::Platform => None,
        }
    }
}

impl<'a> From<&'a TenantScope> for Ns<'a> {
    fn from(s: &'a TenantScope) -> Self {
        Ns::Tenant(s)
    }
}

/// An owned namespace, for code that decides at run time which one it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Space {
    Tenant(TenantScope),
    Platform,
}

impl Space {
    pub fn ns(&self) -> Ns<'_> {
        match self {
            Space::Tenant(s) => Ns::Tenant(s),
            Space::Platform => Ns::Platform,
        }
    }
}
