//! SPEC §7: `GET /openapi.json` describes every route. The document is
//! generated from the handlers' `#[utoipa::path]` annotations, registered
//! with the routes themselves (`sessiond::http::api`). These tests check that
//! the router and the document agree both ways, that every operation
//! documents its errors with the SPEC §3 schema, and that real answers match
//! the documented statuses, headers and schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sessiond::domain::Role;
use sessiond::http::metrics::RouteTemplate;
use tower::ServiceExt;

use crate::support::{PASSWORD, ROOT_EMAIL, Resp, TestApp};

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];
/// Error answers whose body is deliberately not the SPEC §3 error shape.
const NON_ERROR_BODIES: [(&str, &str, &str); 1] = [("/readyz", "get", "503")];
/// Operations anyone may call (no credentials).
const PUBLIC: [(&str, &str); 14] = [
    ("/v1/auth/login", "post"),
    ("/v1/platform/auth/login", "post"),
    ("/v1/auth/refresh", "post"),
    ("/v1/oauth/revoke", "post"),
    ("/.well-known/jwks.json", "get"),
    ("/.well-known/ssf-configuration/tenants/{t}", "get"),
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/metrics", "get"),
    ("/openapi.json", "get"),
    ("/v1/browser/login", "post"),
    ("/v1/browser/platform-login", "post"),
    ("/v1/browser/adopt", "post"),
    ("/v1/browser/logout", "post"),
];

fn doc() -> Value {
    serde_json::to_value(sessiond::http::openapi::document()).expect("document serializes")
}

fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, _) in item.as_object().expect("path item") {
            if METHODS.contains(&m.as_str()) {
                out.insert((path.clone(), m.clone()));
            }
        }
    }
    out
}

/// Resolve a local `$ref` (`#/a/b~1c`).
fn pointer<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    doc.pointer(r.strip_prefix('#')?)
}

/// Follow `$ref`s until a non-reference.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..16 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => v = pointer(doc, r).unwrap_or_else(|| panic!("unresolved $ref {r}")),
            None => return v,
        }
    }
    panic!("$ref cycle")
}

