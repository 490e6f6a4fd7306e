//! The user search index: for each byte trigram of a user's search texts
//! (email, lower-cased name), a `(trigram, user id)` key. Every substring of
//! three or more bytes holds only trigrams its haystack holds, so the users
//! whose posting lists all contain a query's trigrams are a superset of the
//! matches; callers confirm each with [`UserRecord::matches`], so the join
//! may hand out more candidates where that is cheaper than excluding them.

use std::collections::BTreeSet;

use redb::{Range, ReadableTable};

use super::StoreError;
use crate::domain::{UserId, UserRecord};

/// Key of the index table: trigram (3 bytes, big-endian in a u32), user id.
pub(crate) type TrigramKey = (u32, u128);

/// The distinct byte trigrams of `texts`, ascending.
pub(crate) fn trigrams<S: AsRef<str>>(texts: &[S]) -> BTreeSet<u32> {
    texts
        .iter()
        .flat_map(|t| {
            t.as_ref()
                .as_bytes()
                .windows(3)
                .map(|w| u32::from_be_bytes([0, w[0], w[1], w[2]]))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The index entries a user has.
pub(crate) fn user_trigrams(u: &UserRecord) -> BTreeSet<u32> {
    trigrams(&u.search_texts())
}

/// One trigram's posting list, read forward, able to jump ahead.
struct Posting<'t, T: ReadableTable<TrigramKey, ()>> {
    table: &'t T,
    trigram: u32,
    iter: Range<'t, TrigramKey, ()>,
    head: Option<u128>,
}

impl<'t, T: ReadableTable<TrigramKey, ()>> Posting<'t, T> {
    fn open(table: &'t T, trigram: u32, from: u128) -> Result<Self, StoreError> {
        let mut p = Posting {
            table,
            trigram,
            iter: table.range((trigram, from)..=(trigram, u128::MAX))?,
            head: None,
        };
        p.step()?;
        Ok(p)
    }

    fn step(&mut self) -> Result<(), StoreError> {
        self.head = match self.iter.next() {
            Some(row) => Some(row?.0.value().1),
            None => None,
        };
        Ok(())
    }

    /// Move to the first id `>= from`; `None` once the list is exhausted.
    /// Neighbours are usually a step or two away, so step a few times
    /// before paying for a fresh descent of the tree.
    fn seek(&mut self, from: u128) -> Result<Option<u128>, StoreError> {
        for _ in 0..4 {
            match self.head {
                Some(h) if h < from => self.step()?,
                other => return Ok(other),
            }
        }
        if self.head.is_some_and(|h| h < from) {
            self.iter = self
                .table
                .range((self.trigram, from)..=(self.trigram, u128::MAX))?;
            self.step()?;
        }
        Ok(self.head)
    }
}

/// Entries a list is probed for to rank it; fewer means the list is that short.
const PROBE: usize = 32;
/// Checks a filter list gets before it must prove it rejects candidates.
const TRIAL: u32 = 32;

/// How sparse a list looks from its first [`PROBE`] ids after `from`: a
/// short list by its length, else by the id span they cover (ids grow with
/// creation time, so a rarer trigram's first ids spread wider). Sorts
/// sparsest first.
fn sparseness<T: ReadableTable<TrigramKey, ()>>(
    table: &T,
    trigram: u32,
    from: u128,
) -> Result<(usize, std::cmp::Reverse<u128>), StoreError> {
    let mut ids = Vec::with_capacity(PROBE);
    for row in table.range((trigram, from)..=(trigram, u128::MAX))? {
        ids.push(row?.0.value().1);
        if ids.len() == PROBE {
            break;
        }
    }
    Ok(match (ids.first(), ids.last()) {
        (Some(a), Some(b)) if ids.len() == PROBE => (PROBE, std::cmp::Reverse(b - a)),
        _ => (ids.len(), std::cmp::Reverse(u128::MAX)),
    })
}

/// A list consulted to reject the driver's candidates, while it does.
struct Filter<'t, T: ReadableTable<TrigramKey, ()>> {
    list: Posting<'t, T>,
    checks: u32,
    rejects: u32,
}

/// Candidate users, ascending after `after`, handed to `visit` until it
/// answers `false` or the lists run out. A superset of the users holding
/// every trigram: the sparsest list drives, and each other list filters
/// only while it rejects at least a quarter of what it checks (lists of
/// one name, like "mül" and "üll", agree on nearly every user, and a seek
/// costs more than the caller's confirming read it would save).
pub(crate) fn candidates<T: ReadableTable<TrigramKey, ()>>(
    table: &T,
    trigrams: &BTreeSet<u32>,
    after: Option<UserId>,
    mut visit: impl FnMut(UserId) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let Some(mut target) = after.map_or(Some(0), |a| a.as_u128().checked_add(1)) else {
        return Ok(());
    };
    let mut ranked = trigrams
        .iter()
        .map(|&t| Ok((sparseness(table, t, target)?, t)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    ranked.sort_unstable();
    let Some(&(_, first)) = ranked.first() else {
        return Ok(());
    };
    let mut driver = Posting::open(table, first, target)?;
    let mut filters = ranked[1..]
        .iter()
        .map(|&(_, t)| {
            Ok(Filter {
                list: Posting::open(table, t, target)?,
                checks: 0,
                rejects: 0,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    'driver: while let Some(c) = driver.seek(target)? {
        for f in &mut filters {
            f.checks += 1;
            match f.list.seek(c)? {
                None => return Ok(()),
                Some(h) if h > c => {
                    f.rejects += 1;
                    target = h;
                    continue 'driver;
                }
                Some(_) => {}
            }
        }
        filters.retain(|f| f.checks < TRIAL || f.rejects * 4 >= f.checks);
        if !visit(UserId::from_u128(c))? {
            return Ok(());
        }
        let Some(next) = c.checked_add(1) else {
            return Ok(());
        };
        target = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use redb::{Database, ReadableDatabase, TableDefinition};

    const T: TableDefinition<TrigramKey, ()> = TableDefinition::new("t");

    fn index(texts: &[&str]) -> (tempfile::NamedTempFile, Database) {
        let f = tempfile::NamedTempFile::new().unwrap();
        let db = Database::create(f.path()).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut t = w.open_table(T).unwrap();
            for (i, text) in texts.iter().enumerate() {
                for tri in trigrams(&[text]) {
                    t.insert((tri, i as u128), ()).unwrap();
                }
            }
        }
        w.commit().unwrap();
        (f, db)
    }

    fn found(db: &Database, q: &str, after: Option<u128>) -> Vec<u128> {
        let r = db.begin_read().unwrap();
        let t = r.open_table(T).unwrap();
        let mut out = Vec::new();
        candidates(&t, &trigrams(&[q]), after.map(UserId::from_u128), |u| {
            out.push(u.as_u128());
            Ok(true)
        })
        .unwrap();
        out
    }

    #[test]
    fn trigrams_are_bytes_of_each_text_not_across_them() {
        assert_eq!(trigrams(&["abcd"]).len(), 2);
        assert_eq!(trigrams(&["ab", "cd"]).len(), 0);
        assert_eq!(trigrams(&["müll"]).len(), 3); // ü is two bytes
    }

    #[test]
    fn resumes_after_a_cursor_and_stops_when_told() {
        let (_f, db) = index(&["ann", "bob", "anna", "joanne", "ann"]);
        assert_eq!(found(&db, "ann", None), [0, 2, 3, 4]);
        assert_eq!(found(&db, "ann", Some(2)), [3, 4]);
        assert_eq!(found(&db, "zzz", None), Vec::<u128>::new());
        let r = db.begin_read().unwrap();
        let t = r.open_table(T).unwrap();
        let mut n = 0;
        candidates(&t, &trigrams(&["ann"]), None, |_| {
            n += 1;
            Ok(n < 2)
        })
        .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_list_that_rejects_keeps_filtering_past_its_trial() {
        // "bcd" (the evens) drives; "abc" rejects every other even, so it stays.
        let texts: Vec<&str> = (0..400)
            .map(|i| match i {
                i if i % 4 == 0 => "abcd",
                i if i % 2 == 0 => "zbcd",
                _ => "abcz",
            })
            .collect();
        let (_f, db) = index(&texts);
        let want: Vec<u128> = (0..400).filter(|i| i % 4 == 0).collect();
        assert_eq!(found(&db, "abcd", None), want);
        assert_eq!(found(&db, "abcd", Some(200)), want[51..]);
    }

    proptest! {
        /// Every real match is a candidate (no false negatives), over texts
        /// sharing many trigrams so the join both steps and seeks.
        #[test]
        fn candidates_include_every_match(
            texts in proptest::collection::vec("[ab]{0,12}(ü|x)?[ab]{0,6}", 1..120),
            q in "[ab]{3,5}(ü|x)?",
        ) {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let (_f, db) = index(&refs);
            let got = found(&db, &q, None);
            let want: Vec<u128> = (0..texts.len() as u128)
                .filter(|&i| texts[i as usize].contains(q.as_str()))
                .collect();
            prop_assert!(want.iter().all(|w| got.contains(w)), "{want:?} ⊄ {got:?}");
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
