//! Closed-loop load, as wrk does it: `conns` keep-alive connections, each
//! sending its next request as soon as the last one is answered.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper::StatusCode;

use super::client::{Call, Conn};

/// What one connection sends, request after request.
pub trait Script: Send + 'static {
    fn call(&self) -> &Call;
    /// Sees each answer (a refresh chain takes its next token from it).
    fn answered(&mut self, _status: StatusCode, _body: &[u8]) {}
}

/// The same request again and again.
pub struct Repeat(pub Call);

impl Script for Repeat {
    fn call(&self) -> &Call {
        &self.0
    }
}

pub struct Outcome {
    pub requests: u64,
    /// Answers that were not 2xx (a benchmark with errors measures the wrong thing).
    pub errors: u64,
    /// The first such answer: status and the start of its body.
    pub first_error: Option<String>,
    pub secs: f64,
    /// Latencies in µs, sorted.
    lat: Vec<u32>,
}

impl Outcome {
    pub fn per_sec(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }

    /// Latency at quantile `q` (0..=1), in ms.
    pub fn ms(&self, q: f64) -> f64 {
        percentile(&self.lat, q) as f64 / 1000.0
    }
}

pub fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let i = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted[i]
}

/// Run one script per connection for `dur`; fails if a connection breaks.
pub async fn run<S: Script>(
    addr: SocketAddr,
    scripts: Vec<S>,
    dur: Duration,
) -> Result<Outcome, String> {
    let mut conns = Vec::with_capacity(scripts.len());
    for _ in &scripts {
        conns.push(Conn::open(addr).await?);
    }
    let started = Instant::now();
    let deadline = started + dur;
    let tasks: Vec<_> = scripts
        .into_iter()
        .zip(conns)
        .map(|(mut script, mut conn)| {
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 16);
                let mut errors = 0u64;
                let mut first = None;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let (status, body) = conn.send(script.call()).await?;
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    if !status.is_success() {
                        errors += 1;
                        first.get_or_insert_with(|| {
                            let text = String::from_utf8_lossy(&body);
                            format!("{status} {}", text.chars().take(200).collect::<String>())
                        });
                    }
                    script.answered(status, &body);
                }
                Ok::<_, String>((lat, errors, first))
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (l, e, f) = t.await.map_err(|e| e.to_string())??;
        lat.extend(l);
        errors += e;
        first_error = first_error.or(f);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    Ok(Outcome {
        requests: lat.len() as u64,
        errors,
        first_error,
        secs,
        lat,
    })
}
