//! Which sessions a list names, beyond what the engines' indexed queries
//! answer: `q` as an IP or session-id prefix (merged with the name and
//! email matches), in-memory orders over a bounded match set, and counts.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::domain::query::{Activity, Cursor, Lookup, SessionQuery, SortBy, StatusFilter};
use crate::domain::{SessionId, SessionRecord, UserId};
use crate::store::{Ns, Reads, StoreError};

/// Most matches an in-memory order sorts, and most a count counts exactly.
pub(crate) const BOUNDED: usize = 10_000;
const CHUNK: usize = 512;

/// Up to `want` sessions matching `q` (every criterion, and `q` as a name,
/// email, IP or session-id prefix), in `q.sort` order after `q.cursor`.
pub(crate) fn gather(
    rx: &(impl Reads + ?Sized),
    ns: Ns<'_>,
    q: &SessionQuery,
    at: &Activity<'_>,
    want: usize,
) -> Result<Vec<SessionRecord>, StoreError> {
    let mut ask = q.clone();
    ask.limit = want.saturating_sub(1);
    let mut rows = rx.query_sessions(ns, &ask, at)?;
    let lookups = q.q.as_deref().map(Lookup::of).unwrap_or_default();
    if lookups.is_empty() {
        rows.truncate(want);
        return Ok(rows);
    }
    let keep = |s: &SessionRecord| {
        at.wanted(s, q.status)
            && q.user_id.is_none_or(|u| s.user_id == u)
            && q.cursor
                .is_none_or(|c| at.key(s, q.sort).tuple() < c.tuple())
    };
    for l in &lookups {
        match l {
            Lookup::SessionIds { lo, hi } => {
                // Creation order is id order: walk just the range, newest first.
                let mut before = hi.checked_add(1).map(SessionId::from_u128);
                let mut found = 0;
                'walk: loop {
                    let page = rx.sessions_page(ns, before, CHUNK)?;
                    for s in &page {
                        if s.id.as_u128() < *lo {
                            break 'walk;
                        }
                        if keep(s) {
                            rows.push(s.clone());
                            found += 1;
                            if found == want {
                                break 'walk;
                            }
                        }
                    }
                    match page.last() {
                        Some(s) if page.len() == CHUNK => before = Some(s.id),
                        _ => break,
                    }
                }
            }
            Lookup::Ip(_) => {
                // No address index: walk the list's own order, filtering.
                let mut walk = q.clone();
                walk.q = None;
                walk.limit = CHUNK;
                let mut found = 0;
                'scan: loop {
                    let mut page = rx.query_sessions(ns, &walk, at)?;
                    let more = page.len() > CHUNK;
                    page.truncate(CHUNK);
                    for s in &page {
                        if l.matches(s) {
                            rows.push(s.clone());
                            found += 1;
                            if found == want {
                                break 'scan;
                            }
                        }
                    }
                    match page.last() {
                        Some(s) if more => walk.cursor = Some(at.key(s, q.sort)),
                        _ => break,
                    }
                }
            }
        }
    }
    rows.sort_by_key(|s| std::cmp::Reverse(at.key(s, q.sort).tuple()));
    rows.dedup_by_key(|s| s.id);
    rows.truncate(want);
    Ok(rows)
}

/// A list's size: exact, or an estimate where counting would be slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(u64),
    About(u64),
}

/// Index keys of a tenant's sessions: active ones (not idle), all of
/// state 0, all revoked. Counted without reading a record.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keys {
    pub active: u64,
    pub unrevoked: u64,
    pub revoked: u64,
}

impl Keys {
    pub fn count(
        rx: &(impl Reads + ?Sized),
        ns: Ns<'_>,
        idle_cutoff_ms: i64,
    ) -> Result<Self, StoreError> {
        let mut k = Keys::default();
        for state in [0u8, 1] {
            let mut from = None;
            loop {
                let page = rx.activity_page(ns, state, from, 4096)?;
                let n = page.len() as u64;
                if state == 0 {
                    k.unrevoked += n;
                    k.active += page.iter().filter(|(a, _)| *a > idle_cutoff_ms).count() as u64;
                } else {
                    k.revoked += n;
                }
                match page.last() {
                    Some(&last) if page.len() == 4096 => from = Some(last),
                    _ => break,
                }
            }
        }
        Ok(k)
    }

    /// Roughly how many of a status there are (expired ones count as active
    /// until their last activity passes the idle cutoff).
    pub fn of(&self, status: StatusFilter) -> u64 {
        match status {
            StatusFilter::Active => self.active,
            StatusFilter::Revoked => self.revoked,
            StatusFilter::All => self.unrevoked + self.revoked,
        }
    }
}

