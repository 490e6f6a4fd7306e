//! The admin API at scale: pages, search, one and many revocations.

use serde_json::json;

use super::super::client::Call;
use super::super::report::{Goal, Reference, Row, num};
use super::super::{median, ms};
use super::{Bench, Refs, query};

impl Bench {
    pub(super) async fn pages(&mut self) -> Result<(), String> {
        let depth = self.sizes.depth;
        let mut worst = (0.0, String::new());
        let mut each = Vec::new();
        for sort in ["last_activity_desc", "created_desc"] {
            self.step(&format!("50-row pages by {sort}: first and at row {depth}"));
            let path = self.tenant_path("sessions");
            let first = self.get(&query(&path, &[("limit", "50"), ("sort", sort)]));
            let p = self.p50(&first, 20).await?;
            each.push(format!("{sort} first {p:.2} ms"));
            if p > worst.0 {
                worst = (p, format!("{sort}, first page"));
            }
            let mut cursor = String::new();
            for _ in 0..depth / 200 {
                let page = self
                    .admin
                    .json(&self.get(&query(
                        &path,
                        &[("limit", "200"), ("sort", sort), ("cursor", &cursor)],
                    )))
                    .await?;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = c.to_owned(),
                    None => return Err(format!("fewer than {depth} sessions to page through")),
                }
            }
            let deep = self.get(&query(
                &path,
                &[("limit", "50"), ("sort", sort), ("cursor", &cursor)],
            ));
            let p = self.p50(&deep, 20).await?;
            each.push(format!("at row {depth} {p:.2} ms"));
            if p > worst.0 {
                worst = (p, format!("{sort}, row {depth}"));
            }
        }
        self.rows.push(
            Row::new(
                format!(
                    "50-row page p50 at {} sessions (worst)",
                    num(self.sizes.sessions as f64)
                ),
                worst.0,
                "ms",
                Goal::AtMost(5.0),
            )
            .note(format!("worst: {}; {}", worst.1, each.join(", "))),
        );
        Ok(())
    }

    pub(super) async fn revoke_one(&mut self, refs: &Refs) -> Result<(), String> {
        self.step("revoking sessions one at a time");
        let ids = self.active_ids(31).await?;
        let mut v = Vec::new();
        for id in &ids {
            let call = Call::post(
                self.tenant_path(&format!("sessions/{id}/revoke")),
                Some(&self.token),
                &json!({"reason": "bench"}),
            );
            let (d, body) = self.admin.timed(&call).await?;
            if body["revoked"] != 1 {
                return Err(format!("revoking {id} answered {body}"));
            }
            v.push(ms(d));
        }
        let p50 = median(v);
        self.rows.push(
            Row::against(
                "revoke one session p50",
                p50,
                "ms",
                Reference::new(
                    format!("bare durable {} commit", refs.engine),
                    refs.commit,
                    "ms",
                ),
                Goal::RatioAtMost(1.3),
            )
            .note(match &refs.redb {
                Some(r) => format!(
                    "sessiond commits with two-phase commit and quick repair (bounded start-up after a crash); a bare commit with those settings takes {:.2} ms, and the writes of one revocation (record, index move, audit entry, outbox row) {:.2} ms: sessiond ÷ that = {:.2}",
                    r.commit_sessiond,
                    r.revoke_like,
                    p50 / r.revoke_like.max(f64::MIN_POSITIVE)
                ),
                None => "sessiond's revoke is one REPEATABLE READ transaction: read the session, write it back, append the audit entry under its chain-head lock".into(),
            }),
        );
        Ok(())
    }

    pub(super) async fn revoked_filter(&mut self) -> Result<(), String> {
        self.step("status=revoked&sort=created_desc with few revoked sessions");
        let call = self.get(&query(
            &self.tenant_path("sessions"),
            &[
                ("status", "revoked"),
                ("sort", "created_desc"),
                ("limit", "50"),
            ],
        ));
        let p = self.p50(&call, 20).await?;
        self.rows.push(Row::new(
            "status=revoked&sort=created_desc page p50",
            p,
            "ms",
            Goal::AtMost(5.0),
        ));
        Ok(())
    }

    pub(super) async fn search(&mut self) -> Result<(), String> {
        self.step("q= on users and sessions");
        let terms = ["user1234", "ines müller", "kowalski", "user77"];
        for (what, list) in [("users", "users"), ("sessions", "sessions")] {
            let mut each = Vec::new();
            for t in terms {
                let call = self.get(&query(
                    &self.tenant_path(list),
                    &[("q", t), ("limit", "50")],
                ));
                each.push((t, self.p50(&call, 10).await?));
            }
            let worst = each.iter().map(|e| e.1).fold(0.0, f64::max);
            self.rows.push(
                Row::new(
                    format!(
                        "{what} page with q= p50 at {} users (worst)",
                        num(self.sizes.users as f64)
                    ),
                    worst,
                    "ms",
                    Goal::AtMost(5.0),
                )
                .note(
                    each.iter()
                        .map(|(t, p)| format!("{t:?} {p:.2} ms"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            );
        }
        Ok(())
    }

    pub(super) async fn bulk_by_users(&mut self, refs: &Refs) -> Result<(), String> {
        let (mut times, mut counts) = (Vec::new(), Vec::new());
        for round in 0..self.sizes.rounds {
            self.step(&format!(
                "bulk revoke by 1,000 users (round {}/{})",
                round + 1,
                self.sizes.rounds
            ));
            // A fresh set of members each round.
            let users = self.members(1000 * round, 1000).await?;
            let path = self.tenant_path("sessions/revoke");
            let body = json!({"filter": {"user_ids": users}, "reason": "bench", "dry_run": false});
            let (d, r) = self
                .admin
                .timed(&Call::post(path, Some(&self.token), &body))
                .await?;
            times.push(ms(d));
            counts.push(r["revoked"].as_f64().unwrap_or(0.0));
        }
        let took = median(times);
        self.rows.push(
            Row::against(
                format!("bulk revoke of {} sessions (1,000 users)", num(median(counts))),
                took,
                "ms",
                Reference::new(
                    format!(
                        "bare {} delete of 10k of {}",
                        refs.engine,
                        num(refs.rows as f64)
                    ),
                    refs.delete,
                    "ms",
                ),
                Goal::RatioAtMost(1.5),
            )
            .note(match &refs.redb {
                Some(r) => format!(
                    "one transaction with its audit entry, where the time goes: per session sessiond reads the record, writes it back and moves its activity-index entry; those same writes in bare redb, 10k rows, take {:.0} ms (sessiond ÷ that = {:.2}); the bare delete with sessiond's commit settings takes {:.0} ms",
                    r.rewrite,
                    took / r.rewrite.max(f64::MIN_POSITIVE),
                    r.delete_sessiond
                ),
                None => "one transaction with its audit entry: the sessions are read and written back with one statement each (unnest)".into(),
            }),
        );
        Ok(())
    }

    pub(super) async fn bulk_by_ids(&mut self) -> Result<(), String> {
        self.step("bulk revoke by 10,000 session_ids in one request");
        let ids = self.active_ids(10_000).await?;
        let n = ids.len();
        let body = json!({"session_ids": ids, "reason": "bench"});
        let bytes = body.to_string().len();
        let call = Call::post(
            self.tenant_path("sessions/revoke"),
            Some(&self.token),
            &body,
        );
        let (d, r) = self.admin.timed(&call).await?;
        let revoked = r["revoked"].as_u64().unwrap_or(0) as usize;
        self.rows.push(
            Row::new(
                format!("bulk revoke by {} session_ids, one request", num(n as f64)),
                ms(d),
                "ms",
                Goal::Holds(n == 10_000 && revoked == n),
            )
            .note(format!("{} KiB body, revoked {revoked}", bytes / 1024)),
        );
        Ok(())
    }
}
