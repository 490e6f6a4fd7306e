//! Command line (SPEC §1). Every flag also reads `SESSIOND_<NAME>`; the flag wins.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod config_file;
mod local;
mod probe;

use crate::auth::Secret;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::Request;
use crate::control::backup_file::{BackupWriter, read_passphrase};
use crate::control::commands::summary;
use crate::domain::TenantId;
use crate::server::{ServeOptions, serve};
use crate::store::{DEFAULT_CACHE_BYTES, Location, Store};
use crate::telemetry::{self, LogFormat};

/// `0.1.0 (git 1a2b3c4d5e6f)`: the release and the revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("SESSIOND_GIT_REV"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "sessiond",
    version = VERSION,
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
    /// Keep the data in PostgreSQL instead (`postgres://user@host/db`):
    /// several nodes then share it. The data dir still holds the control socket.
    #[arg(long, global = true, env = "SESSIOND_DATABASE_URL", hide_env_values = true, value_parser = database_url)]
    pub database_url: Option<Secret>,
    /// The PostgreSQL schema of this deployment; tenants get `{schema}_t_{slug}`.
    #[arg(
        long,
        global = true,
        env = "SESSIOND_DATABASE_SCHEMA",
        default_value = "sessiond"
    )]
    pub database_schema: String,
    /// Connections to PostgreSQL per node.
    #[arg(long, global = true, env = "SESSIOND_DATABASE_POOL", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool: u32,
    /// Read settings from this TOML file (keys: flag names in snake_case).
    /// Flags and `SESSIOND_*` env override it.
    #[arg(long, global = true, env = "SESSIOND_CONFIG")]
    pub config: Option<PathBuf>,
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
    /// List or rotate the signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Manage global admins (and recover a locked-out one).
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Check or export audit logs.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Take a consistent copy of the database (while the server runs, through its control socket).
    Backup {
        /// The file to write (must not exist); written with mode 0600.
        #[arg(long, env = "SESSIOND_OUT")]
        out: PathBuf,
        /// Encrypt the copy with the passphrase in this file's first line.
        #[arg(long, env = "SESSIOND_PASSPHRASE_FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a backup (checked in full before it is put in place). An
    /// existing database is replaced only if the backup is as new, or with `--force`.
    Restore {
        #[arg(long, env = "SESSIOND_FROM")]
        from: PathBuf,
        /// Replace an existing database even if it is newer than the backup.
        #[arg(long, env = "SESSIOND_FORCE")]
        force: bool,
        /// For an encrypted backup: the file holding its passphrase.
        #[arg(long, env = "SESSIOND_PASSPHRASE_FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Check the database: page checksums, every record, every audit chain (exit 1 naming the first problem).
    Check,
    /// Copy the embedded database in `--data-dir` (server stopped) into an
    /// empty PostgreSQL schema (`--database-schema`), then verify the copy.
    Migrate {
        /// The PostgreSQL database to copy into: postgres://user[:password]@host[:port]/db
        #[arg(long, env = "SESSIOND_MIGRATE_TO", hide_env_values = true, value_parser = database_url)]
        to: Secret,
    },
    /// Exit 0 if the URL answers 200 (for container health checks; http only).
    Healthcheck {
        #[arg(
            long,
            env = "SESSIOND_HEALTHCHECK_URL",
            default_value = "http://127.0.0.1:8080/readyz"
        )]
        url: String,
        #[arg(long, env = "SESSIOND_HEALTHCHECK_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
        timeout: Duration,
    },
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
    /// The database's page cache, in MiB (the OS page cache serves the rest:
    /// a miss is a read syscall, not a disk seek while the file fits in RAM).
    #[arg(long, env = "SESSIOND_CACHE_MIB", default_value_t = 24, value_parser = clap::value_parser!(u64).range(4..=65_536))]
    pub cache_mib: u64,
    /// Rotate the signing key automatically every N days (off when absent).
    #[arg(long, env = "SESSIOND_KEY_ROTATION_DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub key_rotation_days: Option<u32>,
    /// A new signing key is in the JWKS this many seconds before it signs;
    /// longer than any verifier caches the JWKS (ours says max-age=300).
    #[arg(long, env = "SESSIOND_KEY_PREPUBLISH_SECS", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(0..=2_592_000))]
    pub key_prepublish_secs: i64,
    /// The URL clients reach this server at (SSF issuers are
    /// `{public-url}/tenants/{t}`); default `http://{listen}`.
    #[arg(long, env = "SESSIOND_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Webhook receivers on these hosts may have private, loopback or
    /// link-local addresses (refused otherwise), e.g. `hooks.internal,10.0.0.7`.
    #[arg(long, env = "SESSIOND_WEBHOOK_ALLOW_HOSTS", value_delimiter = ',')]
    pub webhook_allow_hosts: Vec<String>,
    /// A MaxMind-format city database (GeoLite2-City.mmdb or alike, which
    /// you download yourself): sessions then show city and country.
    /// Nothing is ever fetched.
    #[arg(long, env = "SESSIOND_GEOIP_DB", value_name = "FILE")]
    pub geoip_db: Option<std::path::PathBuf>,
    /// Serve `/metrics` on this address (e.g. `127.0.0.1:9464`) instead of
    /// the API port, which then answers 404 there.
    #[arg(long, env = "SESSIOND_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// On the API port, `/metrics` answers only `Authorization: Bearer TOKEN`
    /// (prefer the env var or the config file to a flag).
    #[arg(long, env = "SESSIOND_METRICS_TOKEN", hide_env_values = true, value_parser = secret)]
    pub metrics_token: Option<Secret>,
    /// Label the active-sessions gauge by tenant slug (off: one total, so
    /// the metrics do not list your tenants).
    #[arg(long, env = "SESSIOND_METRICS_TENANT_LABELS")]
    pub metrics_tenant_labels: bool,
    /// Failures are forgotten this long after the last one.
    #[arg(long, env = "SESSIOND_LOGIN_FAILURE_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub login_failure_window: Duration,
}