fn collect_refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push((at.to_owned(), x.as_str().unwrap_or("").to_owned()));
                } else {
                    collect_refs(x, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_refs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn openapi_json_is_served() {
    let app = TestApp::new().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    assert_eq!(r.body["openapi"], "3.1.0");
    assert_eq!(r.body["info"]["title"], "sessiond");
    assert_eq!(r.body["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body, doc(), "the served document is the generated one");
    // Not on the protected side of the API: no token needed, none sent.
    assert_eq!(
        r.body["paths"]["/openapi.json"]["get"]["security"],
        json!([{}])
    );
}

/// A concrete URI for a documented path template.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{t}" => "acme",
            s if s.starts_with('{') => "019ad0a4-5c1e-7b3a-9f10-2b7c4e8d9a01",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Which route template answered (`None`: the fallback did), status, `Allow`.
async fn probe(app: &TestApp, method: &str, uri: &str) -> (Option<String>, StatusCode, String) {
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let res = app.router.clone().oneshot(req).await.expect("infallible");
    let route = res.extensions().get::<RouteTemplate>().map(|r| r.0.clone());
    let allow = res
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    (route, res.status(), allow)
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    // The probe can tell the fallback from a route.
    let (route, status, _) = probe(&app, "get", "/v1/no-such-route").await;
    assert_eq!((route, status), (None, StatusCode::NOT_FOUND));
    let (route, _, _) = probe(&app, "get", "/healthz").await;
    assert_eq!(route.as_deref(), Some("/healthz"));

    let doc = doc();
    let mut by_path: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, method) in documented_operations(&doc) {
        by_path.entry(path).or_default().insert(method);
    }
    assert!(by_path.len() >= 40, "only {} paths", by_path.len());
    for (path, methods) in &by_path {
        let uri = concrete(path);
        for m in methods {
            let (route, status, _) = probe(&app, m, &uri).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            assert_eq!(
                route.as_deref(),
                Some(path.as_str()),
                "{m} {path} ({uri}) is documented but no route answered it ({status})"
            );
        }
        // Every other method on the path is refused: the router serves no
        // method the document leaves out, and says which ones it serves.
        let mut want: BTreeSet<String> = methods.clone();
        if want.contains("get") {
            want.insert("head".into());
        }
        for m in ["get", "post", "put", "patch", "delete"] {
            if methods.contains(m) {
                continue;
            }
            let (_, status, allow) = probe(&app, m, &uri).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{m} {path}: undocumented method answered"
            );
            let allowed: BTreeSet<String> = allow.split(',').map(|s| s.trim().to_owned()).collect();
            assert_eq!(allowed, want, "{path}: Allow header vs documented methods");
        }
    }
}

/// The source without `//` comments (good enough for Rust files here).
fn strip_comments(src: &str) -> String {
    src.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Routes reach the router only through `OpenApiRouter::routes(routes!(…))`,
/// which documents them. axum's ways to add an undocumented route are refused
/// anywhere in `src/` (but `src/bench/`, whose bare reference servers are not
/// the app), and only documented routers are merged.
#[test]
fn no_route_is_added_around_the_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "found {} files", files.len());
    let mut offences = Vec::new();
    let mut registrations = 0;
    for f in &files {
        if f.starts_with(root.join("bench")) {
            continue;
        }
        let mut code = strip_comments(&std::fs::read_to_string(f).expect("read"));
        if f.ends_with("http/metrics.rs") {
            // The `--metrics-listen` port serves `/metrics` alone, apart from the API.
            code = code.replacen(".route(\"/metrics\", axum::routing::get(render))", "", 1);
        }
        for bad in [
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            ".route_layer(",
        ] {
            if code.contains(bad) {
                offences.push(format!("{}: {bad}", f.display()));
            }
        }
        for (i, _) in code.match_indices(".merge(") {
            let arg = code[i + ".merge(".len()..].trim_start();
            if !arg.starts_with("browser::routes()") {
                offences.push(format!(
                    "{}: .merge({}",
                    f.display(),
                    &arg[..arg.len().min(30)]
                ));
            }
        }
        registrations += code.matches(".routes(routes!(").count();
    }
    assert!(
        offences.is_empty(),
        "routes added outside routes!(…) would be missing from /openapi.json: {offences:?}"
    );
    // Sanity: the scan sees the registrations (one per path).
    let paths = doc()["paths"].as_object().map_or(0, |p| p.len());
    assert_eq!(
        registrations, paths,
        "routes!(…) registrations vs documented paths"
    );
}

#[test]
fn every_operation_documents_its_errors() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(schemes["clientBasic"]["scheme"], "basic");
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let mut ids = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let path_params: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for (method, op) in item.as_object().expect("path item") {
            let at = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no operationId"));
            if let Some(prev) = ids.insert(id.to_owned(), at.clone()) {
                panic!("operationId {id} used by {prev} and {at}");
            }
            assert!(op["summary"].is_string(), "{at}: no summary");
            let op_tags = op["tags"].as_array().expect("tags");
            assert!(!op_tags.is_empty(), "{at}: no tags");
            for t in op_tags {
                let t = t.as_str().unwrap_or("");
                assert!(tags.contains(t), "{at}: undeclared tag {t}");
            }
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no security"));
            for req in security {
                for name in req.as_object().expect("requirement").keys() {
                    assert!(schemes.contains_key(name), "{at}: unknown scheme {name}");
                }
            }
            let public = PUBLIC.contains(&(path.as_str(), method.as_str()));
            let anonymous = security.iter().any(|r| r == &json!({}));
            assert_eq!(public, anonymous, "{at}: callable without credentials?");
            // Path parameters: declared exactly.
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| deref(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap_or("").to_owned())
                .collect();
            assert_eq!(declared, path_params, "{at}: path parameters");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{at}: no success response"
            );
            for code in ["405", "503"] {
                assert!(responses.contains_key(code), "{at}: no {code}");
            }
            let bearer = security.iter().any(|r| r.get("bearerAuth").is_some());
            let basic = security.iter().any(|r| r.get("clientBasic").is_some());
            if (bearer && !public) || basic {
                assert!(
                    responses.contains_key("401"),
                    "{at}: credentials without 401"
                );
                assert!(responses.contains_key("500"), "{at}: no 500");
            }
            if op["requestBody"].is_object() {
                for code in ["400", "413"] {
                    assert!(responses.contains_key(code), "{at}: a body without {code}");
                }
            }
            // Service clients are refused as 401, never told of other tenants.
            let discovery = path.starts_with("/.well-known/");
            if path.contains("{t}") && !path.starts_with("/v1/platform/") && !basic && !discovery {
                for code in ["403", "404"] {
                    assert!(
                        responses.contains_key(code),
                        "{at}: tenant route without {code}"
                    );
                }
            }
            for (code, resp) in responses {
                let resp = deref(&doc, resp);
                assert!(
                    resp["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{at} {code}: no description"
                );
                let exempt = NON_ERROR_BODIES.contains(&(path.as_str(), method.as_str(), code));
                if (code.starts_with('4') || code.starts_with('5')) && !exempt {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"], error,
                        "{at} {code}: must answer the Error schema"
                    );
                }
                let header = |name: &str| resp["headers"][name]["schema"].is_object();
                match code.as_str() {
                    "401" => assert!(
                        header("WWW-Authenticate"),
                        "{at}: 401 without WWW-Authenticate"
                    ),
                    "429" | "503" => {
                        assert!(header("Retry-After"), "{at}: {code} without Retry-After")
                    }
                    "405" => assert!(header("Allow"), "{at}: 405 without Allow"),
                    _ => {}
                }
            }
        }
    }
    assert!(ids.len() >= 47, "{} operations", ids.len());
}

