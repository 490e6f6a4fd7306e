//! Memory while serving, and start-up after a clean stop and after kill -9.

use super::super::client::Conn;
use super::super::report::{Goal, Row, num};
use super::super::{median, ms};
use super::{Bench, login_once};

impl Bench {
    pub(super) fn serving_memory(&mut self) {
        if let Some((rss, _)) = self.target.memory_mib() {
            self.rows.push(Row::new(
                format!(
                    "RSS while serving {} sessions",
                    num(self.sizes.sessions as f64)
                ),
                rss,
                "MiB",
                Goal::AtMost(256.0),
            ));
        }
    }

    pub(super) async fn start_up(&mut self) -> Result<(), String> {
        if !self.target.is_local() {
            return Ok(());
        }
        let n = num(self.sizes.sessions as f64);
        for (how, crash) in [("clean stop", false), ("kill -9", true)] {
            let (mut times, mut peaks) = (Vec::new(), Vec::new());
            for round in 1..=self.sizes.rounds {
                self.step(&format!(
                    "start-up after {how} (round {round}/{})",
                    self.sizes.rounds
                ));
                // A write first, so the file is mid-use when it dies.
                login_once(&mut self.admin, &self.login).await?;
                if crash {
                    self.target.kill9()?;
                } else {
                    self.target.stop()?;
                }
                times.push(ms(self.target.start().await?));
                peaks.push(self.target.memory_mib().map_or(0.0, |m| m.1));
                self.admin = Conn::open(self.target.addr).await?;
            }
            self.rows.push(
                Row::new(
                    format!("start-up to /readyz after {how}, {n} sessions"),
                    median(times),
                    "ms",
                    Goal::AtMost(200.0),
                )
                .note(format!(
                    "peak RSS {:.0} MiB at ready",
                    median(peaks.clone())
                )),
            );
            if crash {
                self.rows.push(Row::new(
                    "peak RSS at start-up after kill -9",
                    median(peaks),
                    "MiB",
                    Goal::AtMost(256.0),
                ));
            }
        }
        Ok(())
    }
}