/// A secret value: kept out of `Debug` output.
/// `--public-url`: an http(s) URL with a host and no query, kept without a
/// trailing `/`; `None` means "the address we listen on".
fn public_url(given: Option<&str>) -> Result<Option<String>, String> {
    let Some(u) = given else { return Ok(None) };
    let u = u.trim().trim_end_matches('/');
    crate::events::outbound::check_url(u).map_err(|e| format!("--public-url {u:?}: {e}"))?;
    if u.contains(['?', '#']) {
        return Err(format!(
            "--public-url {u:?}: must have no query or fragment"
        ));
    }
    Ok(Some(u.to_owned()))
}

fn database_url(s: &str) -> Result<Secret, String> {
    let t = s.trim();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        Ok(Secret::new(t))
    } else {
        Err("must be a postgres:// URL".into())
    }
}

fn secret(s: &str) -> Result<Secret, String> {
    match s.trim() {
        "" => Err("must not be empty".into()),
        t if t.len() < 16 => Err("must be at least 16 characters".into()),
        t => Ok(Secret::new(t)),
    }
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
pub enum ConfigCmd {
    /// The settings `serve` would run with, as TOML, each with its source
    /// (flag, env, config file, default); secrets redacted.
    Print(Box<ServeArgs>),
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Every published key: kid, state (next/current/retired), when it signs, retires, leaves the JWKS.
    List,
    /// Publish a new key now; it signs after the pre-publication window.
    Rotate {
        /// Seconds until the new key signs (default: the server's
        /// `--key-prepublish-secs`, 3600 offline). 0 signs at once.
        #[arg(long, env = "SESSIOND_ACTIVATE_IN_SECS")]
        activate_in_secs: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// List global admins.
    List,
    /// Create a global admin; the password is read from stdin or generated and printed once.
    Create {
        #[arg(long, env = "SESSIOND_EMAIL")]
        email: String,
        #[arg(long, env = "SESSIOND_NAME")]
        name: Option<String>,
        /// Read the password from the first line of stdin (else one is generated and printed).
        #[arg(long, env = "SESSIOND_PASSWORD_STDIN")]
        password_stdin: bool,
    },
    /// Disable a global admin: their sessions and support grants end now.
    Disable {
        #[arg(long, env = "SESSIOND_EMAIL")]
        email: String,
    },
    Enable {
        #[arg(long, env = "SESSIOND_EMAIL")]
        email: String,
    },
    /// Print a new password once and end every session of that admin (for a locked-out operator).
    ResetPassword {
        #[arg(long, env = "SESSIOND_EMAIL")]
        email: String,
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

/// Parse `args` (with the config file, if any) and run the command.
pub fn main(args: Vec<std::ffi::OsString>) -> Result<(), String> {
    let (cli, matches, sources) = config_file::parse(args)?;
    match &cli.command {
        Command::Config(ConfigCmd::Print(_)) => {
            print!("{}", config_file::print(&sources, &matches));
            Ok(())
        }
        Command::Healthcheck { url, timeout } => probe::run(url, *timeout),
        _ => run(cli),
    }
}

/// Run the parsed command; `Err` is one line for stderr.
pub fn run(cli: Cli) -> Result<(), String> {
    telemetry::init(cli.log_format);
    telemetry::install_panic_hook();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let loc = location(&cli, DEFAULT_CACHE_BYTES);
    match cli.command {
        Command::Serve(a) => {
            let config = Config {
                issuer: a.issuer,
                trust_forwarded_for: a.trust_forwarded_for,
                activity_flush: std::time::Duration::from_secs(a.activity_flush_secs),
                session_retention_secs: a.session_retention_days * 86_400,
                request_timeout: a.request_timeout,
                token_cache_entries: a.token_cache_entries,
                key_rotation_days: a.key_rotation_days,
                key_prepublish_secs: a.key_prepublish_secs,
                webhook_allow_hosts: a.webhook_allow_hosts.clone(),
                geoip_db: a.geoip_db.clone(),
                public_url: public_url(a.public_url.as_deref())?,
                metrics: crate::config::MetricsAccess {
                    separate: a.metrics_listen.is_some(),
                    token: a.metrics_token.clone(),
                    tenant_labels: a.metrics_tenant_labels,
                },
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
                metrics_listen: a.metrics_listen,
                demo: a.demo,
                location: match loc {
                    Location::File { dir, .. } => Location::File {
                        dir,
                        cache_bytes: a.cache_mib.saturating_mul(1 << 20),
                    },
                    pg => pg,
                },
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
            operator(&rt, &cli.data_dir, &loc, req, &mut std::io::stdout())
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
            operator(&rt, &cli.data_dir, &loc, req, &mut std::io::stdout())
        }
        Command::Audit(AuditCmd::Verify { tenant }) => operator(
            &rt,
            &cli.data_dir,
            &loc,
            Request::AuditVerify { tenant },
            &mut std::io::stdout(),
        ),
        Command::Audit(AuditCmd::Export { tenant, since }) => operator(
            &rt,
            &cli.data_dir,
            &loc,
            Request::AuditExport { tenant, since },
            &mut std::io::stdout(),
        ),
        Command::Keys(cmd) => {
            let req = match cmd {
                KeysCmd::List => Request::KeysList,
                KeysCmd::Rotate { activate_in_secs } => Request::KeysRotate { activate_in_secs },
            };
            operator(&rt, &cli.data_dir, &loc, req, &mut std::io::stdout())
        }
        Command::Admin(cmd) => {
            let req = match cmd {
                AdminCmd::List => Request::AdminList,
                AdminCmd::Create {
                    email,
                    name,
                    password_stdin,
                } => Request::AdminCreate {
                    email,
                    name,
                    password: password_from(password_stdin)?,
                },
                AdminCmd::Disable { email } => Request::AdminSetDisabled {
                    email,
                    disabled: true,
                },
                AdminCmd::Enable { email } => Request::AdminSetDisabled {
                    email,
                    disabled: false,
                },
                AdminCmd::ResetPassword { email } => Request::AdminResetPassword { email },
            };
            operator(&rt, &cli.data_dir, &loc, req, &mut std::io::stdout())
        }
        Command::Check => operator(
            &rt,
            &cli.data_dir,
            &loc,
            Request::Check,
            &mut std::io::stdout(),
        ),
        Command::Backup {
            out,
            passphrase_file,
        } => {
            let pass = passphrase_file
                .as_deref()
                .map(read_passphrase)
                .transpose()?;
            let mut file = BackupWriter::create(&out, pass.as_ref())?;
            operator(&rt, &cli.data_dir, &loc, Request::Backup, &mut file)?;
            let bytes = file.finish()?;
            let how = if pass.is_some() { ", encrypted" } else { "" };
            println!("wrote {} ({bytes} bytes of database{how})", out.display());
            Ok(())
        }
        Command::Restore {
            from,
            force,
            passphrase_file,
        } => {
            let pass = passphrase_file
                .as_deref()
                .map(read_passphrase)
                .transpose()?;
            let (r, kept) = local::restore(&cli.data_dir, &from, pass.as_ref(), force)?;
            println!(
                "restored {} into {}: {}",
                from.display(),
                cli.data_dir.join(crate::store::DB_FILE).display(),
                summary(&r)
            );
            if let Some(k) = kept {
                println!("the replaced database is kept as {}", k.display());
            }
            Ok(())
        }
        Command::Migrate { to } => {
            if cli.database_url.is_some() {
                return Err("migrate copies the embedded database in --data-dir into --to: leave out --database-url".into());
            }
            let file = cli.data_dir.join(crate::store::DB_FILE);
            if !file.exists() {
                return Err(format!(
                    "migrate: there is no database at {}",
                    file.display()
                ));
            }
            let from = Store::open_at(&loc).map_err(|e| e.to_string())?;
            let dest = Location::Postgres {
                url: to,
                schema: cli.database_schema.clone(),
                pool: 2,
            };
            let into = Store::open_at(&dest).map_err(|e| e.to_string())?;
            let n =
                crate::store::copy::copy_all(&from, &into).map_err(|e| format!("migrate: {e}"))?;
            println!(
                "copied {n} into PostgreSQL schema {}; every audit chain verified; start the nodes with --database-url",
                cli.database_schema
            );
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(&rt, args, cli.database_url.clone()),
        Command::Config(ConfigCmd::Print(_)) | Command::Healthcheck { .. } => {
            Err("handled before run".into())
        }
        Command::Seed {
            tenant,
            users,
            sessions,
        } => {
            let t = TenantId::parse(&tenant).map_err(|e| format!("--tenant {e}"))?;
            let store = Store::open_at(&loc).map_err(|e| e.to_string())?;
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
    loc: &Location,
    req: Request,
    out: &mut (dyn Write + Send),
) -> Result<(), String> {
    if let Some(r) = crate::control::client::call(dir, &req, out) {
        return r;
    }
    local::run(rt, loc, req, out)
}

/// Where this command's data lives: `--database-url`, else the data dir.
fn location(cli: &Cli, cache_bytes: u64) -> Location {
    match &cli.database_url {
        Some(url) => Location::Postgres {
            url: url.clone(),
            schema: cli.database_schema.clone(),
            pool: cli.database_pool as usize,
        },
        None => Location::File {
            dir: cli.data_dir.clone(),
            cache_bytes,
        },
    }
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
