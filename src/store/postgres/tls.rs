//! TLS to PostgreSQL, with libpq's URL parameters. `sslmode=require` (or
//! `verify-ca`, `verify-full`): encrypted, and the server's certificate is
//! always verified, chain and host name, against the system's roots or the
//! CA certificate (PEM) at `sslrootcert=`. `disable`, or the default
//! `prefer`: plain TCP, for 127.0.0.1 or a private network.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use postgres_native_tls::MakeTlsConnector;

#[derive(Clone)]
pub(super) struct Tls(Option<MakeTlsConnector>);

/// The client's configuration and TLS for a database URL.
pub(super) fn parse(url: &str) -> Result<(Config, Tls), String> {
    let (url, root) = libpq_params(url);
    let config: Config = url
        .parse()
        .map_err(|e| format!("the database URL is not valid: {e}"))?;
    if config.get_ssl_mode() != SslMode::Require {
        return Ok((config, Tls(None)));
    }
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = root {
        let pem = std::fs::read(&path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
        let ca = native_tls::Certificate::from_pem(&pem)
            .map_err(|e| format!("sslrootcert {path} is not a PEM certificate: {e}"))?;
        builder.add_root_certificate(ca);
    }
    let connector = builder.build().map_err(|e| format!("TLS: {e}"))?;
    Ok((config, Tls(Some(MakeTlsConnector::new(connector)))))
}

/// The URL without `sslrootcert` (which the client does not parse), the
/// verifying modes as `require` (which verifies), and the root's path.
fn libpq_params(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslrootcert", path)) => root = Some(path.to_owned()),
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require"),
            _ => kept.push(pair),
        }
    }
    match kept.is_empty() {
        true => (base.to_owned(), root),
        false => (format!("{base}?{}", kept.join("&")), root),
    }
}

impl Tls {
    pub(super) fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match &self.0 {
            Some(tls) => config.connect(tls.clone()),
            None => config.connect(NoTls),
        }
    }
}

/// A one-off client for `url` (bench references, schema clean-up).
pub(super) fn connect_url(url: &str) -> Result<Client, String> {
    let (config, tls) = parse(url)?;
    tls.connect(&config).map_err(|e| format!("PostgreSQL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::libpq_params;

    #[test]
    fn libpq_parameters_are_taken_out_or_mapped() {
        let (u, r) = libpq_params("postgres://h/db?sslmode=verify-full&sslrootcert=/ca.pem&x=1");
        assert_eq!(
            (u.as_str(), r.as_deref()),
            ("postgres://h/db?sslmode=require&x=1", Some("/ca.pem"))
        );
        let (u, r) = libpq_params("postgres://h/db?sslrootcert=/ca.pem");
        assert_eq!((u.as_str(), r), ("postgres://h/db", Some("/ca.pem".into())));
        assert_eq!(libpq_params("postgres://h/db").0, "postgres://h/db");
        assert!(super::parse("postgres://h/db?sslmode=require&sslrootcert=/nonexistent").is_err());
    }
}