#[test]
fn openapi_refs_resolve_and_security_is_as_specified() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, "#", &mut refs);
    assert!(refs.len() > 100);
    for (at, r) in &refs {
        assert!(
            pointer(&doc, r).is_some(),
            "{at}: $ref {r} does not resolve"
        );
    }
    let e = &doc["components"]["schemas"]["Error"];
    assert_eq!(e["required"], json!(["error", "message", "retryable"]));
    let codes = e["properties"]["error"]["$ref"]
        .as_str()
        .and_then(|r| pointer(&doc, r))
        .expect("ErrorCode");
    assert_eq!(codes["enum"].as_array().map(Vec::len), Some(25));
    let reasons = e["properties"]["revoked_reason"]["$ref"]
        .as_str()
        .and_then(|r| pointer(&doc, r))
        .expect("RevokeReason");
    assert_eq!(reasons["enum"].as_array().map(Vec::len), Some(11));
    assert!(e["properties"]["details"]["additionalProperties"].is_object());
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(
        security("/v1/oauth/introspect", "post"),
        json!([{ "clientBasic": [] }])
    );
    assert_eq!(
        security("/v1/tenants/{t}/sessions", "get"),
        json!([{ "bearerAuth": [] }])
    );
    assert_eq!(doc["security"], json!([{ "bearerAuth": [] }]));
    assert!(
        doc["paths"]["/v1/oauth/introspect"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]
            .is_object()
    );
}

// ---------- real answers against the document ----------

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// `2026-11-30T02:21:12.345Z`
fn is_rfc3339_millis(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            23 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        _ => false,
    }
}

