//! IANA timezones, from the tz database bundled into the binary (jiff's
//! compact TZif copy, about 230 KB, where a table-per-zone crate costs
//! about 1 MB of wasm).

use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A campaign's timezone: cap periods are counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone {
    name: String,
    zone: TimeZone,
}

impl Timezone {
    /// The zone named `name` (`Europe/Berlin`, `UTC`); `None` if the
    /// bundled database has no such zone.
    pub fn parse(name: &str) -> Option<Timezone> {
        let zone = TimeZone::get(name).ok()?;
        let name = zone.iana_name().unwrap_or(name).to_owned();
        Some(Timezone { name, zone })
    }

    pub fn utc() -> Timezone {
        Timezone {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
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
        assert!(serde_json::from_str::<Timezone>("\"Nowhere\"").is_err());
    }
}
