//! Where an address is, from an operator-supplied MaxMind-format database
//! (`--geoip-db FILE`: GeoLite2-City, GeoIP2-City, DB-IP's city lite).
//! Nothing is fetched; without a file, sessions have no location.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A session's location, as the database names it (English names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Location {
    #[schema(required = true)]
    pub city: Option<String>,
    #[schema(required = true)]
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(required = true)]
    pub country_code: Option<String>,
}

/// An open database, held in memory (its size: tens of MiB for a city database).
pub struct GeoDb(maxminddb::Reader<Vec<u8>>);

#[derive(Deserialize)]
struct Names {
    names: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
    names: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Record {
    city: Option<Names>,
    country: Option<Country>,
}

fn english(names: Option<std::collections::BTreeMap<String, String>>) -> Option<String> {
    names?.remove("en")
}

impl GeoDb {
    pub fn open(path: &Path) -> Result<Self, String> {
        maxminddb::Reader::open_readfile(path)
            .map(GeoDb)
            .map_err(|e| format!("cannot open the GeoIP database {}: {e}", path.display()))
    }

    /// The location of `ip`, if the database knows it.
    pub fn locate(&self, ip: &str) -> Option<Location> {
        let ip: IpAddr = ip.parse().ok()?;
        let rec: Record = self.0.lookup(ip).ok()?.decode().ok()??;
        let (country, country_code) = match rec.country {
            Some(c) => (english(c.names), c.iso_code),
            None => (None, None),
        };
        let loc = Location {
            city: rec.city.and_then(|c| english(c.names)),
            country,
            country_code,
        };
        (loc.city.is_some() || loc.country.is_some()).then_some(loc)
    }
}

/// Fills in what a stored session does not hold: its device and location.
pub(crate) struct Placer(pub Option<Arc<GeoDb>>);

impl Placer {
    pub fn place(
        &self,
        mut v: super::session_list::SessionView,
    ) -> super::session_list::SessionView {
        v.device = super::device::device(v.user_agent.as_deref());
        v.location = self
            .0
            .as_ref()
            .zip(v.ip.as_deref())
            .and_then(|(g, ip)| g.locate(ip));
        v
    }
}
