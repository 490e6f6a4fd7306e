//! Session lists, bulk targets and counts, each one query (the default
//! walks indexes, which here would cost a round trip per step). This
//! node's unflushed activity is merged in memory: those sessions are left
//! out of the ordered query and placed by their fresh key instead.

use postgres::types::ToSql;
use uuid::Uuid;

use super::{PgTx, all, limit, uid};
use crate::domain::query::{Activity, BulkFilter, Cursor, SessionQuery, Sort, StatusFilter};
use crate::domain::{SessionId, SessionRecord};
use crate::store::StoreError;

/// A statement being built: conditions and their numbered parameters.
#[derive(Default)]
struct Sql {
    conds: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync>>,
}

impl Sql {
    fn bind(&mut self, v: impl ToSql + Sync + 'static) -> String {
        self.params.push(Box::new(v));
        format!("${}", self.params.len())
    }

    fn and(&self) -> String {
        self.conds.iter().map(|c| format!(" AND {c}")).collect()
    }

    fn run(&self, tx: &PgTx<'_>, text: &str) -> Result<Vec<postgres::Row>, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = self.params.iter().map(|p| p.as_ref()).collect();
        tx.query(text, &params)
    }
}

/// `LIKE` pattern for "contains `key`" (the trigram index serves it).
pub(super) fn contains_pattern(key: &str) -> String {
    let mut p = String::with_capacity(key.len() + 2);
    p.push('%');
    for c in key.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn ids(v: impl IntoIterator<Item = SessionId>) -> Vec<Uuid> {
    v.into_iter().map(|s| uid(s.as_u128())).collect()
}

/// Up to this many users matching `q` are named by id (the by-user index
/// serves them); more are matched by a subquery along the activity order.
const DIRECT_USERS: i64 = crate::store::walk::DIRECT_USERS as i64;

/// Which users' sessions a text search keeps.
enum Matching {
    Users(Vec<Uuid>),
    Pattern(String),
}

impl PgTx<'_> {
    fn matching(&self, sc: &str, text: &str) -> Result<Matching, StoreError> {
        let pattern = contains_pattern(text);
        let rows = self.query(
            &format!("SELECT id FROM {sc}.users WHERE search LIKE $1 ESCAPE '\\' LIMIT $2"),
            &[&pattern, &(DIRECT_USERS + 1)],
        )?;
        Ok(if rows.len() as i64 > DIRECT_USERS {
            Matching::Pattern(pattern)
        } else {
            Matching::Users(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// The user and text criteria of `q`, shared by both halves of a list;
    /// answers the rows to select from. Named users' sessions are gathered
    /// apart (`OFFSET 0` keeps the planner on the by-user index instead of
    /// walking the activity order and filtering), then sorted.
    fn who(&self, sql: &mut Sql, sc: &str, q: &SessionQuery, text: Option<&Matching>) -> String {
        if let Some(u) = q.user_id {
            let p = sql.bind(uid(u.as_u128()));
            sql.conds.push(format!("user_id = {p}"));
        }
        match text {
            Some(Matching::Users(users)) => {
                let p = sql.bind(users.clone());
                return format!(
                    "(SELECT * FROM {sc}.sessions WHERE user_id = ANY({p}) OFFSET 0) AS s"
                );
            }
            Some(Matching::Pattern(pattern)) => {
                let p = sql.bind(pattern.clone());
                sql.conds.push(format!(
                    "user_id IN (SELECT id FROM {sc}.users WHERE search LIKE {p} ESCAPE '\\')"
                ));
            }
            None => {}
        }
        format!("{sc}.sessions")
    }

    pub(super) fn query_sessions_sql(
        &self,
        sc: &str,
        q: &SessionQuery,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let want = q.limit + 1;
        let text = q.text();
        // Email and name hold no newline: the stored search text joins them with one.
        if text.as_deref().is_some_and(|t| t.contains('\n')) {
            return Ok(Vec::new());
        }
        let text = match text.as_deref() {
            Some(t) => match self.matching(sc, t)? {
                Matching::Users(u) if u.is_empty() => return Ok(Vec::new()),
                m => Some(m),
            },
            None => None,
        };
        let text = text.as_ref();
        let fresh = ids(at.fresh.keys().copied());
        let order = match q.sort {
            Sort::LastActivityDesc => "last_active DESC, id DESC",
            Sort::CreatedDesc => "id DESC",
        };
        let after = |s: &SessionRecord| {
            q.cursor
                .is_none_or(|c| at.key(s, q.sort).tuple() < c.tuple())
        };

        // Stored order, without this node's fresh sessions; filtered again
        // in memory (absolute expiry is in the record), so fetch in batches.
        let mut out = Vec::new();
        let mut cursor = q.cursor;
        loop {
            let mut sql = Sql::default();
            let from = self.who(&mut sql, sc, q, text);
            if !fresh.is_empty() {
                let p = sql.bind(fresh.clone());
                sql.conds.push(format!("NOT (id = ANY({p}))"));
            }
            match cursor {
                Some(Cursor::Activity(a, s)) => {
                    let (pa, ps) = (sql.bind(a), sql.bind(uid(s.as_u128())));
                    sql.conds.push(format!("(last_active, id) < ({pa}, {ps})"));
                }
                Some(Cursor::Created(s)) => {
                    let p = sql.bind(uid(s.as_u128()));
                    sql.conds.push(format!("id < {p}"));
                }
                None => {}
            }
            let states: Vec<String> = match q.status {
                StatusFilter::Active => {
                    let p = sql.bind(at.idle_cutoff());
                    vec![format!("NOT revoked AND last_active > {p}")]
                }
                StatusFilter::Revoked => vec!["revoked".into()],
                // Two ordered halves, each served by the activity index.
                StatusFilter::All => vec!["NOT revoked".into(), "revoked".into()],
            };
            let lim = sql.bind(limit(want));
            let and = sql.and();
            let halves: Vec<String> = states
                .iter()
                .map(|st| {
                    format!(
                        "(SELECT rec, last_active, id FROM {from} WHERE {st}{and} ORDER BY {order} LIMIT {lim})"
                    )
                })
                .collect();
            let rows = sql.run(
                self,
                &format!(
                    "SELECT rec FROM ({}) AS u ORDER BY {order} LIMIT {lim}",
                    halves.join(" UNION ALL ")
                ),
            )?;
            let batch: Vec<SessionRecord> = all(rows)?;
            let full = batch.len() == want;
            cursor = batch.last().map(|s| at.key(s, q.sort)).or(cursor);
            out.extend(batch.into_iter().filter(|s| at.wanted(s, q.status)));
            if out.len() >= want || !full {
                break;
            }
        }
        out.truncate(want);

        if !fresh.is_empty() {
            let mut sql = Sql::default();
            let from = self.who(&mut sql, sc, q, text);
            match q.status {
                StatusFilter::Active => sql.conds.push("NOT revoked".into()),
                StatusFilter::Revoked => sql.conds.push("revoked".into()),
                StatusFilter::All => {}
            }
            let p = sql.bind(fresh);
            let rows = sql.run(
                self,
                &format!("SELECT rec FROM {from} WHERE id = ANY({p}){}", sql.and()),
            )?;
            let found: Vec<SessionRecord> = all(rows)?;
            out.extend(
                found
                    .into_iter()
                    .filter(|s| at.wanted(s, q.status) && after(s)),
            );
        }
        out.sort_by_key(|s| std::cmp::Reverse(at.key(s, q.sort).tuple()));
        out.truncate(want);
        Ok(out)
    }

    pub(super) fn bulk_targets_sql(
        &self,
        sc: &str,
        f: &BulkFilter,
        except: Option<SessionId>,
        at: &Activity<'_>,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut sql = Sql::default();
        sql.conds.push("NOT revoked".into());
        if let Some(users) = &f.user_ids {
            let users: Vec<Uuid> = users.iter().map(|u| uid(u.as_u128())).collect();
            let p = sql.bind(users);
            sql.conds.push(format!("user_id = ANY({p})"));
        }
        if let Some(i) = f.idle_for_secs {
            // Stored activity; fresh activity is checked on the records below.
            let p = sql.bind(at.now.minus_secs(i).millis());
            sql.conds.push(format!("last_active <= {p}"));
        }
        let rows = sql.run(
            self,
            &format!(
                "SELECT rec FROM {sc}.sessions WHERE {} ORDER BY id DESC",
                sql.conds.join(" AND ")
            ),
        )?;
        let found: Vec<SessionRecord> = all(rows)?;
        Ok(found
            .into_iter()
            .filter(|s| at.bulk_match(s, f, except))
            .map(|s| s.id)
            .collect())
    }

    pub(super) fn count_active_sql(
        &self,
        sc: &str,
        idle_cutoff_ms: i64,
    ) -> Result<u64, StoreError> {
        let rows = self.query(
            &format!("SELECT count(*) FROM {sc}.sessions WHERE NOT revoked AND last_active > $1"),
            &[&idle_cutoff_ms],
        )?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    pub(super) fn sessions_by_ids_sql(
        &self,
        sc: &str,
        wanted: &[SessionId],
    ) -> Result<Vec<SessionRecord>, StoreError> {
        all(self.query(
            &format!("SELECT rec FROM {sc}.sessions WHERE id = ANY($1)"),
            &[&ids(wanted.iter().copied())],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(contains_pattern("ines"), "%ines%");
        assert_eq!(contains_pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
    }
}
