//! A resource server that verifies sessiond's access tokens offline and
//! refuses a revoked session within a second (sessiond-client's deny-list).
//!
//!   SESSIOND_URL=http://127.0.0.1:8080 SESSIOND_TENANT=acme \
//!   SESSIOND_CLIENT_ID=… SESSIOND_CLIENT_SECRET=… \
//!   cargo run --example axum_middleware
//!   curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:3000/hello

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;
use sessiond_client::{Claims, Verifier, VerifierConfig, VerifyError};

/// Admit requests with a valid, unrevoked token; answer 401 the way sessiond
/// does, so clients know whether to refresh or to sign in again.
async fn require_session(State(v): State<Verifier>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    match v.verify(&token).await {
        Ok(claims) => {
            req.extensions_mut().insert(claims);
            next.run(req).await
        }
        Err(e) => refuse(e),
    }
}

fn refuse(e: VerifyError) -> Response {
    let (status, code, retryable) = match &e {
        VerifyError::Expired => (StatusCode::UNAUTHORIZED, "token_expired", true),
        VerifyError::Revoked { .. } => (StatusCode::UNAUTHORIZED, "session_revoked", false),
        VerifyError::Invalid => (StatusCode::UNAUTHORIZED, "token_invalid", false),
        VerifyError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", true),
    };
    let mut body = json!({"error": code, "message": e.to_string(), "retryable": retryable});
    if let VerifyError::Revoked { reason } = &e {
        body["revoked_reason"] = json!(reason);
    }
    let www = format!(r#"Bearer realm="api", error="invalid_token", error_description="{code}""#);
    (status, [(header::WWW_AUTHENTICATE, www)], Json(body)).into_response()
}

async fn hello(Extension(c): Extension<Claims>) -> Json<serde_json::Value> {
    Json(json!({"hello": c.sub, "session": c.sid}))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name}");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = VerifierConfig::new(
        &env("SESSIOND_URL"),
        &env("SESSIOND_TENANT"),
        &env("SESSIOND_CLIENT_ID"),
        &env("SESSIOND_CLIENT_SECRET"),
    );
    let verifier = Verifier::start(cfg).await?;
    let app = Router::new()
        .route("/hello", get(hello))
        .layer(middleware::from_fn_with_state(verifier, require_session));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000/hello");
    axum::serve(listener, app).await?;
    Ok(())
}
