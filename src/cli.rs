//! Command line (SPEC §1). Every flag also reads `SESSIOND_<NAME>`; the flag wins.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::{Secret, TenantScope};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::{Role, TenantId, Timestamp};
use crate::server::{ServeOptions, serve};
use crate::service::Service;
use crate::service::tenants::NewTenant;
use crate::service::users::{Acting, NewUser};
use crate::store::{Closer, Space, Store};
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "sessiond",
    version,
    about = "Session management and revocation for multi-tenant applications"
)]
pub struct Cli {
    /// Where the database lives (`DATA_DIR/sessiond.redb`).
    #[arg(
        long,
        global = true,
        env = "SESSIOND_DATA_DIR",
        default_value = "./sessiond-data"
    )]
    pub data_dir: PathBuf,
    /// Log format.
    #[arg(long, global = true, env = "SESSIOND_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and admin UI.
    Serve(ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Check or export audit logs.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Write synthetic users and sessions into a stopped database (benchmarks).
    Seed {
        /// Tenant to fill (created, with an org admin, if missing).
        #[arg(long, env = "SESSIOND_TENANT")]
        tenant: String,
        #[arg(long, env = "SESSIOND_USERS", default_value_t = 1000)]
        users: usize,
        #[arg(long, env = "SESSIOND_SESSIONS", default_value_t = 10_000)]
        sessions: usize,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "SESSIOND_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// On an empty database, load sample tenants, users and sessions.
    #[arg(long, env = "SESSIOND_DEMO")]
    pub demo: bool,
    /// `iss` of issued access tokens.
    #[arg(long, env = "SESSIOND_ISSUER", default_value = "sessiond")]
    pub issuer: String,
    /// Take the client IP from X-Forwarded-For (only behind a proxy you trust).
    #[arg(long, env = "SESSIOND_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Seconds between last-activity flushes to disk.
    #[arg(long, env = "SESSIOND_ACTIVITY_FLUSH_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub activity_flush_secs: u64,
    /// Days to keep sessions after they end (revoked or expired) before deleting them.
    #[arg(long, env = "SESSIOND_SESSION_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3650))]
    pub session_retention_days: i64,
    /// After SIGTERM/SIGINT, how long in-flight requests may finish before
    /// their connections are dropped (`10`, `10s`, `500ms`, `1m`).
    #[arg(long, env = "SESSIOND_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// A client must send a whole request head within this, or is disconnected.
    #[arg(long, env = "SESSIOND_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Longest a request may take, reading its body included (503 `request_timeout`).
    #[arg(long, env = "SESSIOND_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Failed logins per (account, client IP) before each further try waits
    /// an exponentially growing delay.
    #[arg(long, env = "SESSIOND_LOGIN_FREE_FAILURES", default_value_t = 3)]
    pub login_free_failures: u32,
    /// The longest delay a (account, client IP) pair waits after failures.
    #[arg(long, env = "SESSIOND_LOGIN_MAX_DELAY", default_value = "15m", value_parser = parse_duration)]
    pub login_max_delay: Duration,
    /// Failures from one IP (any account) after which its pairs get no free tries.
    #[arg(long, env = "SESSIOND_LOGIN_IP_FAILURE_LIMIT", default_value_t = 30)]
    pub login_ip_failure_limit: u32,
    /// Failures for one account (any IP) after which it is logged and its pairs get no free tries.
    #[arg(
        long,
        env = "SESSIOND_LOGIN_ACCOUNT_FAILURE_LIMIT",
        default_value_t = 100
    )]
    pub login_account_failure_limit: u32,
    /// Failures are forgotten this long after the last one.
    #[arg(long, env = "SESSIOND_LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub login_failure_window: Duration,
}

/// `N` (seconds), `Ns`, `Nms` or `Nm`; at least 1 ms, at most a day.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 10s or 500ms"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    if d.is_zero() || d > Duration::from_secs(86_400) {
        return Err(format!("{s:?} must be between 1ms and 24h"));
    }
    Ok(d)
}

