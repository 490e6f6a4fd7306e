//! Walking a tenant's session indexes newest first: the activity index (one
//! stream per state) merged with in-memory activity, creation order, or a
//! few users' sessions gathered and sorted.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::{Cursor, SessionQuery, SessionUser, SessionView, Sort, StatusFilter, SupportView};
use crate::domain::{Policy, SessionId, SessionRecord, SessionState, Timestamp, UserId};
use crate::store::{Ns, Reads, StoreError};

/// Users whose sessions a `q` search collects directly (else: filter while
/// scanning). Gathering costs ≈ 25 µs per user at 10 sessions each; a scan
/// for 51 rows costs ≈ 1 µs per session it passes, and passes fewer the more
/// users match: at 100k users / 1M sessions the two meet near 600 users.
const DIRECT_USERS: usize = 600;
const CHUNK: usize = 256;
/// Up to this many revoked sessions, `status=revoked&sort=created_desc`
/// gathers them from the index instead of walking creation order.
const FEW_REVOKED: usize = 20_000;

pub(crate) struct Lister<'a, R: Reads + ?Sized> {
    pub rx: &'a R,
    pub ns: Ns<'a>,
    pub now: Timestamp,
    pub policy: Policy,
    /// In-memory activity newer than disk, for this tenant.
    pub fresh: HashMap<SessionId, Timestamp>,
    pub users: HashMap<UserId, Option<(String, String)>>,
    pub current: Option<SessionId>,
}

