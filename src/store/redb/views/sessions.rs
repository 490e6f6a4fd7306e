//! Session reads: records, the by-user index and the activity index (whose
//! value is the session's user). Batches open each table once.

use redb::{ReadableTable, ReadableTableMetadata};

use super::{Source, get_rec};
use crate::domain::{SessionId, SessionRecord, UserId};
use crate::store::IndexedSession;
use crate::store::StoreError;
use crate::store::redb::records::decode;
use crate::store::redb::tables::{Kind, Ns, table_name};

pub(super) fn one<S: Source>(
    src: &S,
    ns: Ns<'_>,
    id: SessionId,
) -> Result<Option<SessionRecord>, StoreError> {
    let name = table_name(ns, Kind::Sessions);
    match src.open(def!(name: u128 => &[u8]))? {
        Some(t) => get_rec(&t, id.as_u128()),
        None => Ok(None),
    }
}

pub(super) fn by_ids<S: Source>(
    src: &S,
    ns: Ns<'_>,
    ids: &[SessionId],
) -> Result<Vec<SessionRecord>, StoreError> {
    let name = table_name(ns, Kind::Sessions);
    let Some(t) = src.open(def!(name: u128 => &[u8]))? else {
        return Ok(Vec::new());
    };
    ids.iter()
        .filter_map(|id| get_rec(&t, id.as_u128()).transpose())
        .collect()
}

pub(super) fn ids_of_user<S: Source>(
    src: &S,
    ns: Ns<'_>,
    user: UserId,
) -> Result<Vec<SessionId>, StoreError> {
    ids_of_users(src, ns, &[user])
}

pub(super) fn ids_of_users<S: Source>(
    src: &S,
    ns: Ns<'_>,
    users: &[UserId],
) -> Result<Vec<SessionId>, StoreError> {
    Ok(keys_of_users(src, ns, users)?
        .into_iter()
        .map(|k| k.id)
        .collect())
}

/// The by-user index entries of these users, user by user, in id order.
pub(super) fn keys_of_users<S: Source>(
    src: &S,
    ns: Ns<'_>,
    users: &[UserId],
) -> Result<Vec<IndexedSession>, StoreError> {
    let name = table_name(ns, Kind::SessionsByUser);
    let Some(t) = src.open(def!(name: (u128, u128) => i64))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for u in users.iter().map(|u| u.as_u128()) {
        for r in t.range((u, 0)..=(u, u128::MAX))? {
            let (k, v) = r?;
            out.push(IndexedSession {
                id: SessionId::from_u128(k.value().1),
                last_activity_ms: v.value(),
            });
        }
    }
    Ok(out)
}

/// Every session of these users; read in id order (B-tree locality).
pub(super) fn of_users<S: Source>(
    src: &S,
    ns: Ns<'_>,
    users: &[UserId],
) -> Result<Vec<SessionRecord>, StoreError> {
    let mut ids = ids_of_users(src, ns, users)?;
    ids.sort_unstable();
    by_ids(src, ns, &ids)
}

/// Up to `n` (last activity, session, user) keys of one state (0 active,
/// 1 revoked), newest first, strictly below `before`.
pub(super) fn activity<S: Source>(
    src: &S,
    ns: Ns<'_>,
    state: u8,
    before: Option<(i64, SessionId)>,
    n: usize,
) -> Result<Vec<(i64, SessionId, UserId)>, StoreError> {
    let name = table_name(ns, Kind::SessionsByActivity);
    let Some(t) = src.open(def!(name: (u8, i64, u128) => u128))? else {
        return Ok(Vec::new());
    };
    let range = match before {
        Some((a, sid)) => t.range((state, i64::MIN, 0)..(state, a, sid.as_u128()))?,
        None => t.range((state, i64::MIN, 0)..=(state, i64::MAX, u128::MAX))?,
    };
    range
        .rev()
        .take(n)
        .map(|r| {
            let (k, v) = r?;
            let (_, a, sid) = k.value();
            Ok((a, SessionId::from_u128(sid), UserId::from_u128(v.value())))
        })
        .collect()
}

/// Up to `n` sessions, newest created first, strictly before `before`.
pub(super) fn page<S: Source>(
    src: &S,
    ns: Ns<'_>,
    before: Option<SessionId>,
    n: usize,
) -> Result<Vec<SessionRecord>, StoreError> {
    let name = table_name(ns, Kind::Sessions);
    let Some(t) = src.open(def!(name: u128 => &[u8]))? else {
        return Ok(Vec::new());
    };
    let range = match before {
        Some(b) => t.range(..b.as_u128())?,
        None => t.range(0..)?,
    };
    range.rev().take(n).map(|r| decode(r?.1.value())).collect()
}

/// The sessions table's length (kept in its header: no walk).
pub(super) fn len<S: Source>(src: &S, ns: Ns<'_>) -> Result<u64, StoreError> {
    let name = table_name(ns, Kind::Sessions);
    match src.open(def!(name: u128 => &[u8]))? {
        Some(t) => Ok(t.len()?),
        None => Ok(0),
    }
}
