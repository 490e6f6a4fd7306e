//! Service clients: resource servers that introspect a tenant's tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ClientId, Timestamp};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    pub id: ClientId,
    pub name: String,
    /// SHA-256 of the secret (256 random bits, so a fast hash is enough).
    pub secret_hash: [u8; 32],
    pub created_at: Timestamp,
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}