/// A small JSON Schema check: the keywords this document uses.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        match pointer(doc, r) {
            Some(s) => check(doc, s, v, at, errs),
            None => errs.push(format!("{at}: unresolved {r}")),
        }
        return;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, v, at, errs);
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one
            .iter()
            .filter(|s| {
                let mut e = Vec::new();
                check(doc, s, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errs.push(format!("{at}: {matching} oneOf branches match {v}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errs.push(format!("{at}: {v} is not {c}"));
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} not in {e:?}"));
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            errs.push(format!("{at}: {v} is not {t}"));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)) => {
            errs.push(format!("{at}: {v} is none of {ts:?}"));
            return;
        }
        _ => {}
    }
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let k = req.as_str().unwrap_or("");
                if !m.contains_key(k) {
                    errs.push(format!("{at}: missing {k}"));
                }
            }
            for (k, x) in m {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(doc, s, x, &format!("{at}.{k}"), errs),
                    // An object schema listing its properties is closed unless it
                    // says otherwise: every property answered must be documented.
                    None => match schema.get("additionalProperties") {
                        Some(s @ Value::Object(_)) => check(doc, s, x, &format!("{at}.{k}"), errs),
                        Some(Value::Bool(true)) => {}
                        _ if props.is_some() => {
                            errs.push(format!("{at}: undocumented property {k}"));
                        }
                        _ => {}
                    },
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                for (i, x) in a.iter().enumerate() {
                    check(doc, items, x, &format!("{at}[{i}]"), errs);
                }
            }
        }
        Value::String(s) => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") if !is_uuid(s) => errs.push(format!("{at}: {s:?} is not a UUID")),
            Some("date-time") if !is_rfc3339_millis(s) => {
                errs.push(format!("{at}: {s:?} is not RFC 3339 UTC with milliseconds"));
            }
            _ => {}
        },
        Value::Number(n) => {
            let x = n.as_i64();
            let min = schema.get("minimum").and_then(Value::as_i64);
            let max = schema.get("maximum").and_then(Value::as_i64);
            if let (Some(x), Some(min)) = (x, min)
                && x < min
            {
                errs.push(format!("{at}: {x} < {min}"));
            }
            if let (Some(x), Some(max)) = (x, max)
                && x > max
            {
                errs.push(format!("{at}: {x} > {max}"));
            }
        }
        _ => {}
    }
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The answer's status, headers and body are what the document says for
/// `method template`; returns the answer for further checks.
#[track_caller]
fn conforms(doc: &Value, method: &str, template: &str, r: Resp) -> Resp {
    let at = format!("{method} {template} → {}", r.status.as_u16());
    let op = &doc["paths"][template][method];
    assert!(op.is_object(), "{at}: not documented");
    let code = r.status.as_u16().to_string();
    let resp = op["responses"]
        .get(&code)
        .unwrap_or_else(|| panic!("{at}: status not documented; body {}", r.text));
    let resp = deref(doc, resp);
    for name in resp["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        assert!(r.header(name).is_some(), "{at}: header {name} missing");
    }
    match resp["content"].as_object() {
        None => assert!(r.text.is_empty(), "{at}: undocumented body {}", r.text),
        Some(content) => {
            let ct = essence(r.header("content-type").unwrap_or(""));
            let (_, media) = content
                .iter()
                .find(|(k, _)| essence(k) == ct)
                .unwrap_or_else(|| panic!("{at}: content-type {ct} not documented"));
            let mut errs = Vec::new();
            if ct == "application/json" {
                check(doc, &media["schema"], &r.body, "$", &mut errs);
            } else if ct == "application/x-ndjson" {
                // The schema describes one line.
                for (i, line) in r.text.lines().enumerate() {
                    let v: Value = serde_json::from_str(line).expect("NDJSON line");
                    check(doc, &media["schema"], &v, &format!("line {i}"), &mut errs);
                }
                assert!(!r.text.is_empty(), "{at}: empty export");
            }
            assert!(errs.is_empty(), "{at}: {errs:#?}\nbody: {}", r.text);
        }
    }
    r
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    };
    app.call(req.expect("request")).await
}

