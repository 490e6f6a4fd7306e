//! Identifier newtypes. A tenant id is its slug; everything else is a UUIDv7.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must match ^[a-z0-9][a-z0-9-]{{1,30}}[a-z0-9]$")]
    BadSlug,
    #[error("must be a UUID")]
    BadUuid,
}

/// Tenant slug: `^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`, immutable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let ok = (3..=32).contains(&b.len())
            && b.first().copied().is_some_and(edge)
            && b.last().copied().is_some_and(edge)
            && b.iter().all(|&c| edge(c) || c == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::BadSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
            pub const fn from_u128(v: u128) -> Self {
                Self(Uuid::from_u128(v))
            }
            pub const fn as_u128(self) -> u128 {
                self.0.as_u128()
            }
            pub fn parse(s: &str) -> Result<Self, IdError> {
                Uuid::try_parse(s).map(Self).map_err(|_| IdError::BadUuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.collect_str(&self.0.hyphenated())
                } else {
                    s.serialize_u128(self.0.as_u128())
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    Self::parse(&s).map_err(serde::de::Error::custom)
                } else {
                    u128::deserialize(d).map(Self::from_u128)
                }
            }
        }
    };
}

uuid_id!(
    /// A user (tenant member, org admin, or global admin).
    UserId
);
uuid_id!(
    /// A session: one login and its refresh-token chain.
    SessionId
);
uuid_id!(
    /// A support-access grant.
    GrantId
);
uuid_id!(
    /// A service client (resource server) of a tenant.
    ClientId
);
uuid_id!(
    /// A webhook endpoint of a tenant.
    EndpointId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        for ok in ["acme", "a-b", "abc", "a1-2b", &"a".repeat(32)] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "-ab",
            "ab-",
            "Acme",
            "a_b",
            "a/b",
            "_platform",
            &"a".repeat(33),
        ] {
            assert_eq!(TenantId::parse(bad), Err(IdError::BadSlug), "{bad}");
        }
    }

    #[test]
    fn uuid_ids_are_lower_case_hyphenated_v7() {
        let id = SessionId::new_v7();
        let s = id.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(s, s.to_lowercase());
        assert_eq!(s.as_bytes()[14], b'7');
        assert_eq!(SessionId::parse(&s), Ok(id));
        assert_eq!(SessionId::parse("nope"), Err(IdError::BadUuid));
    }
}
