//! Query answers built from the record-level reads, by walking indexes:
//! the default behind [`Reads::query_sessions`] and friends, right for an
//! engine whose point read costs a microsecond (redb). An engine that pays
//! per round trip answers the same queries in SQL instead.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::{Ns, Reads, StoreError};
use crate::domain::query::{Activity, BulkFilter, Cursor, SessionQuery, Sort, StatusFilter};
use crate::domain::{SessionId, SessionRecord, UserId};

/// Users whose sessions a `q` search collects directly (else: filter while
/// scanning). Gathering costs ≈ 3 µs per user at 10 sessions each (their
/// by-user range, and confirming the user); a scan for 51 rows costs
/// ≈ 0.25 µs per entry it passes, and passes fewer the more users match: at
/// 100k users / 1M sessions the two meet near 600–700 users.
pub(crate) const DIRECT_USERS: usize = 600;
const CHUNK: usize = 256;
/// Users whose sessions are counted to choose between gathering and walking.
const SAMPLE_USERS: usize = 64;
/// Up to this many revoked sessions, `status=revoked&sort=created_desc`
/// gathers them from the index instead of walking creation order.
const FEW_REVOKED: usize = 20_000;

/// [`Reads::query_sessions`] by index walks.
pub(crate) fn query_sessions<R: Reads + ?Sized>(
    rx: &R,
    ns: Ns<'_>,
    q: &SessionQuery,
    at: &Activity<'_>,
) -> Result<Vec<SessionRecord>, StoreError> {
    Walk { rx, ns, at }.run(q)
}

/// [`Reads::bulk_targets`] by index walks.
pub(crate) fn bulk_targets<R: Reads + ?Sized>(
    rx: &R,
    ns: Ns<'_>,
    f: &BulkFilter,
    except: Option<SessionId>,
    at: &Activity<'_>,
) -> Result<Vec<SessionId>, StoreError> {
    if let Some(users) = &f.user_ids {
        let mut users = users.clone();
        users.sort_unstable();
        users.dedup();
        let mut found: Vec<SessionId> = rx
            .sessions_of_users(ns, &users)?
            .into_iter()
            .filter(|s| at.bulk_match(s, f, except))
            .map(|s| s.id)
            .collect();
        found.sort_unstable_by(|a, b| b.cmp(a));
        return Ok(found);
    }
    // The active part of the activity index; an idle filter starts at its cutoff.
    let mut from = f.idle_for_secs.map(|i| {
        (
            at.now.minus_secs(i).millis().saturating_add(1),
            SessionId::from_u128(0),
        )
    });
    let mut out = Vec::new();
    loop {
        let page = rx.activity_page(ns, 0, from, 1024)?;
        for (_, sid) in &page {
            if let Some(s) = rx.session(ns, *sid)?
                && at.bulk_match(&s, f, except)
            {
                out.push(*sid);
            }
        }
        match page.last() {
            Some(k) if page.len() == 1024 => from = Some(*k),
            _ => return Ok(out),
        }
    }
}

/// [`Reads::count_active`] by walking the active stream down to the cutoff.
pub(crate) fn count_active<R: Reads + ?Sized>(
    rx: &R,
    ns: Ns<'_>,
    idle_cutoff_ms: i64,
) -> Result<u64, StoreError> {
    let mut n = 0u64;
    let mut from = None;
    loop {
        let page = rx.activity_page(ns, 0, from, 4096)?;
        let live = page.iter().take_while(|(a, _)| *a > idle_cutoff_ms).count();
        n += live as u64;
        match page.last() {
            Some(k) if live == page.len() && page.len() == 4096 => from = Some(*k),
            _ => return Ok(n),
        }
    }
}

struct Walk<'a, R: Reads + ?Sized> {
    rx: &'a R,
    ns: Ns<'a>,
    at: &'a Activity<'a>,
}

