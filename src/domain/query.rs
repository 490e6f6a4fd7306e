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

/// A column a list sorts by in memory, over a bounded set of matches
/// (the indexed orders are [`Sort`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    LastActivity,
    Created,
    Expires,
    User,
    Ip,
}

impl SortBy {
    fn name(self) -> &'static str {
        match self {
            SortBy::LastActivity => "last_activity",
            SortBy::Created => "created",
            SortBy::Expires => "expires",
            SortBy::User => "user",
            SortBy::Ip => "ip",
        }
    }
}

/// A list's order as asked: one an index serves, or one sorted in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    Indexed(Sort),
    InMemory {
        by: SortBy,
        desc: bool,
        /// The previous page's last row: its sort key and id.
        after: Option<(String, SessionId)>,
    },
}

impl Order {
    /// `sort` and `cursor` of the list API; `Err` names the bad field.
    pub fn parse(
        sort: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(Order, Option<Cursor>), &'static str> {
        let (by, desc) = match sort.unwrap_or("last_activity_desc") {
            "last_activity_desc" => return indexed(Sort::LastActivityDesc, cursor),
            "created_desc" => return indexed(Sort::CreatedDesc, cursor),
            "last_activity_asc" => (SortBy::LastActivity, false),
            "created_asc" => (SortBy::Created, false),
            "expires_asc" => (SortBy::Expires, false),
            "expires_desc" => (SortBy::Expires, true),
            "user_asc" => (SortBy::User, false),
            "user_desc" => (SortBy::User, true),
            "ip_asc" => (SortBy::Ip, false),
            "ip_desc" => (SortBy::Ip, true),
            _ => return Err("sort"),
        };
        let tag = format!("{}_{}", by.name(), if desc { "desc" } else { "asc" });
        let after = cursor
            .map(|c| {
                let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).map_err(|_| "cursor")?)
                    .map_err(|_| "cursor")?;
                match raw.splitn(4, '.').collect::<Vec<_>>().as_slice() {
                    ["m", t, sid, key] if *t == tag => Ok((
                        (*key).to_owned(),
                        SessionId::parse(sid).map_err(|_| "cursor")?,
                    )),
                    _ => Err("cursor"),
                }
            })
            .transpose()?;
        Ok((Order::InMemory { by, desc, after }, None))
    }

    /// The cursor after a row with this key, for an in-memory order.
    pub fn cursor_after(by: SortBy, desc: bool, key: &str, sid: SessionId) -> String {
        let dir = if desc { "desc" } else { "asc" };
        encode("m", format_args!("{}_{dir}.{sid}.{key}", by.name()))
    }
}

fn indexed(sort: Sort, cursor: Option<&str>) -> Result<(Order, Option<Cursor>), &'static str> {
    let c = cursor
        .map(|c| Cursor::decode(c, sort).map_err(|_| "cursor"))
        .transpose()?;
    Ok((Order::Indexed(sort), c))
}

/// What else than a name or email a session search's `q` can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The start of an IP address (`203.0.113.`, `2001:db8:`).
    Ip(String),
    /// The start of a session id: the ids in `lo..=hi`.
    SessionIds { lo: u128, hi: u128 },
}

impl Lookup {
    /// The lookups `q`'s shape allows (a hex string may be both an id and a name).
    pub fn of(q: &str) -> Vec<Lookup> {
        let q = q.trim();
        let mut out = Vec::new();
        let v4 = q.contains('.') && q.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let v6 = q.contains(':') && q.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        if v4 || v6 {
            out.push(Lookup::Ip(q.to_ascii_lowercase()));
        }
        let hex: String = q.chars().filter(|c| *c != '-').collect();
        if (4..=32).contains(&hex.len())
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(v) = u128::from_str_radix(&hex, 16)
        {
            let rest = 4 * (32 - hex.len() as u32);
            let lo = v.checked_shl(rest).unwrap_or(0);
            let hi = lo | u128::MAX.checked_shr(128 - rest).unwrap_or(0);
            out.push(Lookup::SessionIds { lo, hi });
        }
        out
    }

    pub fn matches(&self, s: &SessionRecord) -> bool {
        match self {
            Lookup::Ip(p) => {
                s.ip.as_deref()
                    .is_some_and(|ip| ip.to_ascii_lowercase().starts_with(p.as_str()))
            }
            Lookup::SessionIds { lo, hi } => (*lo..=*hi).contains(&s.id.as_u128()),
        }
    }
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
        self.last_of(s.id, s.last_activity_at)
    }

    /// The freshest known last activity of `id`, whose stored one is `stored`.
    pub fn last_of(&self, id: SessionId, stored: Timestamp) -> Timestamp {
        self.fresh.get(&id).map_or(stored, |t| (*t).max(stored))
    }

    /// When it ends unless used again: min(absolute expiry, last activity + idle timeout).
    pub fn expires(&self, s: &SessionRecord) -> Timestamp {
        s.expires_at
            .min(self.last(s).plus_secs(self.idle_timeout_secs))
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
    fn lookups_follow_the_shape_of_q() {
        assert_eq!(Lookup::of("203.0.113."), [Lookup::Ip("203.0.113.".into())]);
        assert_eq!(Lookup::of("ines"), []);
        assert_eq!(Lookup::of("abc"), []); // too short for an id prefix
        let all = Lookup::of("0190abcd-12");
        assert_eq!(all.len(), 1);
        let Lookup::SessionIds { lo, hi } = all[0] else {
            panic!("{all:?}")
        };
        assert_eq!(lo, 0x0190abcd12 << 88);
        assert_eq!(hi, (0x0190abcd12 << 88) | ((1u128 << 88) - 1));
        let full = "0190abcd-1234-7000-8000-00000000000a";
        let Lookup::SessionIds { lo, hi } = Lookup::of(full)[0] else {
            panic!()
        };
        assert_eq!((lo, hi), (SessionId::parse(full).unwrap().as_u128(), lo));
        // "beef" names both a possible id prefix and a possible name.
        assert_eq!(Lookup::of("2001:db8::")[0], Lookup::Ip("2001:db8::".into()));
    }

    #[test]
    fn in_memory_cursors_carry_their_sort() {
        let sid = SessionId::new_v7();
        let c = Order::cursor_after(SortBy::User, false, "a.b@c.test", sid);
        assert_eq!(
            Order::parse(Some("user_asc"), Some(&c)),
            Ok((
                Order::InMemory {
                    by: SortBy::User,
                    desc: false,
                    after: Some(("a.b@c.test".into(), sid))
                },
                None
            ))
        );
        assert_eq!(Order::parse(Some("user_desc"), Some(&c)), Err("cursor"));
        assert_eq!(
            Order::parse(Some("last_activity_desc"), Some(&c)),
            Err("cursor")
        );
        assert_eq!(Order::parse(Some("size"), None), Err("sort"));
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
