//! A small HTTP/1.1 client on hyper (one connection per request), over TLS
//! for `https://` (the system's trust store).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::Error;

/// Bodies read whole are capped (JWKS, API answers).
const MAX_BODY: usize = 4 << 20;

#[derive(Clone)]
pub(crate) struct Http {
    https: bool,
    host: String,
    port: u16,
    authority: String,
    tls: tokio_native_tls::TlsConnector,
}

impl Http {
    pub(crate) fn new(base: &str) -> Result<Self, Error> {
        let uri: Uri = base
            .trim_end_matches('/')
            .parse()
            .map_err(|_| Error::Config(format!("{base:?} is not a URL")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Error::Config(format!("{base:?}: http:// or https:// only"))),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| Error::Config(format!("{base:?} has no host")))?;
        let tls = native_tls::TlsConnector::new().map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            https,
            host: auth.host().trim_matches(['[', ']']).to_owned(),
            port: auth.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: auth.as_str().to_owned(),
            tls: tls.into(),
        })
    }

    /// Send one request; the answer's body is left to the caller (streams).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Bytes)>,
    ) -> Result<Response<Incoming>, Error> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| Error::Http(format!("cannot connect to {}: {e}", self.authority)))?;
        let _ = tcp.set_nodelay(true);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.authority);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let payload = match body {
            Some((ct, b)) => {
                req = req.header(hyper::header::CONTENT_TYPE, ct);
                b
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(payload))
            .map_err(|e| Error::Http(e.to_string()))?;
        if self.https {
            let tls = self
                .tls
                .connect(&self.host, tcp)
                .await
                .map_err(|e| Error::Http(format!("TLS with {}: {e}", self.host)))?;
            exchange(TokioIo::new(tls), req).await
        } else {
            exchange(TokioIo::new(tcp), req).await
        }
    }

    /// Send, then read a JSON answer: its status and body (`null` if not JSON).
    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<(&str, Bytes)>,
    ) -> Result<(u16, Value), Error> {
        let res = self.send(method, path, headers, body).await?;
        let status = res.status().as_u16();
        let limited = http_body_util::Limited::new(res.into_body(), MAX_BODY);
        let bytes = limited
            .collect()
            .await
            .map_err(|e| Error::Http(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

async fn exchange<IO>(
    io: TokioIo<IO>,
    req: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, Error>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| Error::Http(format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
        .send_request(req)
        .await
        .map_err(|e| Error::Http(format!("the request failed: {e}")))
}