#[tokio::test]
async fn answers_match_the_document() {
    let d = doc();
    let app = TestApp::new().await;
    let admin_email = app.tenant("acme").await;
    let c = |want: u16, m: &str, t: &str, r: Resp| {
        assert_eq!(r.status.as_u16(), want, "{m} {t}: {}", r.text);
        conforms(&d, m, t, r)
    };

    // Authentication.
    let login = json!({"tenant": "acme", "email": admin_email, "password": PASSWORD});
    let r = c(
        200,
        "post",
        "/v1/auth/login",
        app.post("/v1/auth/login", None, login).await,
    );
    let admin = r.body["access_token"].as_str().expect("token").to_owned();
    let admin_rt = r.body["refresh_token"].as_str().expect("rt").to_owned();
    let bad = json!({"tenant": "acme", "email": admin_email, "password": "wrong password"});
    c(
        401,
        "post",
        "/v1/auth/login",
        app.post("/v1/auth/login", None, bad).await,
    );
    c(
        400,
        "post",
        "/v1/auth/login",
        app.post("/v1/auth/login", None, json!({})).await,
    );
    c(
        200,
        "post",
        "/v1/auth/refresh",
        app.refresh(&admin_rt).await,
    );
    // A replay is refused and revokes the chain: the old access token dies too.
    c(
        401,
        "post",
        "/v1/auth/refresh",
        app.refresh(&admin_rt).await,
    );
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some(&admin)).await,
    );
    c(401, "post", "/v1/auth/refresh", app.refresh("junk").await);
    let admin = app.login("acme", &admin_email).await.access;
    let tok = Some(admin.as_str());
    c(200, "get", "/v1/auth/me", app.get("/v1/auth/me", tok).await);
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", None).await,
    );
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some("nope")).await,
    );
    c(
        200,
        "get",
        "/v1/auth/verify",
        app.get("/v1/auth/verify", tok).await,
    );

    // Users.
    let t = "/v1/tenants/{t}/users";
    c(200, "get", t, app.get("/v1/tenants/acme/users", tok).await);
    c(
        400,
        "get",
        t,
        app.get("/v1/tenants/acme/users?limit=0", tok).await,
    );
    let new = json!({"email": "ann@acme.test", "display_name": "Ann", "password": PASSWORD});
    let r = c(
        201,
        "post",
        t,
        app.post("/v1/tenants/acme/users", tok, new.clone()).await,
    );
    let uid = r.body["id"].as_str().expect("id").to_owned();
    c(
        409,
        "post",
        t,
        app.post("/v1/tenants/acme/users", tok, new).await,
    );
    let u = format!("/v1/tenants/acme/users/{uid}");
    let t = "/v1/tenants/{t}/users/{uid}";
    c(200, "get", t, app.get(&u, tok).await);
    c(
        400,
        "get",
        t,
        app.get("/v1/tenants/acme/users/not-a-uuid", tok).await,
    );
    c(
        200,
        "patch",
        t,
        app.patch(&u, tok, json!({"display_name": "Ann B"})).await,
    );
    let ann = app.login("acme", "ann@acme.test").await;
    c(403, "get", t, app.get(&u, Some(&ann.access)).await);
    let pw = json!({"password": "another good password"});
    c(
        200,
        "post",
        "/v1/tenants/{t}/users/{uid}/password",
        app.post(&format!("{u}/password"), tok, pw).await,
    );
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some(&ann.access)).await,
    );
    app.user("acme", "bob@acme.test", Role::Member).await;
    let bob = app.login("acme", "bob@acme.test").await;

    // Sessions.
    let t = "/v1/tenants/{t}/sessions";
    let r = c(
        200,
        "get",
        t,
        app.get("/v1/tenants/acme/sessions?status=all", tok).await,
    );
    assert!(r.body["items"].as_array().is_some_and(|a| a.len() >= 2));
    c(
        400,
        "get",
        t,
        app.get("/v1/tenants/acme/sessions?sort=nope", tok).await,
    );
    let s = format!("/v1/tenants/acme/sessions/{}", bob.session_id);
    c(
        200,
        "get",
        "/v1/tenants/{t}/sessions/{sid}",
        app.get(&s, tok).await,
    );
    let ghost = "/v1/tenants/acme/sessions/019ad0a4-5c1e-7b3a-9f10-2b7c4e8d9a01";
    c(
        404,
        "get",
        "/v1/tenants/{t}/sessions/{sid}",
        app.get(ghost, tok).await,
    );
    let t = "/v1/tenants/{t}/sessions/revoke";
    let dry = json!({"filter": {"all": true}, "except_current": true, "dry_run": true});
    c(
        200,
        "post",
        t,
        app.post("/v1/tenants/acme/sessions/revoke", tok, dry).await,
    );
    let ids = json!({"session_ids": [bob.session_id], "reason": "test"});
    c(
        200,
        "post",
        t,
        app.post("/v1/tenants/acme/sessions/revoke", tok, ids).await,
    );
    c(
        400,
        "post",
        t,
        app.post("/v1/tenants/acme/sessions/revoke", tok, json!({}))
            .await,
    );
    let bob = app.login("acme", "bob@acme.test").await;
    let s = format!("/v1/tenants/acme/sessions/{}/revoke", bob.session_id);
    let t = "/v1/tenants/{t}/sessions/{sid}/revoke";
    c(
        200,
        "post",
        t,
        app.request(Method::POST, &s, tok, None).await,
    );
    c(
        200,
        "post",
        t,
        app.post(&s, tok, json!({"reason": "again"})).await,
    );
    // The body is documented as `ReasonBody | null`: null is no body.
    c(200, "post", t, app.post(&s, tok, json!(null)).await);
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some(&bob.access)).await,
    );
    c(
        200,
        "post",
        "/v1/tenants/{t}/users/{uid}/revoke-sessions",
        app.request(Method::POST, &format!("{u}/revoke-sessions"), tok, None)
            .await,
    );
    c(
        401,
        "post",
        "/v1/tenants/{t}/users/{uid}/revoke-sessions",
        app.request(
            Method::POST,
            &format!("{u}/revoke-sessions"),
            Some(&bob.access),
            None,
        )
        .await,
    );

    // Clients and introspection.
    let t = "/v1/tenants/{t}/clients";
    let r = c(
        201,
        "post",
        t,
        app.post("/v1/tenants/acme/clients", tok, json!({"name": "api"}))
            .await,
    );
    let id = r.body["client_id"].as_str().expect("client_id").to_owned();
    let secret = r.body["client_secret"].as_str().expect("secret").to_owned();
    c(
        200,
        "get",
        t,
        app.get("/v1/tenants/acme/clients", tok).await,
    );
    let t = "/v1/oauth/introspect";
    let form = format!("token={admin}");
    c(
        200,
        "post",
        t,
        app.post_form(t, Some((&id, &secret)), &form).await,
    );
    c(
        200,
        "post",
        t,
        app.post_form(t, Some((&id, &secret)), "token=junk").await,
    );
    c(
        400,
        "post",
        t,
        app.post_form(t, Some((&id, &secret)), "").await,
    );
    c(
        401,
        "post",
        t,
        app.post_form(t, Some((&id, "wrong")), &form).await,
    );
    c(401, "post", t, app.post_form(t, None, &form).await);
    let carl = {
        app.user("acme", "carl@acme.test", Role::Member).await;
        app.login("acme", "carl@acme.test").await
    };
    let t = "/v1/oauth/revoke";
    c(
        200,
        "post",
        t,
        app.post_form(t, None, &format!("token={}", carl.refresh))
            .await,
    );
    c(400, "post", t, app.post_form(t, None, "").await);
    let carl = app.login("acme", "carl@acme.test").await;
    c(
        204,
        "post",
        "/v1/auth/logout",
        app.request(Method::POST, "/v1/auth/logout", Some(&carl.access), None)
            .await,
    );
    c(
        401,
        "post",
        "/v1/auth/logout",
        app.request(Method::POST, "/v1/auth/logout", Some(&carl.access), None)
            .await,
    );
    let t = "/v1/tenants/{t}/clients/{id}";
    let path = format!("/v1/tenants/acme/clients/{id}");
    c(204, "delete", t, app.delete(&path, tok).await);
    c(404, "delete", t, app.delete(&path, tok).await);

    // Policy.
    let t = "/v1/tenants/{t}/policy";
    let r = c(200, "get", t, app.get("/v1/tenants/acme/policy", tok).await);
    let mut p = r.body.clone();
    p["idle_timeout_secs"] = json!(3600);
    c(
        200,
        "put",
        t,
        app.put("/v1/tenants/acme/policy", tok, p.clone()).await,
    );
    p["idle_timeout_secs"] = json!(1);
    c(
        400,
        "put",
        t,
        app.put("/v1/tenants/acme/policy", tok, p).await,
    );
    let dave = {
        app.user("acme", "dave@acme.test", Role::Member).await;
        app.login("acme", "dave@acme.test").await
    };
    c(
        403,
        "get",
        t,
        app.get("/v1/tenants/acme/policy", Some(&dave.access)).await,
    );

    // Platform and support access.
    let r = c(
        200,
        "post",
        "/v1/platform/auth/login",
        app.post(
            "/v1/platform/auth/login",
            None,
            json!({"email": ROOT_EMAIL, "password": PASSWORD}),
        )
        .await,
    );
    let root = r.body["access_token"].as_str().expect("token").to_owned();
    let rt = Some(root.as_str());
    c(200, "get", "/v1/auth/me", app.get("/v1/auth/me", rt).await);
    let t = "/v1/platform/tenants";
    let nt = json!({"slug": "globex", "name": "Globex", "first_admin":
        {"email": "boss@globex.test", "display_name": "Boss", "password": PASSWORD}});
    c(201, "post", t, app.post(t, rt, nt.clone()).await);
    c(409, "post", t, app.post(t, rt, nt).await);
    c(403, "post", t, app.post(t, tok, json!({})).await);
    // Two tenants, one per page: the documented `Link` header is present.
    c(
        200,
        "get",
        t,
        app.get("/v1/platform/tenants?limit=1", rt).await,
    );
    c(403, "get", t, app.get(t, tok).await);
    c(
        403,
        "get",
        "/v1/tenants/{t}/sessions",
        app.get("/v1/tenants/acme/sessions", rt).await,
    );
    let t = "/v1/platform/tenants/{t}/access-requests";
    let ask = json!({"reason": "ticket 42", "duration_secs": 3600});
    let r = c(
        201,
        "post",
        t,
        app.post("/v1/platform/tenants/acme/access-requests", rt, ask.clone())
            .await,
    );
    let gid = r.body["id"].as_str().expect("grant id").to_owned();
    c(
        404,
        "post",
        t,
        app.post("/v1/platform/tenants/nope/access-requests", rt, ask)
            .await,
    );
    let ss = "/v1/platform/tenants/{t}/support-sessions";
    c(
        403,
        "post",
        ss,
        app.request(
            Method::POST,
            "/v1/platform/tenants/acme/support-sessions",
            rt,
            None,
        )
        .await,
    );
    let t = "/v1/tenants/{t}/support-grants";
    c(
        200,
        "get",
        t,
        app.get("/v1/tenants/acme/support-grants", tok).await,
    );
    let approve = format!("/v1/tenants/acme/support-grants/{gid}/approve");
    let t = "/v1/tenants/{t}/support-grants/{gid}/approve";
    c(
        200,
        "post",
        t,
        app.request(Method::POST, &approve, tok, None).await,
    );
    c(
        409,
        "post",
        t,
        app.request(Method::POST, &approve, tok, None).await,
    );
    let r = c(
        201,
        "post",
        ss,
        app.request(
            Method::POST,
            "/v1/platform/tenants/acme/support-sessions",
            rt,
            None,
        )
        .await,
    );
    let support = r.body["access_token"].as_str().expect("token").to_owned();
    let r = c(
        200,
        "get",
        "/v1/tenants/{t}/sessions",
        app.get("/v1/tenants/acme/sessions", Some(&support)).await,
    );
    assert!(
        r.body["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["support"].is_object())),
        "{}",
        r.text
    );
    c(
        200,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some(&support)).await,
    );
    c(
        403,
        "get",
        "/v1/tenants/{t}/support-grants",
        app.get("/v1/tenants/acme/support-grants", Some(&support))
            .await,
    );
    c(
        200,
        "get",
        "/v1/platform/grants",
        app.get("/v1/platform/grants", rt).await,
    );
    let direct = json!({"grantee_email": ROOT_EMAIL, "duration_secs": 600, "reason": "on call"});
    let r = c(
        201,
        "post",
        "/v1/tenants/{t}/support-grants",
        app.post("/v1/tenants/acme/support-grants", tok, direct)
            .await,
    );
    let gid2 = r.body["id"].as_str().expect("grant id").to_owned();
    let deny = format!("/v1/tenants/acme/support-grants/{gid2}/deny");
    c(
        409,
        "post",
        "/v1/tenants/{t}/support-grants/{gid}/deny",
        app.request(Method::POST, &deny, tok, None).await,
    );
    let revoke = format!("/v1/tenants/acme/support-grants/{gid}/revoke");
    c(
        200,
        "post",
        "/v1/tenants/{t}/support-grants/{gid}/revoke",
        app.request(Method::POST, &revoke, tok, None).await,
    );
    c(
        401,
        "get",
        "/v1/auth/me",
        app.get("/v1/auth/me", Some(&support)).await,
    );

    // Audit.
    let t = "/v1/tenants/{t}/audit";
    c(
        200,
        "get",
        t,
        app.get("/v1/tenants/acme/audit?limit=5", tok).await,
    );
    c(
        400,
        "get",
        t,
        app.get("/v1/tenants/acme/audit?since=yesterday", tok).await,
    );
    c(
        200,
        "get",
        "/v1/tenants/{t}/audit/verify",
        app.get("/v1/tenants/acme/audit/verify", tok).await,
    );
    c(
        200,
        "get",
        "/v1/tenants/{t}/audit/export",
        app.get("/v1/tenants/acme/audit/export", tok).await,
    );
    c(
        200,
        "get",
        "/v1/platform/audit",
        app.get("/v1/platform/audit", rt).await,
    );
    c(
        403,
        "get",
        "/v1/platform/audit",
        app.get("/v1/platform/audit", tok).await,
    );

    // Operations.
    for p in [
        "/.well-known/jwks.json",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        c(200, "get", p, app.get(p, None).await);
    }

    // The admin UI's cookie endpoints.
    let csrf = [("x-sessiond-csrf", "1")];
    let t = "/v1/browser/login";
    let body = json!({"tenant": "acme", "email": admin_email, "password": PASSWORD});
    let r = c(
        200,
        "post",
        t,
        send(&app, Method::POST, t, &csrf, Some(body.clone())).await,
    );
    let cookie = r
        .header("set-cookie")
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    c(
        403,
        "post",
        t,
        send(&app, Method::POST, t, &[], Some(body)).await,
    );
    let t = "/v1/browser/platform-login";
    let body = json!({"email": ROOT_EMAIL, "password": PASSWORD});
    c(
        200,
        "post",
        t,
        send(&app, Method::POST, t, &csrf, Some(body)).await,
    );
    let t = "/v1/browser/refresh";
    let with_cookie = [("x-sessiond-csrf", "1"), ("cookie", cookie.as_str())];
    let r = c(
        200,
        "post",
        t,
        send(&app, Method::POST, t, &with_cookie, None).await,
    );
    let cookie = r
        .header("set-cookie")
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    c(
        401,
        "post",
        t,
        send(&app, Method::POST, t, &csrf, None).await,
    );
    let t = "/v1/browser/adopt";
    let fresh = app.login("acme", "bob@acme.test").await;
    let body = json!({"refresh_token": fresh.refresh});
    c(
        200,
        "post",
        t,
        send(&app, Method::POST, t, &csrf, Some(body.clone())).await,
    );
    c(
        401,
        "post",
        t,
        send(&app, Method::POST, t, &csrf, Some(body)).await,
    );
    let t = "/v1/browser/logout";
    let with_cookie = [("x-sessiond-csrf", "1"), ("cookie", cookie.as_str())];
    c(
        204,
        "post",
        t,
        send(&app, Method::POST, t, &with_cookie, None).await,
    );
    c(403, "post", t, send(&app, Method::POST, t, &[], None).await);
}
