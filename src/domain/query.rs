//! What a session list or a bulk revocation asks the store for. Every engine
//! answers these same types (redb by walking its indexes, PostgreSQL in one
//! query), so the service never walks an index itself.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::{SessionId, SessionRecord, Timestamp, UserId};

/// The lists with cursors other than the session list's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Users,
    Admins,
    Clients,
    Grants,
    Tenants,
    Audit,
    Webhooks,
    Deliveries,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            List::Users => "u",
            List::Admins => "g",
            List::Clients => "k",
            List::Grants => "s",
            List::Tenants => "t",
            List::Audit => "e",
            List::Webhooks => "w",
            List::Deliveries => "d",
        }
    }

    /// Every cursor has one format: base64url of `{tag}.{key}`, opaque to
    /// clients (sessions use the tags `a` and `c`, see [`Cursor`]).
    pub fn cursor(self, key: impl std::fmt::Display) -> String {
        encode(self.tag(), key)
    }

    /// The key a cursor of this list carries. A bare key (the form before
    /// cursors were opaque) is taken as it is; another list's cursor is not.
    pub fn key(self, cursor: &str) -> String {
        match decoded(cursor) {
            Some((tag, key)) if tag == self.tag() => key,
            Some(_) => String::new(),
            None => cursor.to_owned(),
        }
    }
}

fn encode(tag: &str, key: impl std::fmt::Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}.{key}"))
}

/// `(tag, key)` of a cursor in the one format.
fn decoded(cursor: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (tag, key) = raw.split_once('.')?;
    (tag.len() == 1 && tag.bytes().all(|b| b.is_ascii_lowercase()))
        .then(|| (tag.to_owned(), key.to_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Active,
    Revoked,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    LastActivityDesc,
    CreatedDesc,
}

/// Where the previous page stopped: the last row's sort key. Opaque to
/// clients (base64url of `a.{ms}.{sid}` or `c.{sid}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Activity(i64, SessionId),
    Created(SessionId),
}

/// A cursor that is not one, or belongs to another sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCursor;

impl Cursor {
    pub fn encode(self) -> String {
        match self {
            Cursor::Activity(a, s) => encode("a", format_args!("{a}.{s}")),
            Cursor::Created(s) => encode("c", s),
        }
    }

    pub fn decode(s: &str, sort: Sort) -> Result<Self, BadCursor> {
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| BadCursor)?;
        let raw = String::from_utf8(raw).map_err(|_| BadCursor)?;
        let parts: Vec<&str> = raw.split('.').collect();
        let sid = |s: &str| SessionId::parse(s).map_err(|_| BadCursor);
        match (sort, parts.as_slice()) {
            (Sort::LastActivityDesc, ["a", a, s]) => {
                Ok(Cursor::Activity(a.parse().map_err(|_| BadCursor)?, sid(s)?))
            }
            (Sort::CreatedDesc, ["c", s]) => Ok(Cursor::Created(sid(s)?)),
            _ => Err(BadCursor),
        }
    }

    /// Newest-first order: a greater tuple comes first.
    pub fn tuple(self) -> (i64, u128) {
        match self {
            Cursor::Activity(a, s) => (a, s.as_u128()),
            Cursor::Created(s) => (0, s.as_u128()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionQuery {
    pub status: StatusFilter,
    pub user_id: Option<UserId>,
    /// A search key ([`super::text::search_key`]) the user's email or name holds.
    pub q: Option<String>,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
    pub limit: usize,
}

impl SessionQuery {
    /// The search key, if the query has a non-empty one.
    pub fn text(&self) -> Option<String> {
        self.q
            .as_deref()
            .map(super::text::search_key)
            .filter(|t| !t.is_empty())
    }
}

/// Which active sessions a bulk revocation names (every criterion given must hold).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    #[schema(min_items = 1, max_items = 10000)]
    pub user_ids: Option<Vec<UserId>>,
    /// Sessions idle at least this long.
    #[schema(minimum = 0, maximum = 315360000)]
    pub idle_for_secs: Option<i64>,
    pub created_before: Option<Timestamp>,
    /// `true`: every active session of the tenant.
    pub all: Option<bool>,
}

/// What a query needs besides stored rows: the clock, the tenant's idle
/// timeout, and this node's activity not yet written to the store.
#[derive(Debug, Clone, Copy)]
pub struct Activity<'a> {
    pub now: Timestamp,
    pub idle_timeout_secs: i64,
    pub fresh: &'a HashMap<SessionId, Timestamp>,
}

impl Activity<'_> {
    /// The freshest known last activity.
    pub fn last(&self, s: &SessionRecord) -> Timestamp {
        self.fresh
            .get(&s.id)
            .map_or(s.last_activity_at, |t| (*t).max(s.last_activity_at))
    }

    pub fn status(&self, s: &SessionRecord) -> &'static str {
        s.status(self.now, self.last(s), self.idle_timeout_secs)
    }

    /// Last activity at or below this (ms) is idle-expired.
    pub fn idle_cutoff(&self) -> i64 {
        self.now.minus_secs(self.idle_timeout_secs).millis()
    }

    pub fn wanted(&self, s: &SessionRecord, f: StatusFilter) -> bool {
        match f {
            StatusFilter::All => true,
            StatusFilter::Active => self.status(s) == "active",
            StatusFilter::Revoked => !s.is_active(),
        }
    }

    pub fn key(&self, s: &SessionRecord, sort: Sort) -> Cursor {
        match sort {
            Sort::LastActivityDesc => Cursor::Activity(self.last(s).millis(), s.id),
            Sort::CreatedDesc => Cursor::Created(s.id),
        }
    }

    /// Whether `s` is one a bulk revocation with `f` (sparing `except`)
    /// names, but for `user_ids`: callers gather those users' sessions.
    pub fn bulk_match(&self, s: &SessionRecord, f: &BulkFilter, except: Option<SessionId>) -> bool {
        s.is_active()
            && Some(s.id) != except
            && f.idle_for_secs
                .is_none_or(|i| self.last(s) <= self.now.minus_secs(i))
            && f.created_before.is_none_or(|t| s.created_at < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cursors_are_opaque_typed_and_accept_bare_keys() {
        let c = List::Users.cursor("0190-abc");
        assert_ne!(c, "0190-abc");
        assert_eq!(List::Users.key(&c), "0190-abc");
        // Another list's cursor names no key of this one.
        assert_eq!(List::Grants.key(&c), "");
        assert_eq!(
            List::Tenants.key(&Cursor::Created(SessionId::new_v7()).encode()),
            ""
        );
        // Bare keys, as before cursors were opaque.
        assert_eq!(List::Tenants.key("globex"), "globex");
        assert_eq!(List::Audit.key("42"), "42");
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts() {
        let sid = SessionId::new_v7();
        let a = Cursor::Activity(123, sid);
        assert_eq!(Cursor::decode(&a.encode(), Sort::LastActivityDesc), Ok(a));
        assert!(Cursor::decode(&a.encode(), Sort::CreatedDesc).is_err());
        let c = Cursor::Created(sid);
        assert_eq!(Cursor::decode(&c.encode(), Sort::CreatedDesc), Ok(c));
        for bad in ["", "!!", "YS4xLjI", &URL_SAFE_NO_PAD.encode("a.x.y")] {
            assert!(
                Cursor::decode(bad, Sort::LastActivityDesc).is_err(),
                "{bad}"
            );
        }
    }
}