#[derive(Debug, Subcommand)]
pub enum TenantCmd {
    /// Create a tenant and its first org admin.
    Create {
        slug: String,
        #[arg(long, env = "SESSIOND_NAME")]
        name: String,
        #[arg(long, env = "SESSIOND_ADMIN_EMAIL")]
        admin_email: String,
        #[arg(long, env = "SESSIOND_ADMIN_NAME")]
        admin_name: String,
        /// Read the admin's password from the first line of stdin (else one is generated and printed).
        #[arg(long, env = "SESSIOND_ADMIN_PASSWORD_STDIN")]
        admin_password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user in a tenant.
    Create {
        #[arg(long, env = "SESSIOND_TENANT")]
        tenant: String,
        #[arg(long, env = "SESSIOND_EMAIL")]
        email: String,
        #[arg(long, env = "SESSIOND_NAME")]
        name: String,
        #[arg(long, env = "SESSIOND_ROLE", default_value = "member", value_parser = ["member", "org_admin"])]
        role: String,
        /// Read the password from the first line of stdin (else one is generated and printed).
        #[arg(long, env = "SESSIOND_PASSWORD_STDIN")]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check every hash chain (or one tenant's).
    Verify {
        #[arg(long, env = "SESSIOND_TENANT")]
        tenant: Option<String>,
    },
    /// Write a tenant's audit log as NDJSON to stdout, oldest first.
    Export {
        #[arg(long, env = "SESSIOND_TENANT")]
        tenant: String,
        /// Only entries at or after this RFC 3339 time.
        #[arg(long, env = "SESSIOND_SINCE")]
        since: Option<String>,
    },
}

/// Run the parsed command; `Err` is one line for stderr.
pub fn run(cli: Cli) -> Result<(), String> {
    telemetry::init(cli.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    match cli.command {
        Command::Serve(a) => {
            let config = Config {
                issuer: a.issuer,
                trust_forwarded_for: a.trust_forwarded_for,
                activity_flush: std::time::Duration::from_secs(a.activity_flush_secs),
                session_retention_secs: a.session_retention_days * 86_400,
                request_timeout: a.request_timeout,
                login_limits: crate::service::limiter::Limits {
                    free_failures: a.login_free_failures,
                    max_delay_secs: a.login_max_delay.as_secs().max(1) as i64,
                    per_ip: a.login_ip_failure_limit.max(1),
                    per_account: a.login_account_failure_limit.max(1),
                    window_secs: a.login_failure_window.as_secs().max(1) as i64,
                },
                ..Config::default()
            };
            let opts = ServeOptions {
                data_dir: cli.data_dir,
                listen: a.listen,
                demo: a.demo,
                limits: crate::http::conn::ConnLimits {
                    header_timeout: a.header_timeout,
                    shutdown_timeout: a.shutdown_timeout,
                },
                config,
                bootstrap_email: std::env::var("SESSIOND_BOOTSTRAP_ADMIN_EMAIL").ok(),
                bootstrap_password: std::env::var("SESSIOND_BOOTSTRAP_ADMIN_PASSWORD")
                    .ok()
                    .map(Secret::new),
            };
            rt.block_on(serve(opts))
        }
        Command::Tenant(TenantCmd::Create {
            slug,
            name,
            admin_email,
            admin_name,
            admin_password_stdin,
        }) => {
            let (password, generated) = password_from(admin_password_stdin)?;
            rt.block_on(async {
                let svc = open_service(&cli.data_dir).await?;
                let new = NewTenant {
                    slug,
                    name,
                    first_admin: NewUser {
                        email: admin_email,
                        display_name: admin_name,
                        role: Role::OrgAdmin,
                        password: password.clone(),
                    },
                };
                let t = svc
                    .create_tenant(Acting::operator(), new)
                    .await
                    .map_err(describe)?;
                let admin = t
                    .first_admin
                    .as_ref()
                    .map(|u| u.email.clone())
                    .unwrap_or_default();
                println!(
                    "created tenant {} ({}) with org admin {admin}",
                    t.slug, t.name
                );
                print_generated(generated.then_some(&password));
                Ok(())
            })
        }
        Command::User(UserCmd::Create {
            tenant,
            email,
            name,
            role,
            password_stdin,
        }) => {
            let (password, generated) = password_from(password_stdin)?;
            let role = if role == "org_admin" {
                Role::OrgAdmin
            } else {
                Role::Member
            };
            rt.block_on(async {
                let svc = open_service(&cli.data_dir).await?;
                let t = TenantId::parse(&tenant).map_err(|e| format!("--tenant {e}"))?;
                let scope = TenantScope::operator(t);
                let new = NewUser {
                    email,
                    display_name: name,
                    role,
                    password: password.clone(),
                };
                let u = svc
                    .create_user(&scope, Acting::operator(), new)
                    .await
                    .map_err(describe)?;
                println!(
                    "created user {} <{}> ({}) in {tenant}",
                    u.id,
                    u.email,
                    u.role.as_str()
                );
                print_generated(generated.then_some(&password));
                Ok(())
            })
        }
        Command::Audit(AuditCmd::Verify { tenant }) => rt.block_on(async {
            let svc = open_service(&cli.data_dir).await?;
            let spaces = match tenant {
                Some(t) => vec![Space::Tenant(TenantScope::operator(
                    TenantId::parse(&t).map_err(|e| format!("--tenant {e}"))?,
                ))],
                None => {
                    let mut all = vec![Space::Platform];
                    all.extend(
                        svc.list_tenants()
                            .await
                            .map_err(describe)?
                            .into_iter()
                            .map(|t| Space::Tenant(TenantScope::operator(t.slug))),
                    );
                    all
                }
            };
            let mut bad = None;
            for space in spaces {
                let label = crate::service::sessions::space_tid(&space).to_owned();
                let r = svc.verify_audit(&space).await.map_err(describe)?;
                match r.error {
                    None => println!("{label}: ok, {} entries, head {}", r.entries, r.head_hash),
                    Some(e) => {
                        println!("{label}: BROKEN at {e}");
                        bad.get_or_insert(format!("audit chain of {label} is broken: {e}"));
                    }
                }
            }
            bad.map_or(Ok(()), Err)
        }),
        Command::Seed {
            tenant,
            users,
            sessions,
        } => {
            let t = TenantId::parse(&tenant).map_err(|e| format!("--tenant {e}"))?;
            let store = Store::open(&cli.data_dir).map_err(|e| e.to_string())?;
            let closer = store.closer();
            let now = crate::clock::Clock::now(&SystemClock);
            let r = crate::seed::seed(&store, &t, users, sessions, now);
            drop(store);
            if let Some(c) = closer {
                c.wait();
            }
            let r = r?;
            println!(
                "seeded {tenant}: {} users, {} sessions in {:.1} s",
                r.users, r.sessions, r.secs
            );
            if let Some(p) = r.admin_password {
                println!(
                    "created tenant {tenant}; org admin admin@{tenant}.test, password (shown once): {}",
                    p.expose()
                );
            }
            Ok(())
        }
        Command::Audit(AuditCmd::Export { tenant, since }) => rt.block_on(async {
            let svc = open_service(&cli.data_dir).await?;
            let t = TenantId::parse(&tenant).map_err(|e| format!("--tenant {e}"))?;
            let since = since
                .map(|s| {
                    Timestamp::parse_rfc3339(&s)
                        .ok_or_else(|| "--since must be an RFC 3339 time".to_owned())
                })
                .transpose()?;
            let scope = TenantScope::operator(t);
            let mut out = std::io::stdout().lock();
            svc.export_audit_blocking(&scope, since, &mut out)
                .map_err(describe)?;
            out.flush().map_err(|e| e.to_string())
        }),
    }
}

/// A service over the database for one CLI command. Dropping it closes the
/// database cleanly (the writer thread is joined).
struct CliService {
    svc: Option<Arc<Service>>,
    closer: Option<Closer>,
}

impl std::ops::Deref for CliService {
    type Target = Service;
    fn deref(&self) -> &Service {
        // Present until drop.
        self.svc.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for CliService {
    fn drop(&mut self) {
        self.svc.take();
        if let Some(c) = self.closer.take() {
            // Joining blocks: step out of the async worker to do it.
            c.wait();
        }
    }
}

async fn open_service(dir: &std::path::Path) -> Result<CliService, String> {
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    let closer = store.closer();
    let svc = Service::start(store, Arc::new(SystemClock), Config::default()).await?;
    Ok(CliService {
        svc: Some(svc),
        closer,
    })
}

fn describe(e: crate::service::Error) -> String {
    match e {
        crate::service::Error::Validation(fields) => {
            let parts: Vec<_> = fields.iter().map(|(f, m)| format!("{f} {m}")).collect();
            format!("invalid input: {}", parts.join("; "))
        }
        crate::service::Error::NotFound => "no such tenant".to_owned(),
        other => other.to_string(),
    }
}

fn password_from(stdin: bool) -> Result<(Secret, bool), String> {
    if !stdin {
        return Ok((Secret::random(18), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let pw = line.trim_end_matches(['\r', '\n']).to_owned();
    if pw.is_empty() {
        return Err("no password on stdin".into());
    }
    Ok((Secret::new(pw), false))
}

fn print_generated(password: Option<&Secret>) {
    if let Some(p) = password {
        println!("password (shown once): {}", p.expose());
    }
}
