//! Revocation events: how soon a webhook hears of a revocation, and that a
//! hanging receiver does not slow revocation answers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::super::client::Call;
use super::super::report::{Goal, Reference, Row};
use super::super::{median, ms};
use super::Bench;

/// Records when each delivery arrived; answers 202, or never.
#[derive(Clone, Default)]
struct Receiver {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start(hang: bool) -> Result<(Self, SocketAddr), String> {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("receiver: {e}"))?;
        let addr = l.local_addr().map_err(|e| e.to_string())?;
        let me = Self::default();
        let r = me.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = l.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                        let r = r.clone();
                        async move {
                            r.arrivals
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(Instant::now());
                            r.notify.notify_waiters();
                            if hang {
                                std::future::pending::<()>().await;
                            }
                            let mut res = Response::new(Full::new(Bytes::new()));
                            *res.status_mut() = StatusCode::ACCEPTED;
                            Ok::<_, Infallible>(res)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        Ok((me, addr))
    }

    fn count(&self) -> usize {
        self.arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// When the `n`th delivery arrived (waiting up to 10 s).
    async fn nth(&self, n: usize) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let wait = self.notify.notified();
            tokio::pin!(wait);
            wait.as_mut().enable();
            if let Some(t) = self
                .arrivals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(n - 1)
            {
                return Some(*t);
            }
            if tokio::time::timeout_at(deadline, wait).await.is_err() {
                return None;
            }
        }
    }
}

impl Bench {
    async fn webhook(&mut self, addr: SocketAddr) -> Result<String, String> {
        let call = Call::post(
            self.tenant_path("webhooks"),
            Some(&self.token),
            &json!({"url": format!("http://{addr}/hook")}),
        );
        let v = self.admin.json(&call).await?;
        Ok(v["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn drop_webhook(&mut self, id: &str) -> Result<(), String> {
        let call = Call::delete(
            self.tenant_path(&format!("webhooks/{id}")),
            Some(&self.token),
        );
        self.admin.send(&call).await.map(|_| ())
    }

    /// Revoke `n` sessions one at a time: each answer's time (ms) and instant.
    async fn revoke_each(&mut self, n: usize) -> Result<Vec<(f64, Instant)>, String> {
        let ids = self.active_ids(n).await?;
        let mut out = Vec::with_capacity(n);
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
            out.push((ms(d), Instant::now()));
        }
        Ok(out)
    }

    pub(super) async fn events(&mut self) -> Result<(), String> {
        if !self.target.is_local() {
            return Ok(()); // a remote server would need --webhook-allow-hosts for us
        }
        self.step("revocation events: webhook delivery, and a hanging receiver");
        let (fast, addr) = Receiver::start(false).await?;
        let hook = self.webhook(addr).await?;
        let mut lag = Vec::new();
        for _ in 0..11 {
            let before = fast.count();
            let answered = self.revoke_each(1).await?;
            let Some(at) = fast.nth(before + 1).await else {
                return Err("a revocation's webhook did not arrive within 10 s".into());
            };
            lag.push(ms(at.saturating_duration_since(answered[0].1)));
        }
        self.drop_webhook(&hook).await?;
        self.rows.push(
            Row::new(
                "revoke answer → webhook received p50",
                median(lag),
                "ms",
                Goal::AtMost(1000.0),
            )
            .note("the outbox row commits with the revocation; the engine wakes on the commit"),
        );
        let plain = median(self.revoke_each(15).await?.iter().map(|r| r.0).collect());
        let (_slow, addr) = Receiver::start(true).await?;
        let hook = self.webhook(addr).await?;
        let hung = median(self.revoke_each(15).await?.iter().map(|r| r.0).collect());
        self.drop_webhook(&hook).await?;
        self.rows.push(Row::against(
            "revoke p50 while a webhook receiver hangs",
            hung,
            "ms",
            Reference::new("revoke p50 without webhooks", plain, "ms"),
            Goal::RatioAtMost(1.3),
        ));
        Ok(())
    }
}
