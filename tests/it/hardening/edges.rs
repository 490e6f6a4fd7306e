//! Connection edges: stalled clients, early SIGTERM, unparsable requests,
//! wrong methods — all answered in SPEC JSON, none keeps the process alive.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::process::{ROOT_EMAIL, ROOT_PASSWORD, Server, send};

fn server(dir: &std::path::Path, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("SESSIOND_BOOTSTRAP_ADMIN_EMAIL", ROOT_EMAIL),
        ("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD", ROOT_PASSWORD),
    ];
    env.extend_from_slice(extra);
    Server::start_with(dir, &env)
}

/// Send `bytes`, then read until the server closes (at most `limit`).
fn raw(s: &Server, bytes: &[u8], limit: Duration) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(limit)).unwrap();
    c.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
}

#[test]
fn a_stalled_client_does_not_hold_shutdown_past_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[("SESSIOND_SHUTDOWN_TIMEOUT", "1s")]);
    // Half a body: the request is in flight and will never complete.
    let mut body_stall = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    body_stall
        .write_all(b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ten")
        .unwrap();
    // Half a head.
    let mut head_stall = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    head_stall
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (status, log) = s.terminate(Duration::from_secs(8));
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(log.contains("shutdown timeout reached"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn sigterm_right_after_listening_exits_gracefully() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let s = server(dir.path(), &[]);
        let (status, log) = s.terminate(Duration::from_secs(10));
        assert_eq!(
            status.code(),
            Some(0),
            "killed by a signal? {status:?}\n{log}"
        );
    }
}

#[test]
fn a_client_that_never_finishes_its_head_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[("SESSIOND_HEADER_TIMEOUT", "1s")]);
    let started = Instant::now();
    let answer = raw(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(6),
    );
    assert!(answer.is_empty(), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held {:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_that_never_arrives_times_out_with_spec_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[("SESSIOND_REQUEST_TIMEOUT", "1s")]);
    let answer = raw(
        &s,
        b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{",
        Duration::from_secs(6),
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let v = json_body(&answer);
    assert_eq!(v["error"], "request_timeout");
    assert_eq!(v["retryable"], true);
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
}

#[test]
fn unparsable_requests_get_spec_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    let huge_header = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".as_slice(),
        &vec![b'a'; 100_000],
        b"\r\n\r\n",
    ]
    .concat();
    let huge_query = [
        b"GET /v1/auth/me?q=".as_slice(),
        &vec![b'a'; 100_000],
        b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    .concat();
    for (req, status, code) in [
        (huge_header, "431", "headers_too_large"),
        (huge_query, "431", "headers_too_large"),
        (b"GARBAGE\r\n\r\n".to_vec(), "400", "bad_request"),
    ] {
        let answer = raw(&s, &req, Duration::from_secs(5));
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let v = json_body(&answer);
        assert_eq!(v["error"], code);
        assert_eq!(v["retryable"], false);
        assert!(v["message"].is_string());
    }
    // The server still serves afterwards.
    s.get("/healthz", None).assert_ok(200);
}

#[test]
fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), &[]);
    for (method, path, allow) in [
        ("DELETE", "/v1/auth/login", "POST"),
        ("POST", "/v1/auth/me", "GET"),
        ("PUT", "/v1/tenants/acme/sessions", "GET"),
    ] {
        let mut res = s
            .agent
            .run(
                ureq::http::Request::builder()
                    .method(method)
                    .uri(s.url(path))
                    .body(())
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{method} {path}");
        let got = res
            .headers()
            .get("allow")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(got.contains(allow), "{method} {path}: Allow {got}");
        assert_eq!(
            res.headers()
                .get("cache-control")
                .unwrap()
                .to_str()
                .unwrap(),
            "no-store"
        );
        let v: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["error"], "method_not_allowed");
        assert_eq!(v["retryable"], false);
    }
    // Unknown paths stay 404.
    send(&s.agent, "DELETE", &s.url("/v1/nothing-here"), None, None).assert_error(404, "not_found");
}