impl<R: Reads + ?Sized> Walk<'_, R> {
    fn run(&self, q: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let want = q.limit + 1;
        let text = q.text();
        if let Some(u) = q.user_id {
            let hit = match &text {
                Some(t) => self.rx.user(self.ns, u)?.is_some_and(|r| r.matches(t)),
                None => true,
            };
            let users = if hit { vec![u] } else { Vec::new() };
            return self.via_users(&users, q, want);
        }
        let Some(text) = text else {
            return self.scan(q, want, &|_| Ok(true));
        };
        let users: Vec<UserId> = if text.len() >= 3 {
            let candidates = self.rx.user_candidates(self.ns, &text)?;
            if candidates.len() > DIRECT_USERS {
                // Many: confirm each candidate when a session of theirs comes up.
                let candidates: HashSet<UserId> = candidates.into_iter().collect();
                let confirmed = RefCell::new(HashMap::new());
                let is_match = |id: UserId| {
                    if !candidates.contains(&id) {
                        return Ok(false);
                    }
                    if let Some(&m) = confirmed.borrow().get(&id) {
                        return Ok(m);
                    }
                    let m = self.rx.user(self.ns, id)?.is_some_and(|u| u.matches(&text));
                    confirmed.borrow_mut().insert(id, m);
                    Ok(m)
                };
                return self.scan(q, want, &is_match);
            }
            self.rx
                .users_by_ids(self.ns, &candidates)?
                .into_iter()
                .filter(|u| u.matches(&text))
                .map(|u| u.id)
                .collect()
        } else {
            let found = self.rx.users_matching(self.ns, &text, None, usize::MAX)?;
            found.iter().map(|u| u.id).collect()
        };
        if users.len() <= DIRECT_USERS && !self.scan_is_cheaper(q, &users, want)? {
            self.via_users(&users, q, want)
        } else {
            let users: HashSet<UserId> = users.into_iter().collect();
            self.scan(q, want, &|id| Ok(users.contains(&id)))
        }
    }

    /// Walking the activity index, which names each entry's user, passes
    /// ≈ `want × total ÷ matched` entries at ≈ 0.25 µs; gathering reads a
    /// by-user range per user (≈ 1 µs) and each matched entry (≈ 0.15 µs).
    /// Only for the activity order, and only where the engine knows its
    /// session count.
    fn scan_is_cheaper(
        &self,
        q: &SessionQuery,
        users: &[UserId],
        want: usize,
    ) -> Result<bool, StoreError> {
        if q.sort != Sort::LastActivityDesc || users.is_empty() {
            return Ok(false);
        }
        let Some(total) = self.rx.sessions_len(self.ns)? else {
            return Ok(false);
        };
        // An evenly spaced sample of the users, scaled up, is exact enough to choose.
        let step = users.len().div_ceil(SAMPLE_USERS);
        let sample: Vec<UserId> = users.iter().step_by(step).copied().collect();
        let held = self.rx.session_ids_of_users(self.ns, &sample)?.len();
        let matched = held as f64 * users.len() as f64 / sample.len() as f64;
        let (want, matched, total) = (want as f64, matched.max(1.0), total as f64);
        Ok(0.25 * want * total / matched < 0.15 * matched + users.len() as f64)
    }

    /// Few users: order their sessions by what the by-user index knows of
    /// them (their activity), then read records in that order until `want`
    /// are kept.
    fn via_users(
        &self,
        users: &[UserId],
        q: &SessionQuery,
        want: usize,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let cutoff = self.at.idle_cutoff();
        let mut keys: Vec<Cursor> = self
            .rx
            .session_keys_of_users(self.ns, users)?
            .into_iter()
            .filter_map(|k| {
                let stored = crate::domain::Timestamp::from_millis(k.last_activity_ms);
                let last = self.at.last_of(k.id, stored).millis();
                // As `scan_activity`: at or below the idle cutoff is expired.
                let wanted = q.status != StatusFilter::Active || last > cutoff;
                let key = match q.sort {
                    Sort::LastActivityDesc => Cursor::Activity(last, k.id),
                    Sort::CreatedDesc => Cursor::Created(k.id),
                };
                (wanted && q.cursor.is_none_or(|c| key.tuple() < c.tuple())).then_some(key)
            })
            .collect();
        keys.sort_unstable_by_key(|k| std::cmp::Reverse(k.tuple()));
        let mut out = Vec::new();
        for key in keys {
            let id = SessionId::from_u128(key.tuple().1);
            if let Some(s) = self.rx.session(self.ns, id)?
                && self.at.wanted(&s, q.status)
            {
                out.push(s);
                if out.len() == want {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Walk an index newest first, filtering as we go.
    fn scan(
        &self,
        q: &SessionQuery,
        want: usize,
        user_matches: &dyn Fn(UserId) -> Result<bool, StoreError>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let keep = |s: &SessionRecord| Ok(self.at.wanted(s, q.status) && user_matches(s.user_id)?);
        if q.sort == Sort::LastActivityDesc {
            return self.scan_activity(q, want, user_matches, &keep);
        }
        let mut from = match q.cursor {
            Some(Cursor::Created(s)) => Some(s),
            _ => None,
        };
        if q.status == StatusFilter::Revoked
            && let Some(found) = self.few_revoked(from, want, &keep)?
        {
            return Ok(found);
        }
        let mut out = Vec::new();
        loop {
            let page = self.rx.sessions_page(self.ns, from, CHUNK)?;
            for s in &page {
                if keep(s)? {
                    out.push(s.clone());
                    if out.len() == want {
                        return Ok(out);
                    }
                }
            }
            match page.last() {
                Some(s) if page.len() == CHUNK => from = Some(s.id),
                _ => return Ok(out),
            }
        }
    }

    /// Revoked sessions newest-created first, from the activity index's
    /// revoked stream, when it is small (`None` otherwise: then revoked ones
    /// are common and walking creation order finds them quickly).
    fn few_revoked(
        &self,
        before: Option<SessionId>,
        want: usize,
        keep: &dyn Fn(&SessionRecord) -> Result<bool, StoreError>,
    ) -> Result<Option<Vec<SessionRecord>>, StoreError> {
        let mut ids = Vec::new();
        let mut next = None;
        loop {
            let page = self.rx.activity_page(self.ns, 1, next, 4096)?;
            ids.extend(page.iter().map(|&(_, sid)| sid));
            if ids.len() > FEW_REVOKED {
                return Ok(None);
            }
            match page.last() {
                Some(&k) if page.len() == 4096 => next = Some(k),
                _ => break,
            }
        }
        ids.retain(|sid| before.is_none_or(|b| *sid < b));
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for sid in ids {
            if let Some(s) = self.rx.session(self.ns, sid)?
                && keep(&s)?
            {
                out.push(s);
                if out.len() == want {
                    break;
                }
            }
        }
        Ok(Some(out))
    }

    /// Merge the index streams (per state) with the in-memory activity, by key.
    /// `user_matches` is asked first, from the index's user: a session of
    /// another user is skipped unread.
    fn scan_activity(
        &self,
        q: &SessionQuery,
        want: usize,
        user_matches: &dyn Fn(UserId) -> Result<bool, StoreError>,
        keep: &dyn Fn(&SessionRecord) -> Result<bool, StoreError>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let cursor = match q.cursor {
            Some(Cursor::Activity(a, s)) => Some((a, s)),
            _ => None,
        };
        let states: &[u8] = match q.status {
            StatusFilter::Active => &[0],
            StatusFilter::Revoked => &[1],
            StatusFilter::All => &[0, 1],
        };
        // Fresh sessions, at their in-memory position.
        let mut fresh: Vec<(i64, SessionId)> = self
            .at
            .fresh
            .iter()
            .map(|(s, t)| (t.millis(), *s))
            .filter(|k| cursor.is_none_or(|c| *k < c))
            .collect();
        fresh.sort_unstable_by(|a, b| b.cmp(a));
        let mut streams: Vec<Stream> = states
            .iter()
            .map(|&st| Stream {
                state: st,
                buf: Vec::new(),
                pos: 0,
                next: cursor,
                done: false,
            })
            .collect();
        let idle_cutoff = self.at.idle_cutoff();
        let mut fi = 0;
        let mut out = Vec::new();
        while out.len() < want {
            for s in &mut streams {
                s.fill(self.rx, self.ns)?;
            }
            // Pick the largest head among the streams and the fresh list.
            let mut best: Option<(usize, (i64, SessionId))> = None;
            for (i, s) in streams.iter().enumerate() {
                if let Some(k) = s.head()
                    && best.is_none_or(|(_, b)| k > b)
                {
                    best = Some((i, k));
                }
            }
            let fresh_head = fresh.get(fi).copied();
            let (key, from_fresh, user) = match (best, fresh_head) {
                (Some((_, b)), Some(f)) if f >= b => (f, true, None),
                (None, Some(f)) => (f, true, None),
                (Some((i, b)), _) => {
                    let user = streams[i].head_user();
                    streams[i].pos += 1;
                    (b, false, user)
                }
                (None, None) => break,
            };
            if from_fresh {
                fi += 1;
            } else if self.at.fresh.contains_key(&key.1) {
                continue; // shown at its in-memory position instead
            }
            // Active-only: past the idle cutoff, everything further is idle-expired.
            if q.status == StatusFilter::Active && !from_fresh && key.0 <= idle_cutoff {
                streams.retain(|s| s.state != 0);
                continue;
            }
            if let Some(u) = user
                && !user_matches(u)?
            {
                continue;
            }
            let Some(s) = self.rx.session(self.ns, key.1)? else {
                continue;
            };
            if keep(&s)? {
                out.push(s);
            }
        }
        Ok(out)
    }
}

struct Stream {
    state: u8,
    buf: Vec<(i64, SessionId, UserId)>,
    pos: usize,
    next: Option<(i64, SessionId)>,
    done: bool,
}

impl Stream {
    fn fill(&mut self, rx: &(impl Reads + ?Sized), ns: Ns<'_>) -> Result<(), StoreError> {
        if self.pos < self.buf.len() || self.done {
            return Ok(());
        }
        self.buf = rx.activity_page_users(ns, self.state, self.next, CHUNK)?;
        self.pos = 0;
        self.done = self.buf.len() < CHUNK;
        self.next = self.buf.last().map(|&(a, sid, _)| (a, sid)).or(self.next);
        Ok(())
    }

    fn head(&self) -> Option<(i64, SessionId)> {
        self.buf.get(self.pos).map(|&(a, sid, _)| (a, sid))
    }

    fn head_user(&self) -> Option<UserId> {
        self.buf.get(self.pos).map(|k| k.2)
    }
}
