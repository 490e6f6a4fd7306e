//! Milliseconds since the Unix epoch, shown as RFC 3339 UTC with milliseconds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds (JWT `iat`/`exp`).
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    pub const fn minus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_sub(secs.saturating_mul(1000)))
    }

    /// `2026-11-30T02:21:12.345Z`
    pub fn to_rfc3339(self) -> String {
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|t| t.format(&fmt).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
    }

    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Self)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_rfc3339())
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Self::parse_rfc3339(&s)
                .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
        } else {
            i64::deserialize(d).map(Self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_in_utc() {
        let t = Timestamp::from_millis(1_796_005_272_345);
        assert_eq!(t.to_rfc3339(), "2026-11-30T02:21:12.345Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }

    #[test]
    fn parses_offsets_and_rejects_garbage() {
        let t = Timestamp::parse_rfc3339("2026-11-30T03:21:12.345+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T02:21:12.345Z");
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
