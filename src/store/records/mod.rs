//! Stored records: the on-disk types, kept apart from domain and API types
//! (kanidm's `DbValue…V1` pattern), so a domain change never silently changes
//! what is on disk.
//!
//! A record is one version byte, then postcard of that version's type.
//! Rules (golden-bytes tests pin them):
//! - never change a `…V{n}` type once released: add `…V{n+1}`, make it the
//!   one written, and decode `V{n}` by upgrading it;
//! - persisted enums are append-only: postcard stores the variant index, so
//!   a variant is never removed, renamed in place of another or reordered.

mod audit;
mod grant;
mod outbox;
mod session;
mod tenant;
mod user;

#[cfg(test)]
mod golden;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// A domain type and the stored versions it is read from.
pub trait Stored: Sized {
    /// The version byte this build writes.
    const VERSION: u8;
    /// Postcard of the current stored version, appended to `out`.
    fn encode_body(&self, out: Vec<u8>) -> Vec<u8>;
    /// Read a body written as `version` (older versions are upgraded).
    fn decode_body(version: u8, body: &[u8]) -> Result<Self, StoreError>;
}

pub fn encode<T: Stored>(value: &T) -> Vec<u8> {
    value.encode_body(vec![T::VERSION])
}

pub fn decode<T: Stored>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&v, body)) => T::decode_body(v, body),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

/// Postcard of one stored type (`out` starts with the version byte).
fn body<D: Serialize>(db: &D, out: Vec<u8>) -> Vec<u8> {
    // Serialising plain structs into a Vec cannot fail.
    postcard::to_extend(db, out).unwrap_or_default()
}

fn parse<D: DeserializeOwned>(body: &[u8]) -> Result<D, StoreError> {
    postcard::from_bytes(body).map_err(|e| StoreError::Corrupt(format!("undecodable record: {e}")))
}

fn unknown<T>(version: u8) -> Result<T, StoreError> {
    Err(StoreError::Corrupt(format!(
        "unknown record version {version}"
    )))
}

/// For migrations only: a legacy layout that predates versioned records.
pub(super) fn decode_legacy<D: DeserializeOwned>(bytes: &[u8]) -> Result<D, StoreError> {
    match bytes.split_first() {
        Some((1, body)) => parse(body),
        Some((&v, _)) => unknown(v),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

/// For migration tests only: a tenant as builds before session limits wrote it.
#[cfg(test)]
pub(crate) fn encode_tenant_v1(t: &crate::domain::TenantRecord) -> Vec<u8> {
    tenant::DbTenantV1::encode_v1(t)
}

/// For migration tests only: write a legacy layout.
#[cfg(test)]
pub(super) fn encode_legacy<D: Serialize>(db: &D) -> Vec<u8> {
    body(db, vec![1])
}

/// `impl Stored for $domain`, written as `$db` (version `$v`), converting
/// with `From` both ways.
macro_rules! stored {
    ($domain:ty => $v:literal $db:ty) => {
        impl $crate::store::records::Stored for $domain {
            const VERSION: u8 = $v;
            fn encode_body(&self, out: Vec<u8>) -> Vec<u8> {
                $crate::store::records::body(&<$db>::from(self), out)
            }
            fn decode_body(version: u8, body: &[u8]) -> Result<Self, $crate::store::StoreError> {
                match version {
                    $v => $crate::store::records::parse::<$db>(body).map(Into::into),
                    v => $crate::store::records::unknown(v),
                }
            }
        }
    };
}
use stored;