/// How many sessions `q` names (its cursor ignored): exact up to
/// [`BOUNDED`]; beyond, the tenant-wide estimate for an unfiltered list,
/// else the bound itself.
pub(crate) fn total(
    rx: &(impl Reads + ?Sized),
    ns: Ns<'_>,
    q: &SessionQuery,
    at: &Activity<'_>,
    keys: Keys,
) -> Result<Total, StoreError> {
    let unfiltered = q.user_id.is_none() && q.text().is_none();
    if unfiltered && keys.of(q.status) > BOUNDED as u64 {
        return Ok(Total::About(keys.of(q.status)));
    }
    if let Some(t) = by_name(rx, ns, q, at)? {
        return Ok(t);
    }
    let mut all = q.clone();
    all.cursor = None;
    let n = gather(rx, ns, &all, at, BOUNDED + 1)?.len();
    Ok(if n > BOUNDED {
        Total::About(BOUNDED as u64)
    } else {
        Total::Exact(n as u64)
    })
}

/// Most candidate users a name search confirms one by one to count; past
/// this an evenly spaced sample of them is confirmed and scaled up.
const COUNTED_USERS: usize = 250;
/// Up to this many of their sessions are read to count exactly.
const COUNTED_SESSIONS: usize = 500;

/// The count of a name search (`q` that is no IP or id prefix) from the
/// by-user index, without walking the sessions: exact when few candidate
/// users hold few sessions, else an estimate (the sessions of any status of
/// the matching users, or of a sample of the candidates, scaled up). Reads
/// at most `COUNTED_USERS` users and `COUNTED_SESSIONS` sessions;
/// `None` for other lists.
fn by_name(
    rx: &(impl Reads + ?Sized),
    ns: Ns<'_>,
    q: &SessionQuery,
    at: &Activity<'_>,
) -> Result<Option<Total>, StoreError> {
    let Some(text) = q.text() else {
        return Ok(None);
    };
    let plain = q.q.as_deref().is_some_and(|q| Lookup::of(q).is_empty());
    if q.user_id.is_some() || !plain || text.len() < 3 {
        return Ok(None);
    }
    let candidates = rx.user_candidates(ns, &text)?;
    let step = candidates.len().div_ceil(COUNTED_USERS).max(1);
    let sample: Vec<UserId> = candidates.iter().step_by(step).copied().collect();
    let matched: Vec<UserId> = rx
        .users_by_ids(ns, &sample)?
        .into_iter()
        .filter(|u| u.matches(&text))
        .map(|u| u.id)
        .collect();
    let ids = rx.session_ids_of_users(ns, &matched)?;
    if step > 1 {
        let scaled = ids.len() as f64 * candidates.len() as f64 / sample.len().max(1) as f64;
        return Ok(Some(Total::About(scaled.round() as u64)));
    }
    if ids.len() > COUNTED_SESSIONS {
        return Ok(Some(Total::About(ids.len() as u64)));
    }
    let n = rx
        .sessions_by_ids(ns, &ids)?
        .iter()
        .filter(|s| at.wanted(s, q.status))
        .count();
    Ok(Some(Total::Exact(n as u64)))
}

/// A row's key in an in-memory order: strings that compare as the column does.
pub(crate) fn sort_key(
    by: SortBy,
    s: &SessionRecord,
    at: &Activity<'_>,
    emails: &HashMap<UserId, String>,
) -> String {
    // Offset so that the decimal strings of any i64 compare as numbers.
    let num = |v: i64| format!("{:020}", (v as u64) ^ (1 << 63));
    match by {
        SortBy::LastActivity => num(at.last(s).millis()),
        SortBy::Created => num(s.created_at.millis()),
        SortBy::Expires => num(at.expires(s).millis()),
        SortBy::User => match &s.support {
            Some(m) => m.admin_email.to_lowercase(),
            None => emails.get(&s.user_id).cloned().unwrap_or_default(),
        },
        SortBy::Ip => match s.ip.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(IpAddr::V4(v))) => format!("4{:08x}", u32::from(v)),
            Some(Ok(IpAddr::V6(v))) => format!("6{:032x}", u128::from(v)),
            Some(Err(_)) => format!("9{}", s.ip.as_deref().unwrap_or_default()),
            None => "~".to_owned(),
        },
    }
}

/// `q` with its cursor ignored, as an in-memory order gathers it.
pub(crate) fn unordered(q: &SessionQuery) -> SessionQuery {
    SessionQuery {
        cursor: None::<Cursor>,
        sort: Default::default(),
        ..q.clone()
    }
}
