//! Command line (SPEC §1). Every flag also reads `SESSIOND_<NAME>`; the flag wins.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod local;

use crate::auth::Secret;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::Request;
use crate::control::backup_file::{BackupWriter, read_passphrase};
use crate::control::commands::summary;
use crate::domain::TenantId;
use crate::server::{ServeOptions, serve};
use crate::store::Store;
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
    /// Take a consistent copy of the database (while the server runs, through its control socket).
    Backup {
        /// The file to write (must not exist); written with mode 0600.
        #[arg(long, env = "SESSIOND_OUT")]
        out: PathBuf,
        /// Encrypt the copy with the passphrase in this file's first line.
        #[arg(long, env = "SESSIOND_PASSPHRASE_FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a backup into an empty data dir (checked in full before it is put in place).
    Restore {
        #[arg(long, env = "SESSIOND_FROM")]
        from: PathBuf,
        /// For an encrypted backup: the file holding its passphrase.
        #[arg(long, env = "SESSIOND_PASSPHRASE_FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Check the database: page checksums, every record, every audit chain (exit 1 naming the first problem).
    Check,
    /// Measure every performance figure against bare references, in one run
    /// on a temporary data dir (`--data-dir` is not touched).
    Bench(crate::bench::BenchArgs),
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
    /// Verified access tokens remembered so each signature is checked once
    /// (about 0.5 KiB each; 0 turns it off). Revocation is checked on every request regardless.
    #[arg(long, env = "SESSIOND_TOKEN_CACHE_ENTRIES", default_value_t = 32_768)]
    pub token_cache_entries: usize,
    /// The database's page cache, in MiB.
    #[arg(long, env = "SESSIOND_CACHE_MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(4..=65_536))]
    pub cache_mib: u64,
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
    telemetry::install_panic_hook();
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
                token_cache_entries: a.token_cache_entries,
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
                cache_mib: a.cache_mib,
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
            let admin_password = password_from(admin_password_stdin)?;
            let req = Request::TenantCreate {
                slug,
                name,
                admin_email,
                admin_name,
                admin_password,
            };
            operator(&rt, &cli.data_dir, req, &mut std::io::stdout())
        }
        Command::User(UserCmd::Create {
            tenant,
            email,
            name,
            role,
            password_stdin,
        }) => {
            let password = password_from(password_stdin)?;
            let req = Request::UserCreate {
                tenant,
                email,
                name,
                role,
                password,
            };
            operator(&rt, &cli.data_dir, req, &mut std::io::stdout())
        }
        Command::Audit(AuditCmd::Verify { tenant }) => operator(
            &rt,
            &cli.data_dir,
            Request::AuditVerify { tenant },
            &mut std::io::stdout(),
        ),
        Command::Audit(AuditCmd::Export { tenant, since }) => operator(
            &rt,
            &cli.data_dir,
            Request::AuditExport { tenant, since },
            &mut std::io::stdout().lock(),
        ),
        Command::Check => operator(&rt, &cli.data_dir, Request::Check, &mut std::io::stdout()),
        Command::Backup {
            out,
            passphrase_file,
        } => {
            let pass = passphrase_file
                .as_deref()
                .map(read_passphrase)
                .transpose()?;
            let mut file = BackupWriter::create(&out, pass.as_ref())?;
            operator(&rt, &cli.data_dir, Request::Backup, &mut file)?;
            let bytes = file.finish()?;
            let how = if pass.is_some() { ", encrypted" } else { "" };
            println!("wrote {} ({bytes} bytes of database{how})", out.display());
            Ok(())
        }
        Command::Restore {
            from,
            passphrase_file,
        } => {
            let pass = passphrase_file
                .as_deref()
                .map(read_passphrase)
                .transpose()?;
            let r = local::restore(&cli.data_dir, &from, pass.as_ref())?;
            println!(
                "restored {} into {}: {}",
                from.display(),
                cli.data_dir.join(crate::store::DB_FILE).display(),
                summary(&r)
            );
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(&rt, args),
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
    }
}

/// Run an operator command: through the running server's control socket,
/// or on the file directly when no server holds it.
fn operator(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    req: Request,
    out: &mut dyn Write,
) -> Result<(), String> {
    if let Some(r) = crate::control::client::call(dir, &req, out) {
        return r;
    }
    local::run(rt, dir, req, out)
}

/// `--…-stdin`: the first line of stdin; otherwise `None` (one is generated).
fn password_from(stdin: bool) -> Result<Option<Secret>, String> {
    if !stdin {
        return Ok(None);
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
    Ok(Some(Secret::new(pw)))
}
