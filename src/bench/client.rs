//! A minimal keep-alive HTTP/1.1 client on hyper, for the load generator and
//! the admin calls of `sessiond bench`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One connection; requests on it are sequential.
pub struct Conn {
    addr: SocketAddr,
    send: SendRequest<Full<Bytes>>,
}

/// What a request needs; cheap to clone for the load loop.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub token: Option<String>,
    pub body: Option<Bytes>,
}

impl Call {
    pub fn get(path: impl Into<String>, token: Option<&str>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            token: token.map(str::to_owned),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, token: Option<&str>, body: &Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            token: token.map(str::to_owned),
            body: Some(Bytes::from(body.to_string())),
        }
    }

    fn request(&self, addr: SocketAddr) -> Result<Request<Full<Bytes>>, String> {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header("host", addr.to_string());
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if self.body.is_some() {
            b = b.header("content-type", "application/json");
        }
        b.body(Full::new(self.body.clone().unwrap_or_default()))
            .map_err(|e| format!("bad request {}: {e}", self.path))
    }
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Result<Self, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake with {addr}: {e}"))?;
        tokio::spawn(conn);
        Ok(Self { addr, send })
    }

    /// Send and read the whole answer.
    pub async fn send(&mut self, call: &Call) -> Result<(StatusCode, Bytes), String> {
        self.send
            .ready()
            .await
            .map_err(|e| format!("connection to {}: {e}", self.addr))?;
        let res = self
            .send
            .send_request(call.request(self.addr)?)
            .await
            .map_err(|e| format!("{} {}: {e}", call.method, call.path))?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{} {}: {e}", call.method, call.path))?
            .to_bytes();
        Ok((status, body))
    }

    /// Send, expect a 2xx, parse JSON (an empty body is `null`).
    pub async fn json(&mut self, call: &Call) -> Result<Value, String> {
        let (status, body) = self.send(call).await?;
        if !status.is_success() {
            return Err(format!(
                "{} {} answered {status}: {}",
                call.method,
                call.path,
                String::from_utf8_lossy(&body)
            ));
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{}: not JSON: {e}", call.path))
    }

    /// `json`, timed.
    pub async fn timed(&mut self, call: &Call) -> Result<(Duration, Value), String> {
        let t = Instant::now();
        let v = self.json(call).await?;
        Ok((t.elapsed(), v))
    }
}
