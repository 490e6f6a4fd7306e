//! The embedded admin UI: `ui/` compiled into the binary (rust-embed), served
//! for every path no API route matched, with security headers and ETags.
//!
//! Rules: `/v1/…` and `/.well-known/…` → JSON 404 (API clients never get
//! HTML); an embedded file → its bytes; an unknown path with a dot in its last
//! segment → JSON 404; `/NAME` with an embedded `NAME.html` → that page (the
//! API reference at `/api-docs`); anything else → `index.html` (client-side routes).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::service::Error;

#[derive(rust_embed::Embed)]
#[folder = "ui/"]
struct Assets;

const INDEX: &str = "index.html";

/// Content-Security-Policy of every UI answer: no inline script or style.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Does `If-None-Match` name this entity tag (or `*`)?
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

fn file_response(path: &str, method: &Method, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let html = path.ends_with(".html");
    let mut res = if matches_etag(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        let mut r = Response::new(Body::empty());
        if let Ok(v) = HeaderValue::from_str(&file.data.len().to_string()) {
            r.headers_mut().insert(header::CONTENT_LENGTH, v);
        }
        r
    } else {
        Response::new(Body::from(file.data.into_owned()))
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Always revalidate (a cheap 304): module files import each other by
    // plain name, so a stale one after an upgrade must never be used.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if html { "no-cache" } else { "public, no-cache" }),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    Some(res)
}

/// Fallback for every path no API route matched.
pub async fn serve(method: Method, headers: HeaderMap, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/.well-known/") {
        return Error::NotFound.into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return Error::NotFound.into_response();
    }
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel == INDEX {
        return file_response(INDEX, &method, &headers)
            .unwrap_or_else(|| Error::NotFound.into_response());
    }
    // Never serve dotfiles or walk upwards, even if the folder held any.
    let hidden = rel
        .split('/')
        .any(|seg| seg.starts_with('.') || seg.is_empty());
    if !hidden && let Some(res) = file_response(rel, &method, &headers) {
        return res;
    }
    let last = rel.rsplit('/').next().unwrap_or(rel);
    if last.contains('.') {
        return Error::NotFound.into_response();
    }
    // A page of its own (`/api-docs` → `api-docs.html`), outside the SPA.
    if !hidden && let Some(res) = file_response(&format!("{rel}.html"), &method, &headers) {
        return res;
    }
    file_response(INDEX, &method, &headers).unwrap_or_else(|| Error::NotFound.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str, h: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let app = Router::new().fallback(serve);
        let mut req = axum::http::Request::builder().uri(path);
        for (k, v) in h {
            req = req.header(*k, *v);
        }
        let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, headers, body)
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[tokio::test]
    async fn api_docs_is_a_page_of_its_own() {
        let (status, h, body) = get("/api-docs", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(
            text(&body).contains("/views/api-docs.js"),
            "{}",
            text(&body)
        );
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY));
        // Client routes of the SPA still get index.html.
        let (_, _, body) = get("/sessions", &[]).await;
        assert!(!text(&body).contains("api-docs.js"));
    }

    #[tokio::test]
    async fn root_and_client_routes_serve_index_with_csp() {
        for path in ["/", "/index.html", "/sessions", "/users/abc", "/audit?x=1"] {
            let (status, h, body) = get(path, &[]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(text(&body).contains("<!doctype html>"), "{path}");
            assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
            let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'"));
            assert!(csp.contains("script-src 'self'"));
            assert!(!csp.contains("unsafe-inline"));
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(h[header::CACHE_CONTROL], "no-cache");
            assert!(h.contains_key(header::ETAG));
        }
    }

    #[tokio::test]
    async fn assets_have_types_and_etags_and_revalidate() {
        let (status, h, body) = get("/app.js", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(!body.is_empty());
        let etag = h[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let (status, h2, body) = get("/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(h2[header::ETAG].to_str().unwrap(), etag);
        let (status, _, _) = get("/app.js", &[("if-none-match", "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK);
        let (_, h, _) = get("/style.css", &[]).await;
        assert_eq!(h[header::CONTENT_TYPE], "text/css; charset=utf-8");
        let (_, h, _) = get("/favicon.svg", &[]).await;
        assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
    }

    #[tokio::test]
    async fn unknown_dotted_paths_and_api_paths_are_json_404() {
        for path in [
            "/missing.js",
            "/users/x.png",
            "/v1/nope",
            "/v1/tenants/acme/nothing",
            "/.well-known/other",
            "/.env",
            "/../Cargo.toml",
        ] {
            let (status, h, body) = get(path, &[]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(
                h[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{path}"
            );
            assert!(text(&body).contains("\"not_found\""), "{path}");
        }
    }

    #[tokio::test]
    async fn non_get_methods_are_not_served_the_ui() {
        let app = Router::new().fallback(serve);
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/sessions")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn etag_matching_handles_lists_weak_tags_and_star() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(matches_etag(&h, "\"b\""));
        assert!(!matches_etag(&h, "\"c\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&h, "\"c\""));
    }
}
