//! Entry points for untrusted input, shared by the `cargo fuzz` targets in
//! `fuzz/` and the proptest properties in `tests/it/fuzz.rs`. Each must
//! return (never panic) on any input; errors come back in SPEC §3's shape.

use std::sync::LazyLock;

use crate::auth::Secret;
use crate::auth::keyring::KeyRing;
use crate::auth::token::{Claims, Keys};
use crate::domain::Timestamp;
use crate::service::Error;

const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys::new(&KeyRing::fresh(NOW), "sessiond"));

/// An access token as `Authorization: Bearer` carries it.
pub fn access_token(token: &str) -> Option<Claims> {
    KEYS.verify(token, NOW).ok()
}

/// A refresh token: which namespace it names, if it is well-formed.
pub fn refresh_token(token: &str) -> Option<String> {
    crate::service::sessions::parse_refresh_token(&Secret::new(token))
        .map(|space| crate::service::sessions::space_tid(&space).to_owned())
}

/// Stored bytes as every record type (a corrupt file must be an error).
pub fn record(bytes: &[u8]) -> usize {
    use crate::domain::session::{RefreshRecord, SessionRecord};
    use crate::domain::{AuditEntry, ClientRecord, GrantRecord, TenantRecord, UserRecord};
    use crate::store::decode;
    [
        decode::<SessionRecord>(bytes).is_ok(),
        decode::<RefreshRecord>(bytes).is_ok(),
        decode::<UserRecord>(bytes).is_ok(),
        decode::<TenantRecord>(bytes).is_ok(),
        decode::<GrantRecord>(bytes).is_ok(),
        decode::<ClientRecord>(bytes).is_ok(),
        decode::<AuditEntry>(bytes).is_ok(),
        decode::<KeyRing>(bytes).is_ok(),
    ]
    .iter()
    .filter(|ok| **ok)
    .count()
}

/// A session-list cursor, for both sorts.
pub fn cursor(s: &str) -> [bool; 2] {
    use crate::domain::query::{Cursor, Sort};
    [
        Cursor::decode(s, Sort::LastActivityDesc).is_ok(),
        Cursor::decode(s, Sort::CreatedDesc).is_ok(),
    ]
}

/// A JSON request body (the tenant-creation shape, with nesting): parsed,
/// or the SPEC error it is answered with as (status, body).
pub fn json_body(bytes: &[u8]) -> Result<(), (u16, serde_json::Value)> {
    crate::http::extract::parse_json::<crate::service::tenants::NewTenant>(bytes)
        .map(|_| ())
        .map_err(|e: Error| (e.status().as_u16(), e.body()))
}
