//! Token checks, logins and refreshes under load.

use std::time::Duration;

use serde_json::json;

use super::super::client::Call;
use super::super::load;
use super::super::refs::BareAxum;
use super::super::report::{Goal, Reference, Row};
use super::super::{cores, median};
use super::{Bench, Refs, Rotate, login_call, login_once, no_errors, repeat};

impl Bench {
    pub(super) async fn verify_throughput(&mut self) -> Result<(), String> {
        let addr = self.target.addr;
        let bare = BareAxum::start()?;
        let verify = self.get("/v1/auth/verify");
        let health = Call::get("/healthz", None);
        let (mut v, mut h, mut b, mut v99, mut h99) = (vec![], vec![], vec![], vec![], vec![]);
        for round in 1..=self.sizes.rounds {
            self.step(&format!(
                "verify, /healthz and a bare axum handler, 32 connections (round {round}/{})",
                self.sizes.rounds
            ));
            let d = self.sizes.dur;
            let ho = load::run(addr, repeat(&health, 32), d).await?;
            let vo = load::run(addr, repeat(&verify, 32), d).await?;
            let bo = load::run(bare.addr, repeat(&Call::get("/", None), 32), d).await?;
            no_errors("verify", &vo)?;
            v.push(vo.per_sec());
            h.push(ho.per_sec());
            b.push(bo.per_sec());
            v99.push(vo.ms(0.99));
            h99.push(ho.ms(0.99));
        }
        let (v, h, b) = (median(v), median(h), median(b));
        self.rows.push(Row::against(
            "verify req/s ÷ /healthz req/s",
            v,
            "/s",
            Reference::new("/healthz", h, "/s"),
            Goal::RatioAtLeast(0.6),
        ));
        self.rows.push(Row::against(
            "verify p99 (32 connections)",
            median(v99),
            "ms",
            Reference::new("/healthz p99", median(h99), "ms"),
            Goal::AtMost(2.0),
        ));
        self.rows.push(Row::against(
            "verify req/s ÷ bare axum handler",
            v,
            "/s",
            Reference::new("bare axum", b, "/s"),
            Goal::Report,
        ));
        Ok(())
    }

    pub(super) async fn login_flood(&mut self, refs: &Refs) -> Result<(), String> {
        self.step("login latency, then verify p99 during a login flood");
        let login = login_call(&self.login);
        let one = self.p50(&login, 10).await?;
        self.rows.push(Row::against(
            "login p50 (idle)",
            one,
            "ms",
            Reference::new("one argon2 hash", refs.argon2, "ms"),
            Goal::Report,
        ));
        let addr = self.target.addr;
        let verify = self.get("/v1/auth/verify");
        let d = self.sizes.dur;
        let idle = load::run(addr, repeat(&verify, 4), d).await?;
        let flood = tokio::spawn(load::run(
            addr,
            repeat(&login, 16),
            d + Duration::from_millis(400),
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let under = load::run(addr, repeat(&verify, 4), d).await?;
        let flood = flood.await.map_err(|e| e.to_string())??;
        no_errors("verify during the flood", &under)?;
        self.rows.push(
            Row::against(
                "verify p99 during a login flood",
                under.ms(0.99),
                "ms",
                Reference::new("idle p99", idle.ms(0.99), "ms"),
                Goal::RatioAtMost(2.0),
            )
            .note(format!(
                "4 verify connections beside 16 logging in; {} of {} logins answered 503 overloaded",
                flood.errors, flood.requests
            )),
        );
        self.rows.push(
            Row::new(
                "password logins/s per core at full argon2 capacity",
                flood.per_sec() / cores() as f64,
                "/s",
                Goal::Report,
            )
            .note("Keycloak's sizing guide: ≈ 15 password logins/s per vCPU (published, other hardware)"),
        );
        Ok(())
    }

    pub(super) async fn refresh(&mut self) -> Result<(), String> {
        self.step("refresh rotations: 1 chain, then 32 chains");
        let mut chains = Vec::new();
        for _ in 0..33 {
            let (_, rt) = login_once(&mut self.admin, &self.login).await?;
            chains.push(Rotate(Call::post(
                "/v1/auth/refresh",
                None,
                &json!({ "refresh_token": rt }),
            )));
        }
        let d = self.sizes.dur;
        let first = chains.split_off(32);
        let one = load::run(self.target.addr, first, d).await?;
        let many = load::run(self.target.addr, chains, d).await?;
        no_errors("refresh, 1 chain", &one)?;
        no_errors("refresh, 32 chains", &many)?;
        self.rows.push(
            Row::against(
                "refresh rotations/s, 32 chains ÷ 1 chain",
                many.per_sec(),
                "/s",
                Reference::new("1 chain", one.per_sec(), "/s"),
                Goal::RatioAtLeast(4.0),
            )
            .note(format!(
                "{:.0} rotations/s per core with 32 chains; Keycloak's sizing guide: ≈ 120 refreshes/s per vCPU (published, other hardware)",
                many.per_sec() / cores() as f64
            )),
        );
        Ok(())
    }
}
