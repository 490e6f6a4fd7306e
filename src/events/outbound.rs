//! Outbound HTTP for deliveries, safe against SSRF: http(s) only, the host
//! resolved at send time and every address checked (private, loopback,
//! link-local and other non-public ranges refused unless the operator
//! allowed the host), the connection made to the checked address, no
//! redirects followed, a deadline on the whole exchange.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;

/// A receiver URL that may be stored: http(s), a host, no credentials.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let uri: Uri = url.parse().map_err(|_| "must be an absolute http(s) URL")?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must be an http:// or https:// URL"),
    }
    let auth = uri.authority().ok_or("must name a host")?;
    if auth.as_str().contains('@') {
        return Err("must not carry credentials (the signature authenticates us)");
    }
    if auth.host().is_empty() || url.len() > 2048 {
        return Err("must name a host and be at most 2048 characters");
    }
    Ok(())
}

/// Whether an address is on the public internet (as far as we can tell).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => public_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(a),
        },
    }
}

fn public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, ..] = a.octets();
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_documentation()
        || a.is_unspecified()
        || a.is_multicast()
        || o0 == 0
        || (o0 == 100 && (64..128).contains(&o1)) // shared address space
        || (o0 == 198 && (18..20).contains(&o1)) // benchmarking
        || (o0 == 192 && o1 == 0 && a.octets()[2] == 0) // IETF protocol assignments
        || o0 >= 240)
}

fn public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    !(a.is_loopback()
        || a.is_unspecified()
        || a.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (may reach private v4)
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible
}

/// Sends deliveries.
pub struct Outbound {
    /// Hosts (lower case) whose non-public addresses are allowed.
    allow: Vec<String>,
    /// Made on the first https delivery: loading the system's trust store
    /// costs start-up time and memory a server without https receivers
    /// should not pay.
    tls: std::sync::OnceLock<Result<tokio_native_tls::TlsConnector, String>>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

/// The receiver's status and the start of its answer (at most 4 KiB, for
/// error codes such as RFC 8935's `err`; never logged).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// The receiver's answer, or why there was none.
pub type Answer = Result<Reply, String>;

impl Outbound {
    pub fn new(allow: &[String]) -> Self {
        Self {
            allow: allow
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            tls: std::sync::OnceLock::new(),
        }
    }

    fn tls(&self) -> Result<&tokio_native_tls::TlsConnector, String> {
        self.tls
            .get_or_init(|| {
                native_tls::TlsConnector::new()
                    .map(Into::into)
                    .map_err(|e| format!("cannot set up TLS for deliveries: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn allowed(&self, host: &str) -> bool {
        self.allow.iter().any(|h| h == host)
    }

    /// POST `body` to `url` within `deadline`: the HTTP status, or an error
    /// in words (never the body of the answer: receivers may echo secrets).
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Bytes,
        deadline: Duration,
    ) -> Answer {
        match tokio::time::timeout(deadline, self.exchange(url, content_type, headers, body)).await
        {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", deadline.as_secs())),
        }
    }

    async fn exchange(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Answer {
        check_url(url).map_err(|e| format!("the URL {e}"))?;
        let uri: Uri = url.parse().map_err(|_| "unparsable URL".to_owned())?;
        let https = uri.scheme_str() == Some("https");
        let auth = uri.authority().ok_or("no host")?.clone();
        let host = auth.host().trim_matches(['[', ']']).to_ascii_lowercase();
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addr = self.resolve(&host, port).await?;
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(hyper::header::HOST, auth.as_str())
            .header(hyper::header::CONTENT_TYPE, content_type)
            .header(hyper::header::USER_AGENT, "sessiond-webhooks/1");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        if https {
            let tls = self
                .tls()?
                .connect(&host, tcp)
                .await
                .map_err(|e| format!("TLS with {host} failed: {e}"))?;
            send(TokioIo::new(tls), req).await
        } else {
            send(TokioIo::new(tcp), req).await
        }
    }

    /// The first address of `host`, each one checked.
    async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, String> {
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        if !self.allowed(host)
            && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            return Err(format!(
                "refused: {host} resolves to the non-public address {} (allow it with --webhook-allow-hosts)",
                bad.ip()
            ));
        }
        addrs
            .into_iter()
            .next()
            .ok_or_else(|| format!("{host} has no address"))
    }
}

async fn send<IO>(io: TokioIo<IO>, req: Request<Full<Bytes>>) -> Answer
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("the request failed: {e}"));
    let out = match res {
        Ok(r) => {
            // A redirect is answered as it is (not followed): not a 2xx, so retried.
            let status = r.status().as_u16();
            let mut body = r.into_body();
            let mut kept = Vec::new();
            while kept.len() < 4096 {
                match body.frame().await {
                    Some(Ok(f)) => {
                        if let Some(d) = f.data_ref() {
                            kept.extend_from_slice(&d[..d.len().min(4096 - kept.len())]);
                        }
                    }
                    _ => break,
                }
            }
            Ok(Reply {
                status,
                body: Bytes::from(kept),
            })
        }
        Err(e) => Err(e),
    };
    driver.abort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_named() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        assert!(check_url("https://hooks.example.org/sessiond?x=1").is_ok());
        assert!(check_url("http://10.0.0.1:8080/").is_ok());
        for bad in [
            "ftp://example.org/",
            "file:///etc/passwd",
            "https://user:pw@example.org/",
            "/relative",
            "gopher://x",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_at_send_time_unless_allowed() {
        let out = Outbound::new(&[]);
        let err = out
            .post(
                "http://127.0.0.1:9/x",
                "application/json",
                &[],
                Bytes::new(),
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert!(err.contains("non-public"), "{err}");
        let err = out
            .post(
                "http://localhost:9/x",
                "application/json",
                &[],
                Bytes::new(),
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert!(err.contains("refused"), "{err}");
        let allowed = Outbound::new(&["127.0.0.1".into()]);
        let err = allowed
            .post(
                "http://127.0.0.1:9/x",
                "application/json",
                &[],
                Bytes::new(),
                Duration::from_secs(2),
            )
            .await
            .unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
    }
}
