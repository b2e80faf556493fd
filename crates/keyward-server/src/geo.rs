//! GeoIP: the country, approximate location and autonomous system of a
//! client address, from MaxMind-format databases the operator provides
//! (`risk.geoip_city`, `risk.geoip_asn`; GeoLite2 or GeoIP2). Read once at
//! start-up into memory; a lookup is a tree walk, no I/O. Without the
//! databases nothing is known and the country, ASN and travel signals stay
//! quiet.

use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use maxminddb::Reader;
use serde::Deserialize;

/// What a lookup found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoFacts {
    /// ISO 3166-1 country code.
    pub country: Option<String>,
    /// Latitude and longitude, degrees.
    pub location: Option<(f64, f64)>,
    /// Autonomous system number.
    pub asn: Option<i64>,
}

/// The open databases.
#[derive(Default)]
pub struct Geo {
    city: Option<Reader<Vec<u8>>>,
    asn: Option<Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geo")
            .field("city", &self.city.is_some())
            .field("asn", &self.asn.is_some())
            .finish()
    }
}

// The parts of a GeoIP2 record the signals use (the databases hold more).
#[derive(Deserialize)]
struct CityRecord {
    country: Option<Country>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[derive(Deserialize)]
struct AsnRecord {
    autonomous_system_number: Option<u32>,
}

fn open(path: Option<&Path>) -> anyhow::Result<Option<Reader<Vec<u8>>>> {
    path.map(|p| {
        Reader::open_readfile(p).with_context(|| format!("GeoIP database {}", p.display()))
    })
    .transpose()
}

impl Geo {
    /// Opens the configured databases (a configured one that does not
    /// open is an error at start-up, not a silent gap).
    pub fn open(city: Option<&Path>, asn: Option<&Path>) -> anyhow::Result<Self> {
        Ok(Self {
            city: open(city)?,
            asn: open(asn)?,
        })
    }

    /// What the databases say of `ip`; an address they do not cover, or a
    /// record that does not read, is simply unknown.
    pub fn lookup(&self, ip: IpAddr) -> GeoFacts {
        let mut facts = GeoFacts::default();
        if let Some(city) = self.city.as_ref().and_then(|r| decode::<CityRecord>(r, ip)) {
            facts.country = city.country.and_then(|c| c.iso_code);
            facts.location = city
                .location
                .and_then(|l| Some((l.latitude?, l.longitude?)));
        }
        if let Some(asn) = self.asn.as_ref().and_then(|r| decode::<AsnRecord>(r, ip)) {
            facts.asn = asn.autonomous_system_number.map(i64::from);
        }
        facts
    }
}

fn decode<T: for<'de> Deserialize<'de>>(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<T> {
    reader.lookup(ip).ok()?.decode::<T>().ok().flatten()
}