impl<R: Reads + ?Sized> Lister<'_, R> {
    fn activity(&self, s: &SessionRecord) -> Timestamp {
        self.fresh
            .get(&s.id)
            .map_or(s.last_activity_at, |t| (*t).max(s.last_activity_at))
    }

    pub fn status(&self, s: &SessionRecord) -> &'static str {
        s.status(self.now, self.activity(s), self.policy.idle_timeout_secs)
    }

    fn wanted(&self, s: &SessionRecord, f: StatusFilter) -> bool {
        match f {
            StatusFilter::All => true,
            StatusFilter::Active => self.status(s) == "active",
            StatusFilter::Revoked => !s.is_active(),
        }
    }

    /// Look up the users of `rows` at once (a page names up to its length).
    pub fn prefetch_users(&mut self, rows: &[SessionRecord]) -> Result<(), StoreError> {
        let mut ids: Vec<UserId> = rows
            .iter()
            .filter(|s| s.support.is_none() && !self.users.contains_key(&s.user_id))
            .map(|s| s.user_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            self.users.insert(*id, None);
        }
        for u in self.rx.users_by_ids(self.ns, &ids)? {
            self.users.insert(u.id, Some((u.email, u.display_name)));
        }
        Ok(())
    }

    pub fn view(&mut self, s: &SessionRecord) -> Result<SessionView, StoreError> {
        if let Some(m) = &s.support {
            // A support session's user is a global admin, not a tenant user.
            self.users.insert(
                s.user_id,
                Some((m.admin_email.clone(), "Platform support".to_owned())),
            );
        } else if !self.users.contains_key(&s.user_id) {
            let u = self
                .rx
                .user(self.ns, s.user_id)?
                .map(|u| (u.email, u.display_name));
            self.users.insert(s.user_id, u);
        }
        let (email, display_name) = match self.users.get(&s.user_id).cloned().flatten() {
            Some((e, d)) => (Some(e), Some(d)),
            None => (None, None),
        };
        let last = self.activity(s);
        let (revoked_at, revoked_by, revoked_reason, revoke_note) = match &s.state {
            SessionState::Active => (None, None, None, None),
            SessionState::Revoked {
                at,
                by,
                reason,
                note,
            } => (Some(*at), *by, Some(*reason), note.clone()),
        };
        Ok(SessionView {
            id: s.id,
            user: SessionUser {
                id: s.user_id,
                email,
                display_name,
            },
            created_at: s.created_at,
            last_activity_at: last,
            expires_at: s
                .expires_at
                .min(last.plus_secs(self.policy.idle_timeout_secs)),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            status: self.status(s),
            revoked_at,
            revoked_by,
            revoked_reason,
            revoke_note,
            support: s.support.as_ref().map(|m| SupportView {
                grant_id: m.grant_id,
                admin_email: m.admin_email.clone(),
            }),
            current: self.current == Some(s.id),
        })
    }

    pub fn key(&self, s: &SessionRecord, sort: Sort) -> Cursor {
        match sort {
            Sort::LastActivityDesc => Cursor::Activity(self.activity(s).millis(), s.id),
            Sort::CreatedDesc => Cursor::Created(s.id),
        }
    }

    /// Matching sessions, newest first, at most `q.limit + 1` (the extra one says "more").
    pub fn run(&mut self, q: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
        let want = q.limit + 1;
        let text =
            q.q.as_deref()
                .map(crate::domain::text::search_key)
                .filter(|t| !t.is_empty());
        if let Some(u) = q.user_id {
            let hit = match &text {
                Some(t) => self.rx.user(self.ns, u)?.is_some_and(|r| r.matches(t)),
                None => true,
            };
            let users = if hit {
                HashSet::from([u])
            } else {
                HashSet::new()
            };
            return self.via_users(&users, q, want);
        }
        let Some(text) = text else {
            return self.scan(q, want, &|_| Ok(true));
        };
        let users: HashSet<UserId> = if text.len() >= 3 {
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
        if users.len() <= DIRECT_USERS {
            self.via_users(&users, q, want)
        } else {
            self.scan(q, want, &|id| Ok(users.contains(&id)))
        }
    }

    /// Few users: gather their sessions through the by-user index and sort in memory.
    fn via_users(
        &self,
        users: &HashSet<UserId>,
        q: &SessionQuery,
        want: usize,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let users: Vec<UserId> = users.iter().copied().collect();
        let mut all: Vec<SessionRecord> = self
            .rx
            .sessions_of_users(self.ns, &users)?
            .into_iter()
            .filter(|s| {
                self.wanted(s, q.status) && q.cursor.is_none_or(|c| before(self.key(s, q.sort), c))
            })
            .collect();
        all.sort_by(|a, b| order(self.key(b, q.sort), self.key(a, q.sort)));
        all.truncate(want);
        Ok(all)
    }

    /// Walk an index newest first, filtering as we go.
    fn scan(
        &self,
        q: &SessionQuery,
        want: usize,
        user_matches: &dyn Fn(UserId) -> Result<bool, StoreError>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let keep = |s: &SessionRecord| Ok(self.wanted(s, q.status) && user_matches(s.user_id)?);
        let mut out = Vec::new();
        match q.sort {
            Sort::CreatedDesc => {
                let mut from = match q.cursor {
                    Some(Cursor::Created(s)) => Some(s),
                    _ => None,
                };
                if q.status == StatusFilter::Revoked
                    && let Some(found) = self.few_revoked(from, want, &keep)?
                {
                    return Ok(found);
                }
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
            Sort::LastActivityDesc => self.scan_activity(q, want, &keep),
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
    fn scan_activity(
        &self,
        q: &SessionQuery,
        want: usize,
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
        let idle_cutoff = self.now.minus_secs(self.policy.idle_timeout_secs).millis();
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
            let (key, from_fresh) = match (best, fresh_head) {
                (Some((_, b)), Some(f)) if f >= b => (f, true),
                (None, Some(f)) => (f, true),
                (Some((i, b)), _) => {
                    streams[i].pos += 1;
                    (b, false)
                }
                (None, None) => break,
            };
            if from_fresh {
                fi += 1;
            } else if self.fresh.contains_key(&key.1) {
                continue; // shown at its in-memory position instead
            }
            // Active-only: past the idle cutoff, everything further is idle-expired.
            if q.status == StatusFilter::Active && !from_fresh && key.0 <= idle_cutoff {
                streams.retain(|s| s.state != 0);
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
    buf: Vec<(i64, SessionId)>,
    pos: usize,
    next: Option<(i64, SessionId)>,
    done: bool,
}

impl Stream {
    fn fill(&mut self, rx: &(impl Reads + ?Sized), ns: Ns<'_>) -> Result<(), StoreError> {
        if self.pos < self.buf.len() || self.done {
            return Ok(());
        }
        self.buf = rx.activity_page(ns, self.state, self.next, CHUNK)?;
        self.pos = 0;
        self.done = self.buf.len() < CHUNK;
        self.next = self.buf.last().copied().or(self.next);
        Ok(())
    }

    fn head(&self) -> Option<(i64, SessionId)> {
        self.buf.get(self.pos).copied()
    }
}

fn key_tuple(c: Cursor) -> (i64, u128) {
    match c {
        Cursor::Activity(a, s) => (a, s.as_u128()),
        Cursor::Created(s) => (0, s.as_u128()),
    }
}

fn order(a: Cursor, b: Cursor) -> std::cmp::Ordering {
    key_tuple(a).cmp(&key_tuple(b))
}

/// `a` comes after cursor `c` in newest-first order.
fn before(a: Cursor, c: Cursor) -> bool {
    key_tuple(a) < key_tuple(c)
}
