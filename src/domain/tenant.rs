use serde::{Deserialize, Serialize};

use super::{Policy, TenantId, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub slug: TenantId,
    pub name: String,
    pub created_at: Timestamp,
    pub policy: Policy,
}
