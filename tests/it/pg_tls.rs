//! TLS to PostgreSQL: `sslmode=require` encrypts and verifies the server's
//! certificate (chain and host name) against `sslrootcert` or the system roots.

use sessiond::auth::Secret;
use sessiond::store::{Location, Store};

use crate::support::engine::{PgSchemas, postgres_or_skip};

/// Debian's PostgreSQL serves this self-signed certificate (CN localhost).
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn open(url: String, pg: &PgSchemas) -> Result<Store, String> {
    let loc = Location::Postgres {
        url: Secret::new(url),
        schema: pg.prefix.clone(),
        pool: 2,
    };
    Store::open_at(&loc).map_err(|e| e.to_string())
}

#[test]
fn tls_connections_verify_the_server_certificate() {
    let Some(url) = postgres_or_skip("tls_connections_verify_the_server_certificate") else {
        return;
    };
    let mut plain = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let setting =
        |c: &mut postgres::Client, q: &str| -> String { c.query_one(q, &[]).unwrap().get(0) };
    if setting(&mut plain, "SHOW ssl") != "on"
        || setting(&mut plain, "SHOW ssl_cert_file") != SNAKEOIL
        || !url.contains("@127.0.0.1:")
    {
        println!(
            "skipped tls_connections_verify_the_server_certificate: the server does not serve {SNAKEOIL} on 127.0.0.1"
        );
        return;
    }
    let pg = PgSchemas::fresh(&url);
    let localhost = url.replace("@127.0.0.1:", "@localhost:");

    let store = open(
        format!("{localhost}?sslmode=verify-full&sslrootcert={SNAKEOIL}"),
        &pg,
    )
    .expect("a verified TLS connection");
    let encrypted: i64 = plain
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.application_name = 'sessiond'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connection is encrypted");
    drop(store);

    // The certificate names localhost, not 127.0.0.1.
    let wrong_host = open(format!("{url}?sslmode=require&sslrootcert={SNAKEOIL}"), &pg)
        .err()
        .unwrap_or_default();
    assert!(
        wrong_host.contains("certificate"),
        "a host name mismatch is refused: {wrong_host}"
    );
    let missing = open(
        format!("{localhost}?sslmode=require&sslrootcert=/nonexistent.pem"),
        &pg,
    )
    .err()
    .unwrap_or_default();
    assert!(missing.contains("sslrootcert"), "{missing}");
}
