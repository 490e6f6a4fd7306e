//! Test harness: the real router over a temp database and a manual clock.
#![allow(dead_code)]

pub mod engine;
pub mod process;
pub mod receiver;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sessiond::auth::TenantScope;
use sessiond::clock::ManualClock;
use sessiond::config::Config;
use sessiond::domain::{Role, TenantId, Timestamp};
use sessiond::http::{AppState, app};
use sessiond::service::Service;
use sessiond::service::tenants::NewTenant;
use sessiond::service::users::{Acting, NewUser};
use sessiond::store::Store;
use tempfile::TempDir;
use tower::ServiceExt;

/// 2026-11-30T00:00:00Z
pub const T0: Timestamp = Timestamp::from_millis(1_796_083_200_000);
pub const PASSWORD: &str = "correct horse battery";
pub const ROOT_EMAIL: &str = "root@platform.test";

pub struct TestApp {
    pub router: Router,
    pub svc: Arc<Service>,
    pub clock: ManualClock,
    pub dir: TempDir,
    /// The app's PostgreSQL schemas when the suite runs on PostgreSQL.
    pub pg: Option<engine::PgSchemas>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// SPEC §3 `error` code, if this is an error body.
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
        assert!(
            self.body["message"].is_string(),
            "message missing: {}",
            self.text
        );
        assert!(
            self.body["retryable"].is_boolean(),
            "retryable missing: {}",
            self.text
        );
    }
}

/// Tokens from a login or refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub session_id: String,
}

impl Tokens {
    pub fn from_body(b: &Value) -> Self {
        Self {
            access: b["access_token"].as_str().expect("access_token").to_owned(),
            refresh: b["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            session_id: b["session_id"].as_str().expect("session_id").to_owned(),
        }
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let pg = engine::suite_on_postgres().then(|| {
            let url = engine::database_url().unwrap_or_else(|| {
                panic!("SESSIOND_TEST_ENGINE=postgres needs {}", engine::URL_VAR)
            });
            engine::PgSchemas::fresh(&url)
        });
        let store = match &pg {
            Some(pg) => pg.open(),
            None => Store::open(dir.path()).expect("open store"),
        };
        let clock = ManualClock::new(T0);
        let svc = Service::start(store, Arc::new(clock.clone()), config)
            .await
            .expect("start service");
        svc.bootstrap_global_admin(
            Some(ROOT_EMAIL.into()),
            Some(sessiond::auth::Secret::new(PASSWORD)),
        )
        .await
        .expect("bootstrap");
        let router = app(AppState::new(svc.clone()));
        Self {
            router,
            svc,
            clock,
            dir,
            pg,
        }
    }

    pub async fn call(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.call(req.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }

    /// POST an `application/x-www-form-urlencoded` body, optionally with HTTP Basic.
    pub async fn post_form(&self, path: &str, basic: Option<(&str, &str)>, form: &str) -> Resp {
        use base64::Engine;
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let cred = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            b = b.header("authorization", format!("Basic {cred}"));
        }
        self.call(b.body(Body::from(form.to_owned())).expect("request"))
            .await
    }

    /// Create a tenant whose first org admin is `admin@{slug}.test` / PASSWORD.
    pub async fn tenant(&self, slug: &str) -> String {
        let email = format!("admin@{slug}.test");
        let new = NewTenant {
            slug: slug.into(),
            name: format!("Tenant {slug}"),
            first_admin: NewUser {
                email: email.clone(),
                display_name: format!("Admin of {slug}"),
                role: Role::OrgAdmin,
                password: sessiond::auth::Secret::new(PASSWORD),
            },
        };
        self.svc
            .create_tenant(Acting::operator(), new)
            .await
            .expect("create tenant");
        email
    }

    /// Create a user (password PASSWORD) and return its id.
    pub async fn user(&self, slug: &str, email: &str, role: Role) -> String {
        let scope = TenantScope::operator(TenantId::parse(slug).expect("slug"));
        let new = NewUser {
            email: email.into(),
            display_name: email.split('@').next().unwrap_or(email).to_owned(),
            role,
            password: sessiond::auth::Secret::new(PASSWORD),
        };
        self.svc
            .create_user(&scope, Acting::operator(), new)
            .await
            .expect("create user")
            .id
            .to_string()
    }

    pub async fn login(&self, tenant: &str, email: &str) -> Tokens {
        let r = self
            .post(
                "/v1/auth/login",
                None,
                json!({"tenant": tenant, "email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {}", r.text);
        Tokens::from_body(&r.body)
    }

    pub async fn platform_login(&self) -> Tokens {
        let r = self
            .post(
                "/v1/platform/auth/login",
                None,
                json!({"email": ROOT_EMAIL, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "platform login failed: {}",
            r.text
        );
        Tokens::from_body(&r.body)
    }

    /// A tenant with its admin signed in: returns the admin's tokens.
    pub async fn tenant_admin(&self, slug: &str) -> Tokens {
        let email = self.tenant(slug).await;
        self.login(slug, &email).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.post(
            "/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
    }
}
