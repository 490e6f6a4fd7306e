//! A minimal keep-alive HTTP/1.1 client on hyper, for the load generator and
//! the admin calls of `sessiond bench`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One connection; requests on it are sequential.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    send: SendRequest<Full<Bytes>>,
}

/// A request built once, sent many times: the load loop only clones
/// reference-counted parts, so the generator spends its CPU on the wire.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    uri: Option<Uri>,
    auth: Option<HeaderValue>,
    body: Option<Bytes>,
}

impl Call {
    pub fn get(path: impl Into<String>, token: Option<&str>) -> Self {
        Self::new(Method::GET, path.into(), token, None)
    }

    pub fn post(path: impl Into<String>, token: Option<&str>, body: &Value) -> Self {
        Self::new(
            Method::POST,
            path.into(),
            token,
            Some(Bytes::from(body.to_string())),
        )
    }

    pub fn delete(path: impl Into<String>, token: Option<&str>) -> Self {
        Self::new(Method::DELETE, path.into(), token, None)
    }

    fn new(method: Method, path: String, token: Option<&str>, body: Option<Bytes>) -> Self {
        Self {
            method,
            uri: path.parse().ok(),
            path,
            auth: token.and_then(|t| HeaderValue::try_from(format!("Bearer {t}")).ok()),
            body,
        }
    }

    fn request(&self, host: &HeaderValue) -> Result<Request<Full<Bytes>>, String> {
        let uri = self
            .uri
            .clone()
            .ok_or_else(|| format!("bad path {}", self.path))?;
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .header(HOST, host.clone());
        if let Some(a) = &self.auth {
            b = b.header(AUTHORIZATION, a.clone());
        }
        if self.body.is_some() {
            b = b.header(CONTENT_TYPE, "application/json");
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
        let host = HeaderValue::try_from(addr.to_string()).map_err(|e| e.to_string())?;
        Ok(Self { addr, host, send })
    }

    /// Send and read the whole answer. A connection the server closed while
    /// idle (keep-alive ends with the header timeout) is opened again.
    pub async fn send(&mut self, call: &Call) -> Result<(StatusCode, Bytes), String> {
        if self.send.ready().await.is_err() {
            *self = Self::open(self.addr).await?;
        }
        let res = self
            .send
            .send_request(call.request(&self.host)?)
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
