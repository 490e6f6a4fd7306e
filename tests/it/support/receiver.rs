//! A webhook receiver in the test process: records every request and
//! answers from a script (202 once the script is used up), or hangs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Received>,
    script: VecDeque<(u16, String)>,
    hang: bool,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
    arrived: Arc<tokio::sync::Notify>,
}

async fn hook(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let ((status, answer), hang) = {
        let mut i = r.inner.lock().unwrap();
        i.got.push(Received { headers, body });
        (i.script.pop_front().unwrap_or((202, String::new())), i.hang)
    };
    r.arrived.notify_waiters();
    if hang {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
    let ct = [("content-type", "application/json")];
    (StatusCode::from_u16(status).unwrap(), ct, answer)
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// On a given port (a receiver that comes back where it was).
    pub async fn start_on(port: u16) -> Self {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        let r = Receiver {
            inner: Arc::default(),
            url: format!("http://{addr}/hook"),
            arrived: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        tokio::spawn(async move {
            axum::serve(l, app).await.unwrap();
        });
        r
    }

    /// Answer these statuses to the next requests (then 202).
    pub fn script(&self, statuses: &[u16]) {
        let mut i = self.inner.lock().unwrap();
        i.script
            .extend(statuses.iter().map(|s| (*s, String::new())));
    }

    /// Answer `status` with this JSON body to the next request.
    pub fn script_json(&self, status: u16, body: serde_json::Value) {
        let mut i = self.inner.lock().unwrap();
        i.script.push_back((status, body.to_string()));
    }

    /// Never answer from now on.
    pub fn hang(&self) {
        self.inner.lock().unwrap().hang = true;
    }

    pub fn got(&self) -> Vec<Received> {
        self.inner.lock().unwrap().got.clone()
    }

    /// Wait (up to a minute: a guard, not a timing assertion) for `n` requests.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("the receiver got {} requests, not {n}", got.len());
            }
        }
    }
}
